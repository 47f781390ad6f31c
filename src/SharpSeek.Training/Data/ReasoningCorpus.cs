// ReasoningCorpus.cs: the built-in training text: documents built from the train split of the generated problems
// (column arithmetic with carries, borrows and partial products, two-step word problems, countdown), each a question,
// the worked <think>…</think> section and the result in <answer>…</answer>, in R1-Zero's format (one frame in five is
// R1-Zero's own template) so that a later stage can reason-tune the base model on the same tasks, and held-out problems
// stay unseen for evaluation. The default mix spans every family; a task mix (TaskMix) narrows it, as the base-model
// recipe does. Not here: the generators (Tasks/ProblemGenerator.cs), tokenizing (DatasetBuilder.cs), rewards (the RL
// project). Tested by ReasoningCorpusTests.
using SharpSeek.Training.Tasks;

namespace SharpSeek.Training.Data;

/// <summary>A deterministic generator of short worked problems (about 40–200 tokens each).</summary>
public static class ReasoningCorpus
{
    /// <summary>Yields <paramref name="documents"/> documents. Document i depends only on (<paramref name="seed"/>, i),
    /// so a longer corpus extends a shorter one with the same seed. Every document's problem is from the train split
    /// (<see cref="ProblemGenerator.SplitOf"/>). Without <paramref name="mix"/> the families are weighted 20/15/20/20/25
    /// (+, −, ×, word, countdown) at their <see cref="ProblemGenerator.CorpusLevels"/>; with one (<see cref="TaskMix.Parse"/>),
    /// each document picks an entry, then a level, uniformly.</summary>
    public static IEnumerable<string> Generate(int seed, int documents, IReadOnlyList<(TaskFamily Family, int MinLevel, int MaxLevel)>? mix = null) =>
        Documents(seed, documents, mix).Select(d => d.Text);

    /// <summary>The documents with the problems they were written from.</summary>
    internal static IEnumerable<(WorkedProblem Problem, string Text)> Documents(int seed, int documents, IReadOnlyList<(TaskFamily Family, int MinLevel, int MaxLevel)>? mix = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(documents);
        if (mix is { Count: 0 }) { throw new ArgumentException("a task mix needs at least one family", nameof(mix)); }
        return Iterate(seed, documents, mix);
    }

    private static IEnumerable<(WorkedProblem, string)> Iterate(int seed, int documents, IReadOnlyList<(TaskFamily Family, int MinLevel, int MaxLevel)>? mix)
    {
        for (var i = 0; i < documents; i++)
        {
            var rng = new SplitMix64(SplitMix64.Mix((uint)seed, (ulong)i));
            yield return Document(ref rng, mix);
        }
    }

    private static (WorkedProblem, string) Document(ref SplitMix64 rng, IReadOnlyList<(TaskFamily Family, int MinLevel, int MaxLevel)>? mix)
    {
        var (family, min, max) = mix is null ? DefaultEntry(ref rng) : rng.Pick(mix);
        var level = rng.Next(min, max);
        var p = ProblemGenerator.Generate(ref rng, family, level, ProblemSplit.Train);
        var body = $"<think>\n{p.Solution}\n</think>\n<answer>{p.Answer}</answer>";
        var text = rng.Next(5) switch
        {
            0 => $"User: {p.Question}\nAssistant: {body}",
            1 => $"Problem: {p.Question}\n{body}",
            2 => $"User: {p.Question} Think in <think> </think> tags, then give the answer in <answer> </answer> tags.\nAssistant: Let me solve this step by step.\n{body}",
            3 => $"{R1ZeroTemplate.Prompt(p.Question)} {body}",
            _ => $"{p.Question}\n{body}",
        };
        return (p, text);
    }

    private static (TaskFamily, int, int) DefaultEntry(ref SplitMix64 rng)
    {
        var family = rng.Next(100) switch
        {
            < 20 => TaskFamily.Add,
            < 35 => TaskFamily.Sub,
            < 55 => TaskFamily.Mul,
            < 75 => TaskFamily.Word,
            _ => TaskFamily.Countdown,
        };
        var (min, max) = ProblemGenerator.CorpusLevels(family);
        return (family, min, max);
    }
}
