// ReasoningSplitterTests.cs: <think> and </think> split across pushes, text before <think>, starting inside reasoning,
// no tags, a '<' that is not a tag; on random texts with random cuts the channels equal a one-shot reference and,
// joined, the input minus the tags.
using SharpSeek.Inference.Text;

namespace SharpSeek.Inference.Tests.Text;

public sealed class ReasoningSplitterTests
{
    private static (string Reasoning, string Content) Run(bool startInReasoning, IEnumerable<string> pushes)
    {
        var splitter = new ReasoningSplitter(startInReasoning);
        var (r, c) = ("", "");
        foreach (var push in pushes)
        {
            var (pr, pc) = splitter.Push(push);
            (r, c) = (r + pr, c + pc);
        }
        var (fr, fc) = splitter.Flush();
        return (r + fr, c + fc);
    }

    private static IEnumerable<string> Chars(string text) => text.Select(c => c.ToString());

    [Fact]
    public void TagsSplitAcrossPushes()
    {
        string[] pushes = ["intro <th", "ink>", "step 1\nstep 2</", "thi", "nk>\n\nThe answer is 4."];
        Assert.Equal(("step 1\nstep 2", "intro \n\nThe answer is 4."), Run(false, pushes));
        Assert.Equal(("step 1\nstep 2", "intro \n\nThe answer is 4."), Run(false, Chars(string.Concat(pushes))));
    }

    [Fact]
    public void PartialTag_IsHeldBack_UntilDecided()
    {
        var s = new ReasoningSplitter(startInReasoning: false);
        Assert.Equal(("", "a "), s.Push("a <"));
        Assert.Equal(("", "<b"), s.Push("b"));
        Assert.Equal(("", "x "), s.Push("x <thi"));
        Assert.Equal(("", ""), s.Push("nk>"));
        Assert.True(s.InReasoning);
        Assert.Equal(("r", ""), s.Push("r</thi"));
        Assert.Equal(("</thi", ""), s.Flush());
    }

    [Fact]
    public void StartingInReasoning()
    {
        Assert.Equal(("Let me think.", " 42"), Run(true, ["Let me th", "ink.</think> 42"]));
        Assert.Equal(("\nhmm", "ok"), Run(true, ["<thi", "nk>\nhmm</think>ok"])); // a restated <think> is dropped
        Assert.Equal(("all reasoning, cut off", ""), Run(true, ["all reasoning, ", "cut off"]));
    }

    [Fact]
    public void NoTags_AndNonTagAngles_AreContent()
    {
        Assert.Equal(("", "plain text"), Run(false, ["plain ", "text"]));
        Assert.Equal(("", "a < b and <thinking> and </think> <"), Run(false, Chars("a < b and <thinking> and </think> <")));
    }

    [Fact]
    public void RandomTextsAndCuts_MatchTheOneShotReference()
    {
        var random = new Random(23);
        string[] pieces = ["<think>", "</think>", "<", "<th", "</", "think", ">", "a", "b", "\n", " "];
        for (var trial = 0; trial < 2000; trial++)
        {
            var start = trial % 2 == 0;
            var text = string.Concat(Enumerable.Range(0, random.Next(0, 12)).Select(_ => pieces[random.Next(pieces.Length)]));
            var cuts = new List<string>();
            for (var at = 0; at < text.Length;)
            {
                var n = Math.Min(random.Next(0, 6), text.Length - at);
                cuts.Add(text.Substring(at, n));
                at += n;
            }
            var expected = Reference(start, text, out var removed);
            Assert.Equal(expected, Run(start, cuts));
            Assert.Equal(removed, expected.Reasoning.Length + expected.Content.Length);
        }
    }

    // One pass over the whole text: look for the tag that would switch the channel, drop it, switch; a reply that starts
    // inside reasoning drops a leading <think>. removed = text length minus the tags taken out.
    private static (string Reasoning, string Content) Reference(bool inReasoning, string text, out int removed)
    {
        var (r, c) = ("", "");
        var kept = text.Length;
        if (inReasoning && text.StartsWith("<think>", StringComparison.Ordinal))
        {
            text = text[7..];
            kept -= 7;
        }
        while (true)
        {
            var tag = inReasoning ? "</think>" : "<think>";
            var at = text.IndexOf(tag, StringComparison.Ordinal);
            var part = at < 0 ? text : text[..at];
            if (inReasoning) { r += part; } else { c += part; }
            if (at < 0) { break; }
            kept -= tag.Length;
            text = text[(at + tag.Length)..];
            inReasoning = !inReasoning;
        }
        removed = kept;
        return (r, c);
    }
}
