// RewardSetTests.cs: rewards are weighted and summed; an unscorable reward that carries weight makes the total
// unscorable, one with weight 0 does not; NaN or infinity from a user's reward is an error naming it; a group is scored
// in order; bad sets are refused; a user's reward is a few lines; every generated problem's own worked solution earns
// full marks and a wrong answer does not.
using SharpSeek.Rl.Rewards;
using SharpSeek.Rl.Tasks;
using SharpSeek.Training.Tasks;
using static SharpSeek.Rl.Tests.TestProblems;

namespace SharpSeek.Rl.Tests;

public sealed class RewardSetTests
{
    /// <summary>The README's example of a user's reward: 1 for an answer within 200 tokens.</summary>
    private sealed class BrevityReward : IReward
    {
        public string Name => "brevity";

        public double? Score(Problem problem, Completion completion) => completion.Tokens <= 200 ? 1 : 0;
    }

    private sealed class ConstantReward(string name, double? value) : IReward
    {
        public string Name => name;

        public double? Score(Problem problem, Completion completion) => value;
    }

    private static readonly RewardSet R1Zero = new([(new AccuracyReward(), 1.0), (new FormatReward(), 0.1)]);

    [Theory]
    [InlineData("<think>r</think><answer>72</answer>", 1.1)]
    [InlineData("<answer>72</answer>", 1.0)]
    [InlineData("<think>r</think><answer>71</answer>", 0.1)]
    [InlineData("72", 0.0)]
    public void Score_IsTheWeightedSum(string completion, double total)
    {
        var scores = R1Zero.Score(Numeric("72"), Text(completion));
        Assert.Equal(total, scores.Total!.Value, 12);
        Assert.Equal(2, scores.Values.Count);
    }

    [Fact]
    public void Score_UnscorableWithWeight_MakesTheTotalUnscorable()
    {
        var scores = R1Zero.Score(Numeric("not a number"), Text("<think>r</think><answer>72</answer>"));
        Assert.Null(scores.Total);
        Assert.Equal([null, 1.0], scores.Values);
    }

    [Fact]
    public void Score_UnscorableWithWeightZero_IsOnlyLogged()
    {
        var set = new RewardSet([(new AccuracyReward(), 0.0), (new FormatReward(), 1.0)]);
        var scores = set.Score(Numeric("not a number"), Text("<think>r</think><answer>72</answer>"));
        Assert.Equal(1.0, scores.Total);
        Assert.Null(scores.Values[0]);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void Score_NonFiniteReward_IsAnErrorNamingIt(double value)
    {
        var set = new RewardSet([(new AccuracyReward(), 1.0), (new ConstantReward("my-reward", value), 0.5)]);
        var e = Assert.Throws<InvalidOperationException>(() => set.Score(Numeric("72"), Text("<answer>72</answer>")));
        Assert.Contains("'my-reward'", e.Message, StringComparison.Ordinal);
        Assert.Contains("test:1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ScoreGroup_ScoresEachCompletionInOrder()
    {
        Completion[] group = [Text("<think>a</think><answer>72</answer>"), Text("<answer>72</answer>"), Text("<think>a</think><answer>7</answer>"), Text("")];
        var scores = R1Zero.ScoreGroup(Numeric("72"), group);
        Assert.Equal([1.1, 1.0, 0.1, 0.0], scores.Select(s => Math.Round(s.Total!.Value, 12)));
    }

    [Fact]
    public void UserReward_FewLines()
    {
        var set = new RewardSet([(new AccuracyReward(), 1.0), (new FormatReward(), 0.1), (new BrevityReward(), 0.05)]);
        var scores = set.Score(Numeric("72"), new Completion("<think>r</think><answer>72</answer>", Tokens: 12));
        Assert.Equal(1.15, scores.Total!.Value, 12);
        Assert.Equal(["accuracy", "format", "brevity"], set.Rewards.Select(r => r.Name));
        Assert.Equal([1.0, 0.1, 0.05], set.Weights);
    }

    [Fact]
    public void Constructor_BadSets_Throw()
    {
        Assert.Throws<ArgumentException>(() => new RewardSet([]));
        Assert.Contains("'accuracy'", Assert.Throws<ArgumentException>(() => new RewardSet([(new AccuracyReward(), double.NaN)])).Message, StringComparison.Ordinal);
        Assert.Contains("'format'", Assert.Throws<ArgumentException>(() => new RewardSet([(new FormatReward(), 1.0), (new FormatReward(), 0.1)])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GeneratedProblems_WorkedSolutionEarnsFullMarks_AWrongAnswerDoesNot()
    {
        var set = new RewardSet([(new AccuracyReward(), 1.0), (new FormatReward(), 1.0), (new LanguageReward(), 1.0), (new OverlongReward(4096, 512), 1.0)]);
        foreach (var family in Enum.GetValues<TaskFamily>())
        {
            var (min, max) = ProblemGenerator.Levels(family);
            for (var level = min; level <= max; level++)
            {
                for (var i = 0; i < 20; i++)
                {
                    var p = Problem.From(ProblemGenerator.Generate(family, level, ProblemSplit.HeldOut, seed: 3, i));
                    var worked = set.Score(p, Text($"<think>\n{p.Solution}\n</think>\n<answer>{p.Answer}</answer>"));
                    Assert.True(worked.Total == 3, $"{p.Id}: {string.Join(", ", worked.Values)}");
                    var wrongAnswer = p.Numbers is null ? (long.Parse(p.Answer, System.Globalization.CultureInfo.InvariantCulture) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) : p.Answer + " + 1";
                    Assert.Equal(0, set.Score(p, Text($"<think>\n{p.Solution}\n</think>\n<answer>{wrongAnswer}</answer>")).Values[0]);
                    // The plain prompt's think-opened form: the completion starts inside the think block.
                    Assert.Equal(3, set.Score(p, Text($"{p.Solution}\n</think>\n<answer>{p.Answer}</answer>", startsInThink: true)).Total);
                }
            }
        }
    }
}
