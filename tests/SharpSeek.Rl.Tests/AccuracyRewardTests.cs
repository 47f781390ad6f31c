// AccuracyRewardTests.cs: the accuracy reward reads the last complete answer block and compares exactly: numeric
// equality across notations, 0 for a missing or non-numeric answer (units, trailing words), the last of several blocks,
// repeated closing tags, nested and cut-off blocks; countdown answers by the expression checker; an unparseable gold
// is unscorable (null), never 1.
using SharpSeek.Rl.Rewards;
using static SharpSeek.Rl.Tests.TestProblems;

namespace SharpSeek.Rl.Tests;

public sealed class AccuracyRewardTests
{
    private static readonly AccuracyReward Reward = new();

    [Theory]
    [InlineData("72", "<think>\n8 * 9 = 72\n</think>\n<answer>72</answer>", 1)]
    [InlineData("72", "<answer> 72 </answer>", 1)]
    [InlineData("72", "<answer>72.0</answer>", 1)]
    [InlineData("72", "<answer>\n72\n</answer>", 1)]
    [InlineData("72", "<answer>73</answer>", 0)]
    [InlineData("72", "The answer is 72.", 0)]
    [InlineData("72", "<answer>72</answer> and then some trailing text", 1)]
    [InlineData("72", "<answer>72 apples</answer>", 0)]
    [InlineData("72", "<answer>$72</answer>", 0)]
    [InlineData("72", "<answer>The answer is 72</answer>", 0)]
    [InlineData("1,234", "<answer>1234</answer>", 1)]
    [InlineData("1234", "<answer>1,234</answer>", 1)]
    [InlineData("-5", "<answer>\u22125</answer>", 1)]
    [InlineData("\u22125", "<answer>-5</answer>", 1)]
    [InlineData("0.5", "<answer>.50</answer>", 1)]
    [InlineData("123456789012345678901234567890", "<answer>123456789012345678901234567890</answer>", 1)]
    [InlineData("123456789012345678901234567890", "<answer>123456789012345678901234567891</answer>", 0)]
    public void Score_NumericAnswer(string gold, string completion, double expected) =>
        Assert.Equal(expected, Reward.Score(Numeric(gold), Text(completion)));

    [Theory]
    [InlineData("<answer>5</answer><answer>72</answer>", 1)]                   // several blocks: the last counts
    [InlineData("<answer>72</answer><answer>5</answer>", 0)]
    [InlineData("<answer>72</answer></answer></answer></answer>", 1)]        // repeated closers are ignored here (format pays 0)
    [InlineData("<answer>72</answer> wait, <answer>7", 1)]                   // a cut-off block does not replace a complete one
    [InlineData("<answer>1<answer>72</answer>", 1)]                          // a second opener restarts the block
    [InlineData("<answer>72", 0)]                                           // never closed
    [InlineData("72</answer>", 0)]                                          // never opened
    [InlineData("</answer><answer>72</answer>", 1)]
    [InlineData("<answer><answer>72</answer></answer>", 1)]
    public void Score_TheLastCompleteAnswerBlockCounts(string completion, double expected) =>
        Assert.Equal(expected, Reward.Score(Numeric("72"), Text(completion)));

    [Theory]
    [InlineData("seventy-two")]
    [InlineData("3/4")]
    [InlineData("72 apples")]
    public void Score_UnparseableGold_IsUnscorable(string gold)
    {
        Assert.Null(Reward.Score(Numeric(gold), Text($"<answer>{gold}</answer>")));
        Assert.Null(Reward.Score(Numeric(gold), Text("no answer")));
    }

    [Theory]
    [InlineData("<think>2 * 3 = 6, 6 + 5 = 11</think><answer>2 * 3 + 5</answer>", 1)]
    [InlineData("<answer>5 + 3 * 2</answer>", 1)]
    [InlineData("<answer>2 * 3 + 5 = 11</answer>", 1)]
    [InlineData("<answer>3 * 3 + 2</answer>", 0)]
    [InlineData("<answer>2 * 3 + 5 + 0</answer>", 0)]
    [InlineData("<answer>11</answer>", 0)]
    [InlineData("2 * 3 + 5", 0)]
    public void Score_Countdown_ChecksTheExpression(string completion, double expected) =>
        Assert.Equal(expected, Reward.Score(Countdown([2, 3, 5], 11), Text(completion)));

    [Fact]
    public void Score_CountdownWithoutTarget_IsUnscorable() =>
        Assert.Null(Reward.Score(Countdown([2, 3, 5], null), Text("<answer>2 * 3 + 5</answer>")));

    [Fact]
    public void Score_ManyRepeatedTags_StaysFast()
    {
        var text = string.Concat(Enumerable.Repeat("<answer>", 50_000)) + "72" + string.Concat(Enumerable.Repeat("</answer>", 50_000));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(1, Reward.Score(Numeric("72"), Text(text)));
        Assert.True(watch.ElapsedMilliseconds < 2000, $"{watch.ElapsedMilliseconds} ms");
    }
}
