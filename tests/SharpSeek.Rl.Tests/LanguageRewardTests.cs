// LanguageRewardTests.cs: the language-consistency reward is the share of the think block's lettered words written
// mostly in the target script (hand-counted mixes), ignores words without letters and text outside the think block,
// scores an empty or missing chain of thought 0, honours a prompt that opened <think> and takes another script.
using System.Text;
using SharpSeek.Rl.Rewards;
using static SharpSeek.Rl.Tests.TestProblems;

namespace SharpSeek.Rl.Tests;

public sealed class LanguageRewardTests
{
    private static readonly LanguageReward Latin = new();

    [Theory]
    [InlineData("<think>The answer is clear</think><answer>1</answer>", 1.0)]
    [InlineData("<think>The \u7B54\u6848 is \u6E05\u695A</think>", 0.5)]                       // The 答案 is 清楚: 2 of 4
    [InlineData("<think>3 + 4 = 7, so x</think>", 1.0)]                                        // "3", "+", "7," have no letters
    [InlineData("<think>na\u00EFve caf\u00E9 \u0141\u00F3d\u017A</think>", 1.0)]               // naïve café Łódź
    [InlineData("<think>\u041F\u0440\u0438\u0432\u0435\u0442 world</think>", 0.5)]             // Привет world
    [InlineData("<think>abc\u0434 ab\u0434\u0434</think>", 0.5)]                               // 3 of 4 letters Latin counts, 2 of 4 does not
    [InlineData("<think>hello,\u043C\u0438\u0440 one</think>", 1.0)]                           // one word, 5 of 8 letters Latin
    [InlineData("<think>hello \u043C\u0438\u0440", 0.5)]                                       // unclosed: to the end
    [InlineData("<think>hello</think><answer>\u043C\u0438\u0440</answer>", 1.0)]               // the answer is not the CoT
    [InlineData("<think>one two three \u4E00</think>", 0.75)]
    public void Score_ShareOfWordsInTheScript(string completion, double expected) =>
        Assert.Equal(expected, Latin.Score(Numeric("1"), Text(completion))!.Value, 12);

    [Theory]
    [InlineData("The answer is 1")]                    // no think block
    [InlineData("<think></think><answer>1</answer>")]  // empty
    [InlineData("<think>  \n </think>")]
    [InlineData("<think>1 + 2 = 3</think>")]           // no lettered words
    public void Score_NoLetteredWordsInTheCoT_Is0(string completion) =>
        Assert.Equal(0, Latin.Score(Numeric("1"), Text(completion)));

    [Fact]
    public void Score_PromptOpenedThink_CoTStartsAtTheBeginning()
    {
        Assert.Equal(1, Latin.Score(Numeric("1"), Text("reasoning here</think><answer>1</answer>", startsInThink: true)));
        Assert.Equal(0, Latin.Score(Numeric("1"), Text("reasoning here</think><answer>1</answer>")));
    }

    [Fact]
    public void Score_AnotherScript()
    {
        var cyrillic = new LanguageReward(r => r.Value is >= 0x0400 and <= 0x04FF);
        Assert.Equal(0.5, cyrillic.Score(Numeric("1"), Text("<think>\u041F\u0440\u0438\u0432\u0435\u0442 world</think>")));
        Assert.False(LanguageReward.IsLatin(new Rune('\u00D7')));
        Assert.True(LanguageReward.IsLatin(new Rune('\u1EA1')));
    }
}
