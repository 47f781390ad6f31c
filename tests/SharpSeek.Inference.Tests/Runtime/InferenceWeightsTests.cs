// InferenceWeightsTests.cs: loading a checkpoint directory in each format; FP8 weights stored as FP8 kept bit for bit;
// BF16 and FP8 logits close to F32; a change to the masters seen at once through F32 views and after Refresh through
// BF16/FP8 ones, and refused once the model took another format; the memory footprint; the KV cache's per-token size
// against KvCacheSize.
using SharpSeek.Inference.Runtime;
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Model.Layers;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Inference.Tests.Runtime;

public sealed class InferenceWeightsTests
{
    [Fact]
    public void Load_F32Checkpoint_StepEqualsTheInMemoryWeights()
    {
        var config = RuntimeFixture.Config();
        using var model = RuntimeFixture.Weights(config, seed: 3);
        using var dir = new TempDir();
        RuntimeFixture.Save(model, dir.Path, CheckpointFormat.F32);
        var tokens = RuntimeFixture.Tokens(6, config.VocabSize, 1);
        using var loaded = InferenceWeights.Load(dir.Path, WeightFormat.F32);
        Assert.Equal(Logits(InferenceWeights.From(model, WeightFormat.F32), tokens), Logits(loaded, tokens));
    }

    [Fact]
    public void Load_Fp8Checkpoint_KeepsTheStoredCodesAndScales()
    {
        var config = RuntimeFixture.Config();
        using var model = RuntimeFixture.Weights(config, seed: 4);
        using var dir = new TempDir();
        RuntimeFixture.Save(model, dir.Path, CheckpointFormat.Fp8);
        using var loaded = InferenceWeights.Load(dir.Path, WeightFormat.Fp8);
        var source = ((Mla)model.Layers[1].Attention).WkvB.Weight.Value;                                     // kv_b_proj (64, 16): a partial block
        int rows = (int)source.Size(0), cols = (int)source.Size(1);
        var codes = new Float8E4M3[rows * cols];
        var scales = new float[Fp8Quant.Tiles(rows) * Fp8Quant.Tiles(cols)];
        Fp8Quant.QuantizeWeightBlocks(source.AsSpan<float>(), rows, cols, codes, scales);    // what the writer stored
        var (heldCodes, heldScales) = ((Mla)loaded.Model.Layers[1].Attention).WkvB.View.Fp8;
        Assert.Equal(codes, heldCodes.ToArray());
        Assert.Equal(scales, heldScales.ToArray());
        Assert.Equal(WeightFormat.Fp8, loaded.Model.Head.View.Format);                                     // lm_head is BF16 in the file, FP8 here
    }

    // The low-precision GEMMs widen each weight exactly, so a BF16/FP8 run equals the F32 run on the rounded weights (to
    // the f32 summation order, ≤ 1e-4). Against the unrounded F32 model the logits move: BF16 keeps 8 mantissa bits
    // (≤ 2⁻⁹ relative per weight), E4M3 3 bits (≤ 2⁻⁴); through 3 layers and the head, and with the router free to flip a
    // near-tied expert, the relative RMS change stays under 5% (BF16) and 30% (FP8) on this model.
    [Theory]
    [InlineData(WeightFormat.BF16, 0.05)]
    [InlineData(WeightFormat.Fp8, 0.30)]
    public void LowPrecision_EqualsF32OnRoundedWeights_AndIsCloseToF32(WeightFormat format, double relativeRms)
    {
        var config = RuntimeFixture.Config();
        using var model = RuntimeFixture.Weights(config, seed: 6);
        var tokens = RuntimeFixture.Tokens(8, config.VocabSize, 2);
        var f32 = Logits(InferenceWeights.From(model, WeightFormat.F32), tokens);
        var low = Logits(InferenceWeights.From(model, format), tokens);
        using var rounded = RuntimeFixture.Weights(config, seed: 6);
        foreach (var name in rounded.Names.Where(IsProjection))
        {
            var p = rounded.Get(name).Value;
            var values = Projection.From(p.AsSpan<float>(), (int)p.Size(0), (int)p.Size(1), format).ToSingle();
            values.CopyTo(p.AsSpan<float>());
        }
        RuntimeFixture.AssertClose(Logits(InferenceWeights.From(rounded, WeightFormat.F32), tokens), low, 1e-4, $"{format} vs F32 on rounded weights");
        var error = Math.Sqrt(f32.Zip(low, (a, b) => (double)(a - b) * (a - b)).Sum() / f32.Sum(a => (double)a * a));
        Assert.InRange(error, 1e-6, relativeRms);
    }

