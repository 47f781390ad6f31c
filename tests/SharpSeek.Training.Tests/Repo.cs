// Repo.cs: test helpers: the repository root above the test binaries, the reference's golden directories, and the
// tiny preset with seeded tokens. Not here: tests.
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Tensors;

namespace SharpSeek.Training.Tests;

internal static class Repo
{
    public static string Root
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SharpSeek.slnx"))) { dir = dir.Parent; }
            return dir?.FullName ?? throw new InvalidOperationException("SharpSeek.slnx not found above the test directory");
        }
    }

    public static string Reference(string variant) => Path.Combine(Root, "tests", "data", "reference", variant);

    /// <summary>A reference checkpoint (by default the base one, qlora_f32) in float64 with gradients.</summary>
    public static ModelWeights ReferenceWeights(string variant = "qlora_f32")
    {
        using var checkpoint = CheckpointDirectory.Open(Reference(variant));
        var weights = new ModelWeights(checkpoint.Config, DType.F64, withGradients: true);
        weights.Load(checkpoint);
        return weights;
    }

    /// <summary>The reference's convention as inputs and targets: targets[b, i] = tokens[b, i + 1], the last one ignored.</summary>
    public static (Tensor Inputs, Tensor Targets) NextTokenBatch(Arena arena, int[][] tokens, int ignore = -100)
    {
        int b = tokens.Length, t = tokens[0].Length;
        var inputs = arena.Allocate(DType.I32, new Shape(b, t));
        var targets = arena.Allocate(DType.I32, new Shape(b, t));
        for (var s = 0; s < b; s++)
        {
            for (var i = 0; i < t; i++)
            {
                inputs.AsSpan<int>()[(s * t) + i] = tokens[s][i];
                targets.AsSpan<int>()[(s * t) + i] = i + 1 < t ? tokens[s][i + 1] : ignore;
            }
        }
        return (inputs, targets);
    }

    public static ModelConfig Tiny() => ModelConfig.LoadPreset("tiny");

    public static int[][] RandomTokens(int b, int t, int vocab, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, b).Select(_ => Enumerable.Range(0, t).Select(_ => rng.Next(vocab)).ToArray())];
    }
}
