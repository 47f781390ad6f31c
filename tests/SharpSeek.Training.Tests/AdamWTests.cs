// AdamWTests.cs: decay applies to matrices only by default (norms too when asked), the correction bias is never touched,
// a save/load round trip continues bit for bit, and a state file for another model is rejected naming the problems.
using SharpSeek.Model;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;

namespace SharpSeek.Training.Tests;

public sealed class AdamWTests
{
    private const int B = 2, T = 7;

    private static ModelWeights Weights(int seed)
    {
        var w = new ModelWeights(Repo.Tiny(), DType.F32, withGradients: true);
        w.InitializeRandom(seed, std: 0.2);
        foreach (var gate in w.Layers.Where(l => l.Moe is not null).Select(l => l.Moe!.Gate))
        {
            gate.CorrectionBias!.Value.AsSpan<float>().Fill(0.25f);
        }
        return w;
    }

    private static void Gradients(Transformer model, Arena arena, int seed)
    {
        var tape = new Tape(arena);
        arena.Reset();
        model.Weights.ZeroGradients();
        var (inputs, targets) = Repo.NextTokenBatch(arena, Repo.RandomTokens(B, T, 256, seed));
        tape.Backward(Objective.Compute(tape, model, inputs, targets, new ObjectiveOptions()).Loss);
    }

    private static float[][] Values(ModelWeights w) => [.. w.Unique.Select(p => p.Value.AsSpan<float>().ToArray())];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WithZeroGradients_DecayShrinksMatrices_AndNormsOnlyWhenAsked(bool decayNorms)
    {
        using var w = Weights(1);
        var before = Values(w);
        using var adamw = new AdamW(w, new AdamWOptions { WeightDecay = 0.1, DecayNormsAndBiases = decayNorms });
        adamw.Step(0.01);
        var after = Values(w);
        for (var i = 0; i < w.Unique.Count; i++)
        {
            var p = w.Unique[i];
            var factor = !AdamW.IsTrainable(p) ? 1.0 : p.Value.Rank >= 2 || decayNorms ? 1 - (0.01 * 0.1) : 1.0;
            for (var j = 0; j < before[i].Length; j++) { Assert.Equal((float)(before[i][j] * factor), after[i][j]); }
        }
        Assert.Equal(1, adamw.StepCount);
        Assert.DoesNotContain(adamw.Parameters, p => p.Name.EndsWith("e_score_correction_bias", StringComparison.Ordinal));
    }

    [Fact]
    public void SaveAndLoad_ContinueBitForBit()
    {
        var path = Path.Combine(Path.GetTempPath(), $"adamw-{Environment.ProcessId}-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var a = Weights(2);
            using var modelA = new Transformer(a, maxPositions: T);
            using var arena = new Arena("adamw");
            using var optA = new AdamW(a, new AdamWOptions());
            for (var s = 0; s < 3; s++) { Gradients(modelA, arena, 10 + s); optA.Step(1e-2); }
            optA.Save(path);

            using var b = Weights(99);
            foreach (var p in a.Unique) { b.Set(p.Name, p.Value.AsSpan<float>()); }
            using var modelB = new Transformer(b, maxPositions: T);
            using var optB = new AdamW(b, new AdamWOptions());
            optB.Load(path);
            Assert.Equal(3, optB.StepCount);

            for (var s = 3; s < 5; s++)
            {
                Gradients(modelA, arena, 10 + s);
                optA.Step(1e-2);
                Gradients(modelB, arena, 10 + s);
                optB.Step(1e-2);
            }
            Assert.Equal(Values(a), Values(b));

            // Without the state the continuation differs: the test can tell.
            using var c = Weights(99);
            foreach (var p in b.Unique) { c.Set(p.Name, p.Value.AsSpan<float>()); }
            using var modelC = new Transformer(c, maxPositions: T);
            using var optC = new AdamW(c, new AdamWOptions());
            Gradients(modelC, arena, 20);
            optC.Step(1e-2);
            Gradients(modelA, arena, 20);
            optA.Step(1e-2);
            Assert.NotEqual(Values(a), Values(c));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_RejectsAnotherModelsState()
    {
        var path = Path.Combine(Path.GetTempPath(), $"adamw-{Environment.ProcessId}-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var small = new ModelWeights(Repo.Tiny() with { NumHiddenLayers = 2 }, DType.F32, withGradients: true);
            using (var opt = new AdamW(small, new AdamWOptions())) { opt.Save(path); }
            using var w = Weights(3);
            using var adamw = new AdamW(w, new AdamWOptions());
            var ex = Assert.Throws<InvalidDataException>(() => adamw.Load(path));
            Assert.Contains("missing", ex.Message);
            Assert.Equal(0, adamw.StepCount);
            using var inference = new ModelWeights(Repo.Tiny());
            Assert.Contains("withGradients", Assert.Throws<ArgumentException>(() => new AdamW(inference, new AdamWOptions())).Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => adamw.Step(double.NaN));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
