// Problem.cs: one verifiable problem as GRPO, evaluation and the rewards see it: a generated one (family, level, worked
// solution, countdown's numbers and target) or a line of the user's JSONL (a prompt or a conversation, and a gold
// answer). Not here: rendering it into a prompt (Prompts/), scoring (Rewards/). Tested by TaskCatalogTests and
// ProblemFileTests.
using SharpSeek.Inference.Text;
using SharpSeek.Training.Tasks;

namespace SharpSeek.Rl.Tasks;

/// <summary>A problem with a gold answer. <paramref name="Id"/> identifies the problem (a generated problem's canonical
/// key, so the same problem drawn twice has one id; <c>file.jsonl:line</c> for the user's data). <paramref name="Task"/>
/// is the family ("add", "sub", "mul", "word", "countdown") or the file's name; <paramref name="Level"/> the family's
/// difficulty (<see cref="TaskFamily"/>), 0 for the user's data. <paramref name="Question"/> is the text a single-turn
/// prompt asks (for a conversation, its last user turn). <paramref name="Answer"/> is the gold answer as given; one that
/// does not parse as a number is kept, and the accuracy reward calls it unscorable.</summary>
public sealed record Problem(string Id, string Task, int Level, string Question, string Answer)
{
    /// <summary>The whole conversation for chat-shaped data (ending with the user turn that <see cref="Question"/>
    /// holds); null for a single prompt.</summary>
    public IReadOnlyList<ChatTurn>? Messages { get; init; }

    /// <summary>A generated problem's worked reasoning (the text between the think tags), for cold-start SFT; null for
    /// the user's data.</summary>
    public string? Solution { get; init; }

    /// <summary>Countdown's given numbers, each to be used exactly once; null for every other problem.</summary>
    public IReadOnlyList<int>? Numbers { get; init; }

    /// <summary>Countdown's target; null for every other problem.</summary>
    public long? Target { get; init; }

    /// <summary>A generated problem as an RL problem.</summary>
    public static Problem From(WorkedProblem problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        return new(problem.Key, ProblemGenerator.Name(problem.Family), problem.Level, problem.Question, problem.Answer)
        {
            Solution = problem.Solution,
            Numbers = problem.Numbers,
            Target = problem.Target,
        };
    }
}
