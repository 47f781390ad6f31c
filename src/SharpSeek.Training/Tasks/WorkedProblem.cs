// WorkedProblem.cs: one generated problem: its family and level, the canonical key that identifies it, the question,
// the worked solution (the <think> text) and the gold answer; for countdown also the numbers and the target. Not here:
// generating (ProblemGenerator.cs), prompts and rewards (the RL project). Tested by ProblemGeneratorTests.
namespace SharpSeek.Training.Tasks;

/// <summary>A generated problem. <paramref name="Key"/> is its canonical content (the operation and operands, sorted
/// when the operation commutes; a word template and its numbers; countdown's sorted numbers and target), so two
/// problems with one key are the same problem however they are phrased, and the key alone decides the split.
/// <paramref name="Solution"/> is the worked reasoning as the built-in corpus writes it between <c>&lt;think&gt;</c>
/// tags; <paramref name="Answer"/> the gold answer (an integer, or for countdown one solving expression).</summary>
public sealed record WorkedProblem(TaskFamily Family, int Level, string Key, string Question, string Solution, string Answer)
{
    /// <summary>Countdown's given numbers, in the order the question lists them; null for other families.</summary>
    public IReadOnlyList<int>? Numbers { get; init; }

    /// <summary>Countdown's target; null for other families.</summary>
    public long? Target { get; init; }

    /// <summary>The split the key falls in (<see cref="ProblemGenerator.SplitOf"/>).</summary>
    public ProblemSplit Split => ProblemGenerator.SplitOf(Key);
}
