// FormatRewardTests.cs: the format reward is 1 only for one think block then one non-blank answer block with nothing
// but whitespace around them; tag farming (repeated, nested, swapped, extra closers), text outside the blocks, unclosed
// blocks, look-alike tags and a left-over EOS score 0; a prompt that opened <think> is honoured.
using SharpSeek.Rl.Rewards;
using static SharpSeek.Rl.Tests.TestProblems;

namespace SharpSeek.Rl.Tests;

public sealed class FormatRewardTests
{
    private static readonly FormatReward Reward = new();

    [Theory]
    [InlineData("<think>\nreason\n</think>\n<answer>\n72\n</answer>")]
    [InlineData("<think>reason</think><answer>72</answer>")]
    [InlineData(" <think>\nones: 2 + 3 = 5, write 5\n</think>\n<answer>5</answer>")]
    [InlineData("\n\t <think>r</think> \n <answer>72</answer> \n\n")]
    [InlineData("<think></think><answer>72</answer>")]
    [InlineData("<think>3 < 4 and x<y, <thinking> is not a tag</think><answer>a < b</answer>")]
    public void Score_OneThinkThenOneAnswer_Is1(string completion) =>
        Assert.Equal(1, Reward.Score(Numeric("72"), Text(completion)));

    [Theory]
    [InlineData("")]
    [InlineData("72")]
    [InlineData("<answer>72</answer>")]                                                 // no think block
    [InlineData("<think>r</think>")]                                                    // no answer block
    [InlineData("<think>r</think><answer> \n </answer>")]                               // blank answer
    [InlineData("Sure. <think>r</think><answer>72</answer>")]                           // text before
    [InlineData("<think>r</think> so <answer>72</answer>")]                             // text between
    [InlineData("<think>r</think><answer>72</answer> Done.")]                           // text after
    [InlineData("<think>a</think><answer>1</answer><think>b</think><answer>72</answer>")] // farming: two rounds
    [InlineData("<think>a</think><think>b</think><answer>72</answer>")]
    [InlineData("<think>a</think><answer>1</answer><answer>72</answer>")]
    [InlineData("<think>a<think>b</think></think><answer>72</answer>")]                 // nested
    [InlineData("<think>a <answer>1</answer></think><answer>72</answer>")]              // answer inside think
    [InlineData("<think>a</think><answer>72</answer></answer>")]                        // repeated closer
    [InlineData("<think>a</think><answer>72</answer></answer></answer></answer>")]
    [InlineData("<think>a</think><answer>72 <think></answer>")]
    [InlineData("<think>a</think></think><answer>72</answer>")]
    [InlineData("<answer>72</answer><think>a</think>")]                                 // swapped
    [InlineData("<think>a</think><answer>72")]                                          // unclosed answer (truncated)
    [InlineData("<think>aaaa")]                                                         // truncated in think
    [InlineData("<think >a</think><answer>72</answer>")]                                // look-alike tags
    [InlineData("<Think>a</Think><answer>72</answer>")]
    [InlineData("<think>a</think><answer>72</answer><\uFF5Cend\u2581of\u2581sentence\uFF5C>")] // EOS not stripped
    public void Score_AnythingElse_Is0(string completion) =>
        Assert.Equal(0, Reward.Score(Numeric("72"), Text(completion)));

    [Fact]
    public void Score_PromptOpenedThink_CompletionStartsInside()
    {
        const string inside = "reason step by step\n</think>\n<answer>72</answer>";
        Assert.Equal(1, Reward.Score(Numeric("72"), Text(inside, startsInThink: true)));
        Assert.Equal(0, Reward.Score(Numeric("72"), Text(inside)));
        Assert.Equal(0, Reward.Score(Numeric("72"), Text("<think>r</think><answer>72</answer>", startsInThink: true)));
        Assert.Equal(1, Reward.Score(Numeric("72"), Text("</think><answer>72</answer>", startsInThink: true)));
    }

    [Fact]
    public void Score_IgnoresTheAnswersCorrectness() =>
        Assert.Equal(1, Reward.Score(Numeric("72"), Text("<think>r</think><answer>wrong</answer>")));
}
