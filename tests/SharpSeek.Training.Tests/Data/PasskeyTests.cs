// PasskeyTests.cs: the passkey prompts and documents: the needle at its depth, the answer after the question, prompts
// cut to a token length exactly as long as fits, the corpus mix deterministic and near its share, bad depths named.
using SharpSeek.Training.Data;

namespace SharpSeek.Training.Tests.Data;

public sealed class PasskeyTests
{
    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(0.5, 5)]
    [InlineData(1.0, 10)]
    public void Prompt_PutsTheNeedleAfterDepthTimesTheFiller(double depth, int before)
    {
        var prompt = Passkey.Prompt(48213, 10, depth);
        var needle = prompt.IndexOf(Passkey.Needle(48213), StringComparison.Ordinal);
        Assert.True(needle > 0);
        var fillersBefore = (prompt[..needle].Length - Passkey.Intro.Length) / Passkey.Filler.Length;
        Assert.Equal(before, fillersBefore);
        Assert.StartsWith(Passkey.Intro, prompt, StringComparison.Ordinal);
        Assert.EndsWith(Passkey.Question, prompt, StringComparison.Ordinal);
        Assert.Equal(10 * Passkey.Filler.Length, prompt.Length - Passkey.Intro.Length - Passkey.Needle(48213).Length - Passkey.Question.Length);
    }

    [Fact]
    public void Document_AnswersWithTheKeyItHides()
    {
        var doc = Passkey.Document(3, 17, 1024);
        var key = doc[(doc.LastIndexOf(Passkey.Question, StringComparison.Ordinal) + Passkey.Question.Length)..].Trim().TrimEnd('.');
        Assert.Equal(5, key.Length);
        Assert.Contains(Passkey.Needle(int.Parse(key, System.Globalization.CultureInfo.InvariantCulture)), doc, StringComparison.Ordinal);
        Assert.Equal(doc, Passkey.Document(3, 17, 1024));
        Assert.NotEqual(doc, Passkey.Document(3, 18, 1024));
        var lengths = Enumerable.Range(0, 200).Select(i => Passkey.Document(3, i, 1024).Length).ToList();
        Assert.True(lengths.Max() > 4 * lengths.Min(), "lengths spread over the range");
        Assert.All(lengths, l => Assert.True(l < 1024 * Passkey.Filler.Length / Passkey.TokensPerFillerEstimate + 400));
    }

    [Fact]
    public void PromptOfLength_IsTheLongestThatFits()
    {
        static int Words(string s) => s.Split(' ', '\n').Length;           // a stand-in tokenizer: one token per word
        foreach (var (tokens, depth) in new[] { (100, 0.0), (333, 0.3), (1000, 1.0) })
        {
            var (prompt, count) = Passkey.PromptOfLength(Words, 12345, tokens, depth);
            Assert.Equal(Words(prompt), count);
            Assert.True(count <= tokens);
            var fillers = (prompt.Length - Passkey.Prompt(12345, 0, depth).Length) / Passkey.Filler.Length;
            Assert.True(Words(Passkey.Prompt(12345, fillers + 1, depth)) > tokens, "one more filler line would not fit");
        }
        var e = Assert.Throws<ArgumentException>(() => Passkey.PromptOfLength(Words, 12345, 10, 0.5));
        Assert.Contains("needs at least", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => Passkey.Prompt(1, 3, 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Passkey.Prompt(1, 3, double.NaN));
    }

    [Fact]
    public void Mix_ReplacesAboutItsShare_TheSameWayEachTime()
    {
        var docs = Enumerable.Range(0, 2000).Select(i => $"doc {i}").ToList();
        var mixed = Passkey.Mix(docs, 0.25, 7, 256).ToList();
        var replaced = mixed.Count(d => d.StartsWith(Passkey.Intro, StringComparison.Ordinal));
        Assert.InRange(replaced, 420, 580);
        Assert.Equal(mixed, Passkey.Mix(docs, 0.25, 7, 256).ToList());
        Assert.All(mixed.Select((d, i) => (d, i)).Where(x => !x.d.StartsWith(Passkey.Intro, StringComparison.Ordinal)), x => Assert.Equal($"doc {x.i}", x.d));
        Assert.Equal(docs, Passkey.Mix(docs, 0, 7, 256).ToList());
    }
}
