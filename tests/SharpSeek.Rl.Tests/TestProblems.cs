// TestProblems.cs: small problems and completions for the reward suites: a numeric problem with a given gold answer, a
// countdown problem, and a completion from its text. Not here: tests.
using SharpSeek.Rl.Rewards;
using SharpSeek.Rl.Tasks;

namespace SharpSeek.Rl.Tests;

internal static class TestProblems
{
    public static Problem Numeric(string answer) => new("test:1", "test", 0, "What is it?", answer);

    public static Problem Countdown(int[] numbers, long? target) =>
        new("countdown test", "countdown", numbers.Length, "Reach the target.", "") { Numbers = numbers, Target = target };

    public static Completion Text(string text, bool startsInThink = false) => new(text, Tokens: text.Length, StartsInThink: startsInThink);
}
