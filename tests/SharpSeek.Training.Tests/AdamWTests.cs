// AdamWTests.cs: decay applies to matrices only by default (norms too when asked), the correction bias is never touched,
// a save/load round trip continues bit for bit (F32 and BF16 moments), BF16 moments are the f32 update rounded and
// refused beside F64 parameters, a state file for another model is rejected naming the problems, and weights
// loaded inference-only from BF16 files (no F32 masters) are refused saying how to load them for training.
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
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

    [Fact]
    public void InferenceOnlyWeights_AreRefused_SayingHowToLoadForTraining()
    {
        using var dir = new Data.TempDir();
        RandomCheckpoint.Write(dir.Path, Repo.Tiny(), CheckpointFormat.BF16, seed: 1);
        using var mapped = ModelWeights.MapBF16(dir.Path);
        var e = Assert.Throws<InvalidOperationException>(() => new AdamW(mapped, new AdamWOptions()));
        Assert.Contains("AdamW needs F32 master weights, but this model was loaded inference-only from BF16 checkpoint files", e.Message, StringComparison.Ordinal);
        Assert.Contains("new ModelWeights(config) and Load(checkpoint), as training does", e.Message, StringComparison.Ordinal);
    }

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

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SaveAndLoad_ContinueBitForBit(bool bf16Moments)
    {
        var options = new AdamWOptions { Moments = bf16Moments ? DType.BF16 : null };
        var path = Path.Combine(Path.GetTempPath(), $"adamw-{Environment.ProcessId}-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var a = Weights(2);
            using var modelA = new Transformer(a, maxPositions: T);
            using var arena = new Arena("adamw");
            using var optA = new AdamW(a, options);
            for (var s = 0; s < 3; s++) { Gradients(modelA, arena, 10 + s); optA.Step(1e-2); }
            optA.Save(path);

            using var b = Weights(99);
            foreach (var p in a.Unique) { b.Set(p.Name, p.Value.AsSpan<float>()); }
            using var modelB = new Transformer(b, maxPositions: T);
            using var optB = new AdamW(b, options);
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
            using var optC = new AdamW(c, options);
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

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void F32Steps_EqualThePerElementDoubleFormula_BitForBit(bool bf16Moments)
    {
        // Three steps with real gradients: the vectorized f32 path must give exactly what the formula gives element by
        // element in double (m, v and p each rounded to f32 after every step; with BF16 moments, m and v then rounded on to
        // BF16, so the next step reads the rounded moments).
        using var w = Weights(3);
        using var model = new Transformer(w, maxPositions: T);
        using var arena = new Arena("adamw-bits");
        var options = new AdamWOptions { Moments = bf16Moments ? DType.BF16 : null };
        using var adamw = new AdamW(w, options);
        var m = adamw.Parameters.Select(p => new float[p.Value.ElementCount]).ToArray();
        var v = adamw.Parameters.Select(p => new float[p.Value.ElementCount]).ToArray();
        var stored = (double x) => bf16Moments ? BFloat16.FromSingle((float)x).ToSingle() : (float)x;
        var roundedAway = 0;
        for (var step = 1; step <= 3; step++)
        {
            Gradients(model, arena, seed: step);
            const double Lr = 3e-3;
            var expected = new float[adamw.Parameters.Count][];
            for (var i = 0; i < adamw.Parameters.Count; i++)
            {
                var p = adamw.Parameters[i];
                var ps = p.Value.AsSpan<float>();
                var gs = p.Grad.AsSpan<float>();
                var decay = p.Value.Rank >= 2 ? 1 - (Lr * options.WeightDecay) : 1.0;
                double c1 = 1 - Math.Pow(options.Beta1, step), c2 = 1 - Math.Pow(options.Beta2, step);
                expected[i] = new float[ps.Length];
                for (var j = 0; j < ps.Length; j++)
                {
                    var g = (double)gs[j];
                    var mj = (options.Beta1 * m[i][j]) + ((1 - options.Beta1) * g);
                    var vj = (options.Beta2 * v[i][j]) + ((1 - options.Beta2) * g * g);
                    expected[i][j] = (float)((ps[j] * decay) - (Lr * (mj / c1) / (Math.Sqrt(vj / c2) + options.Eps)));
                    (m[i][j], v[i][j]) = (stored(mj), stored(vj));
                    roundedAway += m[i][j] != (float)mj ? 1 : 0;
                }
            }
            adamw.Step(Lr);
            for (var i = 0; i < adamw.Parameters.Count; i++)
            {
                Assert.Equal(expected[i], adamw.Parameters[i].Value.AsSpan<float>().ToArray());
            }
        }
        Assert.Equal(bf16Moments, roundedAway > 0); // the BF16 case rounds something, so it tests the rounding
    }

    [Fact]
    public void F32State_LoadsIntoBf16Moments_Rounded_AndBack_Widened()
    {
        // An FP8 run saved before its moments were BF16 (or by another precision) still resumes: the F32 moments load
        // rounded to nearest even, and BF16 moments load into F32 ones exactly.
        var (f32Path, bf16Path) = (Path.Combine(Path.GetTempPath(), $"adamw-{Guid.NewGuid():N}.safetensors"), Path.Combine(Path.GetTempPath(), $"adamw-{Guid.NewGuid():N}.safetensors"));
        try
        {
            using var w = Weights(5);
            using var model = new Transformer(w, maxPositions: T);
            using var arena = new Arena("adamw");
            using (var f32 = new AdamW(w, new AdamWOptions()))
            {
                Gradients(model, arena, 1);
                f32.Step(1e-2);
                f32.Save(f32Path);
            }
            using var bf16 = new AdamW(w, new AdamWOptions { Moments = DType.BF16 });
            bf16.Load(f32Path);
            bf16.Save(bf16Path);
            using var saved = SafeTensorsFile.Open(f32Path);
            using var rounded = SafeTensorsFile.Open(bf16Path);
            var changed = 0;
            foreach (var t in saved.Tensors)
            {
                var (x, y) = (new float[t.Shape.Aggregate(1L, (a, b) => a * b)], new float[t.Shape.Aggregate(1L, (a, b) => a * b)]);
                saved.ReadAsSingle(t.Name, x);
                rounded.ReadAsSingle(t.Name, y);
                for (var i = 0; i < x.Length; i++)
                {
                    Assert.Equal(BFloat16.FromSingle(x[i]).ToSingle(), y[i]);
                    changed += x[i] != y[i] ? 1 : 0;
                }
            }
            Assert.True(changed > 0);
            Assert.Equal(1, bf16.StepCount);
            using var back = new AdamW(w, new AdamWOptions());
            back.Load(bf16Path);
            back.Save(f32Path);
            using var widened = SafeTensorsFile.Open(f32Path);
            Assert.All(widened.Tensors, t => Assert.Equal(DType.F32, t.DType));
        }
        finally
        {
            File.Delete(f32Path);
            File.Delete(bf16Path);
        }
    }

    [Fact]
    public void Bf16Moments_HalveTheState_AndAreRefusedBesideF64Parameters()
    {
        var path = Path.Combine(Path.GetTempPath(), $"adamw-{Environment.ProcessId}-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var w = Weights(4);
            using (var adamw = new AdamW(w, new AdamWOptions { Moments = DType.BF16 })) { adamw.Save(path); }
            using (var file = SafeTensorsFile.Open(path))
            {
                Assert.All(file.Tensors, t => Assert.Equal(DType.BF16, t.DType));
            }
            using var f64 = new ModelWeights(Repo.Tiny(), DType.F64, withGradients: true);
            var e = Assert.Throws<ArgumentException>(() => new AdamW(f64, new AdamWOptions { Moments = DType.BF16 }));
            Assert.Contains("BF16 moments for F64 parameters", e.Message, StringComparison.Ordinal);
            Assert.Throws<ArgumentException>(() => new AdamW(w, new AdamWOptions { Moments = DType.F16 }));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
