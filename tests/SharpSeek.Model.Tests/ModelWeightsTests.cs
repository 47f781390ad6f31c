// ModelWeightsTests.cs: every checkpoint name is reachable and lands on the .NET field the layer uses, the MTP copies of
// the embedding and head are the main tensors, Set/Load check their input, the paper's initialization, and YaRN's
// frequencies for the V3 config (deepseek-ai/DeepSeek-V3:inference/model.py, precompute_freqs_cis).
using SharpSeek.Model.Checkpoint;
using SharpSeek.Model.Layers;
using SharpSeek.Tensors;

namespace SharpSeek.Model.Tests;

public sealed class ModelWeightsTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EveryCheckpointName_IsAParameterOfTheRightShape(bool qLora)
    {
        var c = TinyModel.Config(qLora);
        using var weights = new ModelWeights(c);
        var shapes = ParameterShapes.For(c);
        Assert.Equal(shapes.Select(s => s.Name).Order(StringComparer.Ordinal), weights.Names.Order(StringComparer.Ordinal));
        foreach (var s in shapes) { Assert.Equal(new Shape(s.Shape), weights.Get(s.Name).Value.Shape); }
        Assert.Equal(shapes.Count - 2, weights.Unique.Count); // the MTP module's embed_tokens and shared_head.head are aliases
    }

    [Fact]
    public void Names_MapOntoTheFieldsTheLayersUse()
    {
        var c = TinyModel.Config();
        using var weights = new ModelWeights(c);
        var l1 = weights.Layers[1];
        Assert.Same(weights.Get("model.layers.1.self_attn.kv_a_proj_with_mqa.weight"), l1.Mla().WkvA.Weight);
        Assert.Same(weights.Get("model.layers.1.self_attn.q_a_layernorm.weight"), l1.Mla().QNorm!.Weight);
        Assert.Same(weights.Get("model.layers.1.mlp.gate.e_score_correction_bias"), l1.Moe!.Gate.CorrectionBias);
        Assert.Same(weights.Get("model.layers.1.mlp.experts.7.down_proj.weight"), l1.Moe.Experts[7].Down.Weight);
        Assert.Same(weights.Get("model.layers.0.mlp.gate_proj.weight"), weights.Layers[0].Mlp!.Gate.Weight);
        Assert.Same(weights.Get("model.layers.3.eh_proj.weight"), weights.Mtp[0].EhProj.Weight);
        Assert.Same(weights.Get("model.layers.3.shared_head.norm.weight"), weights.Mtp[0].HeadNorm.Weight);
        Assert.Same(weights.Embedding, weights.Get("model.layers.3.embed_tokens.weight"));
        Assert.Same(weights.Head.Weight, weights.Get("model.layers.3.shared_head.head.weight"));
        Assert.Equal(RmsNorm.LatentEps, l1.Mla().KvNorm.Eps);
        Assert.Equal(WeightNames.Head, weights.Head.Weight.Name);
    }

    [Fact]
    public void Set_FillsByName_AndRejectsAWrongLength()
    {
        using var weights = new ModelWeights(TinyModel.Config(), DType.F64);
        var values = Enumerable.Range(0, 16).Select(i => i * 0.5f + 0.25f).ToArray();
        weights.Set("model.layers.2.self_attn.kv_a_layernorm.weight", values);
        Assert.Equal(values.Select(v => (double)v), weights.Layers[2].Mla().KvNorm.Weight.Value.AsSpan<double>().ToArray());
        var ex = Assert.Throws<ArgumentException>(() => weights.Set("model.norm.weight", values));
        Assert.Contains("(32 elements); got 16 values", ex.Message, StringComparison.Ordinal);
        Assert.Throws<KeyNotFoundException>(() => weights.Set("model.layers.9.input_layernorm.weight", values));
    }

    [Fact]
    public void Load_AsksForEachTensorOnce_AndNamesTheMissingOnes()
    {
        var c = TinyModel.Config();
        using var weights = new ModelWeights(c);
        var asked = new List<string>();
        var filled = weights.Load((name, shape) => { asked.Add(name); return new float[shape.Aggregate(1, (a, b) => a * b)]; });
        Assert.Equal(weights.Unique.Count, filled);
        Assert.Equal(asked.Count, asked.Distinct().Count());
        var ex = Assert.Throws<InvalidOperationException>(() => weights.Load((name, shape) => name.Contains("experts.3.", StringComparison.Ordinal) ? null : new float[shape.Aggregate(1, (a, b) => a * b)]));
        Assert.Contains("model.layers.1.mlp.experts.3.gate_proj.weight", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InitializeRandom_NormsOne_BiasZero_MatricesAtTheGivenStd()
    {
        using var weights = new ModelWeights(TinyModel.Config());
        weights.InitializeRandom(seed: 42, std: 0.006);
        Assert.All(weights.FinalNorm.Weight.Value.AsSpan<float>().ToArray(), v => Assert.Equal(1f, v));
        Assert.All(weights.Layers[1].Moe!.Gate.CorrectionBias!.Value.AsSpan<float>().ToArray(), v => Assert.Equal(0f, v));
        var e = weights.Embedding.Value.AsSpan<float>().ToArray();
        var std = Math.Sqrt(e.Average(v => (double)v * v));
        Assert.InRange(std, 0.006 * 0.97, 0.006 * 1.03); // 8192 samples: the standard error is under 1%
        using var again = new ModelWeights(TinyModel.Config());
        again.InitializeRandom(seed: 42, std: 0.006);
        Assert.Equal(e, again.Embedding.Value.AsSpan<float>().ToArray());
    }

    [Fact]
    public void Yarn_V3Frequencies_FollowTheRamp()
    {
        // precompute_freqs_cis on the V3 config: low = 10, high = 23; i ≤ 10 keep θ^(−2i/64), i ≥ 23 divide it by 40, i = 11 is 0.925× the original
        var inv = RopeTables.InverseFrequenciesFor(ModelConfig.LoadPreset("671B"));
        Assert.Equal(32, inv.Length);
        double Plain(int i) => 1 / Math.Pow(10000, 2.0 * i / 64);
        for (var i = 0; i <= 10; i++) { Assert.Equal(Plain(i), inv[i], Plain(i) * 1e-6); }
        for (var i = 23; i < 32; i++) { Assert.Equal(Plain(i) / 40, inv[i], Plain(i) / 40 * 1e-6); }
        Assert.Equal(12.0 / 13 + 1.0 / 13 / 40, inv[11] / Plain(11), 5);
        var plain = RopeTables.InverseFrequenciesFor(ModelConfig.LoadPreset("671B") with { RopeScaling = null });
        Assert.Equal(Plain(31), plain[31], Plain(31) * 1e-6);
    }
}
