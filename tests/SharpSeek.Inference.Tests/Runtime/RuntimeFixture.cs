// RuntimeFixture.cs: test helpers for the runtime: tiny configs (q-lora or q_proj, YaRN or plain, with the correction bias),
// seeded random F32 weights, the uncached reference (Transformer.Forward on the tape, the whole sequence recomputed) and a
// temporary checkpoint directory. Not here: tests.
using SharpSeek.Inference.Text;
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;

namespace SharpSeek.Inference.Tests.Runtime;

internal static class RuntimeFixture
{
    public static ModelConfig Config(string variant = "qlora")
    {
        var c = ModelConfig.LoadPreset("tiny");
        return variant switch
        {
            "qlora" => c,
            "qproj" => c with { QLoraRank = null },
            "plain-rope" => c with { RopeScaling = null },
            _ => throw new ArgumentException(variant),
        };
    }

    /// <summary>Random weights (std 0.2) and a random correction bias, so routing is neither uniform nor bias-free.</summary>
    public static ModelWeights Weights(ModelConfig config, int seed = 1)
    {
        var w = new ModelWeights(config);
        w.InitializeRandom(seed, std: 0.2);
        var rng = new Random(seed + 100);
        foreach (var p in w.Unique.Where(p => p.Name.EndsWith("e_score_correction_bias", StringComparison.Ordinal)))
        {
            var span = p.Value.AsSpan<float>();
            for (var i = 0; i < span.Length; i++) { span[i] = (float)(rng.NextDouble() - 0.5) * 0.2f; }
        }
        return w;
    }

    public static int[] Tokens(int count, int vocab, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => rng.Next(vocab))];
    }

    /// <summary>The uncached logits (T, V) of the whole sequence, recomputed on the tape.</summary>
    public static float[] ReferenceLogits(ModelWeights weights, int[] tokens)
    {
        using var model = new Transformer(weights);
        using var arena = new Arena("reference");
        var tape = new Tape(arena) { GradEnabled = false };
        var (logits, _) = model.Forward(tape, arena.FromSpan<int>(tokens, 1, tokens.Length));
        return tape.Value(logits).AsSpan<float>().ToArray();
    }

    /// <summary>Greedy continuation by recomputing the whole context each token (no cache).</summary>
    public static int[] ReferenceGreedy(ModelWeights weights, int[] prompt, int count)
    {
        var context = prompt.ToList();
        var vocab = weights.Config.VocabSize;
        for (var i = 0; i < count; i++)
        {
            var logits = ReferenceLogits(weights, [.. context]);
            context.Add(Sampler.ArgMax(logits.AsSpan((context.Count - 1) * vocab, vocab)));
        }
        return [.. context.Skip(prompt.Length)];
    }

    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            if (!(Math.Abs(expected[i] - actual[i]) <= tolerance)) { Assert.Fail($"{what}[{i}]: expected {expected[i]}, got {actual[i]} (tolerance {tolerance})"); }
        }
    }

    /// <summary>Writes the weights as a checkpoint directory (every HF name, MTP aliases included).</summary>
    public static void Save(ModelWeights weights, string dir, CheckpointFormat format)
    {
        var list = weights.Names.Select(n => weights.Get(n))
            .Select((p, i) => (weights.Names.ElementAt(i), p.Value.Shape.ToArray(), (ReadOnlyMemory<float>)p.Value.AsSpan<float>().ToArray()))
            .ToList();
        CheckpointWriter.Save(dir, weights.Config, list, format);
    }
}

internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "sharpseek-runtime-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
