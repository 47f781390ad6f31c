// SampledCompletionsTests.cs: the rewards on real samples, not hand-written strings: tests/data/rl-sampled-completions.jsonl
// holds 45 completions our 0.92M base model and its GRPO runs sampled under R1-Zero's template (right answers, wrong
// answers, and the malformed ones small models really write: the template's preamble repeated inside the completion,
// a second think block, a cut-off). Each is scored against a second, independent reading of the rules (tag counts and
// the text between them; the last answer block's integer) that must agree with the accuracy and format rewards; the
// language reward calls every English chain of thought consistent and an empty one 0.
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using SharpSeek.Rl.Rewards;
using SharpSeek.Rl.Tasks;

namespace SharpSeek.Rl.Tests;

public sealed class SampledCompletionsTests
{
    private static IEnumerable<(Problem Problem, Completion Completion)> Samples()
    {
        foreach (var line in File.ReadLines(Path.Combine(Repo.Root, "tests", "data", "rl-sampled-completions.jsonl")))
        {
            using var doc = JsonDocument.Parse(line);
            var r = doc.RootElement;
            var text = r.GetProperty("completion").GetString()!;
            yield return (new Problem("sampled", "add", 2, r.GetProperty("question").GetString()!, r.GetProperty("answer").GetString()!),
                new Completion(text, text.Length, r.GetProperty("truncated").GetBoolean()));
        }
    }

    // Right when the last answer block (from the last "<answer>" to the "</answer>" after it: a sample that opened an
    // answer inside its reasoning and closed it later is read by its last opening) holds exactly the gold integer.
    private static double ExpectedAccuracy(Problem p, string text)
    {
        var open = text.LastIndexOf("<answer>", StringComparison.Ordinal);
        var close = open < 0 ? -1 : text.IndexOf("</answer>", open, StringComparison.Ordinal);
        return close > open && long.TryParse(text[(open + "<answer>".Length)..close].Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
            && v == long.Parse(p.Answer, CultureInfo.InvariantCulture) ? 1 : 0;
    }

    // Well-formed when each tag occurs once, in order, with only whitespace outside the blocks and a non-blank answer.
    private static double ExpectedFormat(string text)
    {
        string[] tags = ["<think>", "</think>", "<answer>", "</answer>"];
        if (tags.Any(t => Regex.Count(text, Regex.Escape(t)) != 1)) { return 0; }
        var at = tags.Select(t => text.IndexOf(t, StringComparison.Ordinal)).ToArray();
        if (!(at[0] < at[1] && at[1] < at[2] && at[2] < at[3])) { return 0; }
        var before = text[..at[0]];
        var between = text[(at[1] + tags[1].Length)..at[2]];
        var after = text[(at[3] + tags[3].Length)..];
        var answer = text[(at[2] + tags[2].Length)..at[3]];
        return string.IsNullOrWhiteSpace(before) && string.IsNullOrWhiteSpace(between) && string.IsNullOrWhiteSpace(after) && !string.IsNullOrWhiteSpace(answer) ? 1 : 0;
    }

    // Every sample is English: consistent (1) when its chain of thought (first think tag to the next closing one) has a
    // word, 0 when it has none to judge (the reward's rule for an empty chain).
    private static double ExpectedLanguage(string text)
    {
        var open = text.IndexOf("<think>", StringComparison.Ordinal) + "<think>".Length;
        var close = text.IndexOf("</think>", open, StringComparison.Ordinal);
        return text[open..(close < 0 ? text.Length : close)].Any(char.IsLetter) ? 1 : 0;
    }

    [Fact]
    public void Rewards_AgreeWithAnIndependentReading_OnRealSamples()
    {
        var samples = Samples().ToList();
        Assert.Equal(45, samples.Count);
        var accuracy = new AccuracyReward();
        var format = new FormatReward();
        var language = new LanguageReward();
        foreach (var (problem, completion) in samples)
        {
            Assert.True(ExpectedAccuracy(problem, completion.Text) == accuracy.Score(problem, completion), completion.Text);
            Assert.True(ExpectedFormat(completion.Text) == format.Score(problem, completion), completion.Text);
            Assert.Equal(ExpectedLanguage(completion.Text), language.Score(problem, completion));
        }
        // The file exercises every outcome.
        Assert.InRange(samples.Count(s => ExpectedAccuracy(s.Problem, s.Completion.Text) == 1), 10, 35);
        Assert.InRange(samples.Count(s => ExpectedFormat(s.Completion.Text) == 0), 10, 35);
        Assert.Contains(samples, s => ExpectedFormat(s.Completion.Text) == 0 && ExpectedAccuracy(s.Problem, s.Completion.Text) == 1);
        Assert.InRange(samples.Count(s => ExpectedLanguage(s.Completion.Text) == 1), 40, 44);
    }
}
