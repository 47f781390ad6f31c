// StopMatcherTests.cs: stop strings split across pushes, overlapping prefixes, a stop at the start, stops longer than
// the text, Flush; and on random texts with random cuts, the result equals a char-by-char reference and never emits
// text a later push could still turn into a stop.
using SharpSeek.Inference.Text;

namespace SharpSeek.Inference.Tests.Text;

public sealed class StopMatcherTests
{
    private static (string Text, bool Stopped) Run(IReadOnlyList<string> stops, IEnumerable<string> pushes)
    {
        var matcher = new StopMatcher(stops);
        var text = "";
        foreach (var push in pushes)
        {
            var (emit, stopped) = matcher.Push(push);
            text += emit;
            if (stopped) { return (text, true); }
        }
        return (text + matcher.Flush(), false);
    }

    // The reference: the first position where some stop string ends; the longest such stop.
    private static (string Text, bool Stopped) Reference(IReadOnlyList<string> stops, string text)
    {
        for (var end = 1; end <= text.Length; end++)
        {
            var hit = stops.Where(s => text[..end].EndsWith(s, StringComparison.Ordinal)).OrderByDescending(s => s.Length).FirstOrDefault();
            if (hit is not null) { return (text[..(end - hit.Length)], true); }
        }
        return (text, false);
    }

    [Fact]
    public void StopSplitAcrossPushes_IsHeldBackThenDropped()
    {
        var m = new StopMatcher(["STOP"]);
        Assert.Equal(("Hello ", false), m.Push("Hello ST"));
        Assert.Equal(("", true), m.Push("OP world"));
        Assert.Throws<InvalidOperationException>(() => m.Push("more"));
    }

    [Fact]
    public void HeldText_ThatDoesNotCompleteAStop_IsEmittedLater()
    {
        var m = new StopMatcher(["STOP"]);
        Assert.Equal(("a", false), m.Push("aST"));
        Assert.Equal(("STA", false), m.Push("A"));
        Assert.Equal("", m.Flush());
    }

    [Fact]
    public void OverlappingPrefixes_StopWhereTheFirstStopEnds()
    {
        Assert.Equal(("a", true), Run(["abcd", "bce"], ["ab", "c", "e"]));
        Assert.Equal(("", true), Run(["abcd", "bce"], ["ab", "cd"]));
        Assert.Equal(("xa", true), Run(["aab"], ["xa", "a", "ab"])); // "xaaab": the stop starts at the second 'a'
    }

    [Fact]
    public void StopAtTheVeryStart()
    {
        Assert.Equal(("", true), new StopMatcher(["<|end|>", "\n\n"]).Push("<|end|>tail"));
        Assert.Equal(("", true), Run(["\n\n"], ["\n", "\nrest"]));
    }

    [Fact]
    public void StopLongerThanTheText_IsHeldAndFlushed()
    {
        var m = new StopMatcher(["a long stop string"]);
        Assert.Equal(("", false), m.Push("a lo"));
        Assert.Equal(("", false), m.Push("ng"));
        Assert.Equal("a long", m.Flush());
        Assert.Equal(("abc", false), new StopMatcher([]).Push("abc"));
    }

    [Fact]
    public void EmptyStop_Throws() => Assert.Throws<ArgumentException>(() => new StopMatcher(["ok", ""]));

    [Fact]
    public void RandomTextsAndCuts_MatchTheCharByCharReference()
    {
        var random = new Random(17);
        string[][] stopSets = [["ab"], ["aba", "bab"], ["abc", "bcd", "c"], ["aaaa", "aab"], ["dcba", "cb", "bad"]];
        for (var trial = 0; trial < 3000; trial++)
        {
            var stops = stopSets[trial % stopSets.Length];
            var text = new string(Enumerable.Range(0, random.Next(0, 16)).Select(_ => "abcd"[random.Next(4)]).ToArray());
            var pushes = new List<string>();
            for (var at = 0; at < text.Length;)
            {
                var n = Math.Min(random.Next(0, 4), text.Length - at);
                pushes.Add(text.Substring(at, n));
                at += n;
            }
            var expected = Reference(stops, text);
            Assert.Equal(expected, Run(stops, pushes));
            // Nothing emitted so far may differ from what the full text gives: emitted text is final.
            var m = new StopMatcher(stops);
            var emitted = "";
            foreach (var push in pushes)
            {
                var (emit, stopped) = m.Push(push);
                emitted += emit;
                Assert.StartsWith(emitted, expected.Text, StringComparison.Ordinal);
                if (stopped) { break; }
            }
        }
    }
}