    private static bool IsProjection(string name) =>
        (name.EndsWith("proj.weight", StringComparison.Ordinal) || name.EndsWith("proj_with_mqa.weight", StringComparison.Ordinal) || name == WeightNames.Head)
        && !name.Contains("shared_head.head", StringComparison.Ordinal);

    // What an optimizer step does to the masters, here to every projection: an F32 view reads them in place, so the next
    // step sees the change; a BF16 or FP8 view keeps what it was converted from (the logits do not move) until Refresh
    // rebuilds it, after which it equals a fresh build on the changed masters, bit for bit.
    [Theory]
    [InlineData(WeightFormat.F32)]
    [InlineData(WeightFormat.BF16)]
    [InlineData(WeightFormat.Fp8)]
    public void AChangeToTheMasters_IsSeenInPlaceInF32_AndAfterRefreshInBF16AndFp8(WeightFormat format)
    {
        var config = RuntimeFixture.Config();
        using var model = RuntimeFixture.Weights(config, seed: 9);
        var tokens = RuntimeFixture.Tokens(7, config.VocabSize, 10);
        var weights = InferenceWeights.From(model, format);
        var before = Logits(weights, tokens);
        foreach (var name in model.Names.Where(IsProjection))
        {
            var w = model.Get(name).Value.AsSpan<float>();
            for (var i = 0; i < w.Length; i++) { w[i] = (w[i] * 1.5f) + 0.01f; }
        }
        var after = Logits(weights, tokens);
        if (format == WeightFormat.F32)
        {
            Assert.NotEqual(before, after);
        }
        else
        {
            Assert.Equal(before, after);
            weights.Refresh();
            after = Logits(weights, tokens);
            Assert.NotEqual(before, after);
        }
        Assert.Equal(Logits(InferenceWeights.From(model, format), tokens), after);
    }

    // The views belong to the model, one format at a time: once another format's views were built on the same model, a
    // runner over the older inference weights refuses to step rather than run the other format.
    [Fact]
    public void ViewsRebuiltInAnotherFormat_AreRefusedByTheOlderWeights()
    {
        var config = RuntimeFixture.Config();
        using var model = RuntimeFixture.Weights(config, seed: 11);
        var f32 = InferenceWeights.From(model, WeightFormat.F32);
        InferenceWeights.From(model, WeightFormat.BF16);
        var e = Assert.Throws<InvalidOperationException>(() => Logits(f32, [1, 2]));
        Assert.Contains("rebuilt in BF16 after these inference weights were built in F32", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bytes_ShrinkWithTheFormat()
    {
        var config = RuntimeFixture.Config();
        using var model = RuntimeFixture.Weights(config);
        long f32 = InferenceWeights.From(model, WeightFormat.F32).Bytes, bf16 = InferenceWeights.From(model, WeightFormat.BF16).Bytes;
        var fp8 = InferenceWeights.From(model, WeightFormat.Fp8).Bytes;
        var projections = InferenceWeights.From(model, WeightFormat.F32);
        long projectionBytes = projections.Model.Head.View.Bytes + projections.Model.Layers.Sum(l => ((Mla)l.Attention).Wo.View.Bytes);
        Assert.True(f32 > bf16 && bf16 > fp8, $"f32 {f32}, bf16 {bf16}, fp8 {fp8}");
        Assert.True(projectionBytes < f32);
        Assert.Equal(config.VocabSize * config.HiddenSize * 2L, InferenceWeights.From(model, WeightFormat.BF16).Model.Head.View.Bytes);
    }

    [Fact]
    public void KvCache_BytesPerTokenMatchKvCacheSize()
    {
        var config = ModelConfig.LoadPreset("16B");
        using var cache = new KvCache(RuntimeFixture.Config(), 2, 8);
        var tiny = RuntimeFixture.Config();
        Assert.Equal(tiny.NumHiddenLayers * (tiny.KvLoraRank + tiny.QkRopeHeadDim) * 4L, cache.BytesPerToken);
        Assert.Equal(KvCacheSize.For(tiny).Ratio, cache.RatioToMha);
        Assert.Equal((double)tiny.NumAttentionHeads * (tiny.QkHeadDim + tiny.VHeadDim) / (tiny.KvLoraRank + tiny.QkRopeHeadDim), cache.RatioToMha, 10);
        Assert.True(cache.CapacityBytes >= tiny.TotalLayers * 2L * 8 * (tiny.KvLoraRank + tiny.QkRopeHeadDim) * 4);
        Assert.True(KvCacheSize.For(config).Ratio > 1);
    }

    private static float[] Logits(InferenceWeights weights, int[] tokens)
    {
        using var cache = new KvCache(weights.Config, 1, 16);
        using var runner = new ModelRunner(weights, cache);
        return runner.Step([new SequenceChunk(cache.Acquire(), tokens)]).Logits(0, tokens.Length - 1).ToArray();
    }
}
