// TaskCatalog.cs: a --task option's value to a task set: a path to a .jsonl file, or built-in names with levels
// (TaskMix in Training: "add:1-3", "mix", "add:1-3,sub:2"). Not here: the sets themselves (GeneratedTasks.cs,
// FileTasks.cs). Tested by TaskCatalogTests.
using SharpSeek.Training.Tasks;

namespace SharpSeek.Rl.Tasks;

/// <summary>Resolves a task name.</summary>
public static class TaskCatalog
{
    /// <summary>The task set <paramref name="task"/> names: a path ending in .jsonl (<see cref="ProblemFile"/>), or
    /// built-in names with optional levels (<see cref="TaskMix.Parse"/>). An unknown name or bad levels throw
    /// <see cref="ArgumentException"/> listing what is valid.</summary>
    public static ITaskSet Resolve(string task, int seed)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(task);
        return task.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)
            ? new FileTasks(task, ProblemFile.Read(task), seed)
            : new GeneratedTasks(task, TaskMix.Parse(task), seed);
    }
}
