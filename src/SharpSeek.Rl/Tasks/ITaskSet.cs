// ITaskSet.cs: the seam between a task (generated families or the user's file) and its consumers: problem i of a split,
// a function of the index (and the set's seed) alone, so a GRPO step asks for its prompts by index and resumes after a
// restart, and an evaluation reads a fixed held-out list. Not here: the sets (GeneratedTasks.cs, FileTasks.cs), naming
// them (TaskCatalog.cs). Tested by TaskCatalogTests.
using SharpSeek.Training.Tasks;

namespace SharpSeek.Rl.Tasks;

/// <summary>A source of problems. Step s of a run with P prompts per step takes train indexes s·P … s·P + P − 1.</summary>
public interface ITaskSet
{
    /// <summary>The name it was resolved from (<see cref="TaskCatalog.Resolve"/>).</summary>
    string Name { get; }

    /// <summary>How many problems <paramref name="split"/> holds: a file's line count, or null for generated problems
    /// (any index ≥ 0 is valid). A file's train indexes go on past the count, one shuffled epoch after another; its
    /// held-out indexes stop at the count.</summary>
    long? Count(ProblemSplit split);

    /// <summary>Problem <paramref name="index"/> (≥ 0) of <paramref name="split"/>; the same problem for the same index
    /// on every call.</summary>
    Problem Get(ProblemSplit split, long index);
}
