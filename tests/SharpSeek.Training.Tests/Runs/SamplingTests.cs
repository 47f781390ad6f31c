// SamplingTests.cs: the token pick (greedy ties, top-1, the temperature distribution against its softmax on a seeded
// stream) and cache-free generation on a random tiny model: deterministic for a seed, different across seeds, length
// and stop token honoured, equal to step-by-step argmax of the full forward.
using SharpSeek.Model;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Training.Runs;

namespace SharpSeek.Training.Tests.Runs;

public sealed class SamplingTests
{
    [Fact]
    public void Pick_Greedy_TakesTheArgmaxWithTiesToTheLowerId()
    {
        float[] logits = [0.5f, 2.25f, -1f, 2.25f, 1f];
        Assert.Equal(1, Sampling.Pick(logits, 0, 0, new Random(1)));
        Assert.Equal(1, Sampling.Pick(logits, 1.7, 1, new Random(2))); // top-1 is greedy whatever the temperature
    }

    [Fact]
    public void Pick_Temperature_FollowsTheSoftmax()
    {
        var rng = new Random(7);
        float[] logits = [.. Enumerable.Range(0, 7).Select(_ => (float)(rng.NextDouble() * 3 - 1.5))];
        const double T = 0.8;
        var max = logits.Max();
        var p = logits.Select(l => Math.Exp((l - max) / T)).ToArray();
        var sum = p.Sum();
        var counts = new int[logits.Length];
        var draws = new Random(8);
        const int N = 40_000;
        for (var i = 0; i < N; i++) { counts[Sampling.Pick(logits, T, 0, draws)]++; }
        for (var i = 0; i < logits.Length; i++)
        {
            var expected = p[i] / sum;
            var sd = Math.Sqrt(expected * (1 - expected) / N);
            Assert.True(Math.Abs(counts[i] / (double)N - expected) < 5 * sd, $"token {i}: {counts[i] / (double)N:F4} vs {expected:F4}");
        }
    }

    [Fact]
    public void Pick_TopK_NeverLeavesTheKLargest()
    {
        float[] logits = [0.1f, 3f, 0.2f, 2.9f, 0.3f, 2.8f, 0.15f];
        var rng = new Random(9);
        var seen = new HashSet<int>();
        for (var i = 0; i < 2000; i++) { seen.Add(Sampling.Pick(logits, 5.0, 3, rng)); }
        Assert.Equal([1, 3, 5], seen.Order());
    }

    [Fact]
    public void Generate_IsDeterministicForASeedAndMatchesGreedyFullForwards()
    {
        var config = ModelConfig.LoadPreset("tiny");
        using var weights = new ModelWeights(config);
        weights.InitializeRandom(4, std: 0.5); // large weights: peaked, varied logits
        using var model = new Transformer(weights, maxPositions: 40);
        int[] prompt = [17, 3, 200, 45, 9];

        var sampled = new SamplingOptions { MaxNewTokens = 20, Temperature = 1.0, Seed = 21 };
        var a = Sampling.Generate(model, prompt, sampled);
        Assert.Equal(a, Sampling.Generate(model, prompt, sampled));
        Assert.NotEqual(a, Sampling.Generate(model, prompt, sampled with { Seed = 22 }));
        Assert.Equal(20, a.Length);

        // Greedy, with the context outgrowing the 40 rope positions: each token is the argmax of a fresh forward over the
        // last 40 tokens.
        var greedy = Sampling.Generate(model, prompt, new SamplingOptions { MaxNewTokens = 45 });
        var context = prompt.ToList();
        using var arena = new Arena("check");
        var tape = new Tape(arena) { GradEnabled = false };
        foreach (var token in greedy)
        {
            tape.Reset();
            var window = context.Skip(Math.Max(0, context.Count - 40)).ToArray();
            var (logits, _) = model.Forward(tape, arena.FromSpan<int>(window, 1, window.Length));
            var last = tape.Value(logits).AsSpan<float>()[((window.Length - 1) * config.VocabSize)..].ToArray();
            Assert.Equal(Array.IndexOf(last, last.Max()), token);
            context.Add(token);
        }

        var stop = greedy[2];
        var stopped = Sampling.Generate(model, prompt, new SamplingOptions { MaxNewTokens = 45, StopId = stop });
        Assert.Equal(greedy[..(Array.IndexOf(greedy, stop) + 1)], stopped);
    }
}
