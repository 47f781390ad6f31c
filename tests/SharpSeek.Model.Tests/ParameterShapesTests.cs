// ParameterShapesTests.cs: the tensor inventory against DeepSeek's published figures (671B total in the DeepSeek-V3
// technical report; 36.7B activated in deepseek-ai/DeepSeek-V3:README_WEIGHTS.md; the released checkpoint's 46,183 +
// 45,808 tensors and 684,531,386,000 stored elements) with our exact counts (MTP 13.46B / 11.61B unique, 37.55B
// activated, V3 scale shapes), V2-Lite's 15.7B / 2.4B, the presets' size
// targets, the KV-cache sizes, and the approved (name, shape) list of tiny.json in tests/data; ModelFootprint's arithmetic
// counts equal the enumeration for every preset and layout, and configs too large for memory (10^6 layers, 10^9
// experts) are refused by ModelFootprint, ParameterShapes.For and ModelWeights without allocating.
namespace SharpSeek.Model.Tests;

public sealed class ParameterShapesTests
{
    private static readonly ModelConfig V3 = ModelConfig.LoadPreset("671B");

    [Fact]
    public void Count_671B_MatchesThePublishedCheckpoint()
    {
        var n = ParameterShapes.Count(V3);
        Assert.Equal(671_026_419_200, n.Total);
        Assert.Equal(13_463_426_304, n.Mtp.Total);
        Assert.Equal(11_610_068_224, n.MtpUnique);
        Assert.Equal(37_552_297_472, n.Activated);
        Assert.Equal(46_183, n.WeightTensors);
        Assert.Equal(45_808, n.ScaleTensors);
        Assert.Equal(684_489_845_504, n.StoredWeights);
        Assert.Equal(41_540_496, n.ScaleElements);
        // Weights plus scales = the 684,531,386,000 stored elements of the release.
        Assert.Equal(684_531_386_000, n.StoredWeights + n.ScaleElements);
    }

    [Fact]
    public void Count_671B_ActivatedIsEmbedHeadAttentionDenseAndTopKExperts()
    {
        var n = ParameterShapes.Count(V3);
        // embed + head + 61 attention + 3 dense + 58 × (8 routed + 1 shared + gate) + norms
        const long Expert = 3L * 2048 * 7168;
        long expected = 2L * 129280 * 7168 + 61 * 187_107_328L + 3 * (3L * 18432 * 7168) + 58 * (9 * Expert + 256 * 7168 + 256)
            + (61 * 2 + 1) * 7168;
        Assert.Equal(expected, n.Activated);
        Assert.Equal(n.Main.RoutedExperts / 32, n.MainActivated.RoutedExperts);
        Assert.Equal(n.Main.Attention, n.MainActivated.Attention);
        // README_WEIGHTS' 36.7B leaves out the embedding lookup.
        Assert.InRange(n.ActivatedWithoutEmbedding, 36_600_000_000, 36_700_000_000);
    }

    [Fact]
    public void Layers_671B_AttentionIs187MAndMoeIs11Point32B()
    {
        var all = ParameterShapes.For(V3);
        Assert.Equal(187_107_328, all.Where(t => t.Layer == 0 && t.Component == ParameterComponent.Attention).Sum(t => t.Elements));
        Assert.Equal(11_320_164_608, all.Where(t => t.Layer == 3 && t.Name.Contains(".mlp.", StringComparison.Ordinal)).Sum(t => t.Elements));
        Assert.All(all.Where(t => t.Layer == 61), t => Assert.True(t.IsMtp));
        Assert.DoesNotContain(all, t => t.Layer == 62);
    }

    [Theory]
    [InlineData("model.layers.0.self_attn.q_a_proj.weight_scale_inv", 12, 56)]
    [InlineData("model.layers.0.self_attn.q_b_proj.weight_scale_inv", 192, 12)]
    [InlineData("model.layers.0.self_attn.kv_a_proj_with_mqa.weight_scale_inv", 5, 56)]
    [InlineData("model.layers.0.self_attn.kv_b_proj.weight_scale_inv", 256, 4)]
    [InlineData("model.layers.0.self_attn.o_proj.weight_scale_inv", 56, 128)]
    [InlineData("model.layers.0.mlp.gate_proj.weight_scale_inv", 144, 56)]
    [InlineData("model.layers.0.mlp.down_proj.weight_scale_inv", 56, 144)]
    [InlineData("model.layers.3.mlp.experts.255.up_proj.weight_scale_inv", 16, 56)]
    [InlineData("model.layers.61.mlp.shared_experts.down_proj.weight_scale_inv", 56, 16)]
    public void ScaleTensors_671B_HaveCeilBlockShapes(string name, int rows, int columns)
    {
        var scale = Assert.Single(ParameterShapes.ScaleTensors(V3), t => t.Name == name);
        Assert.Equal([rows, columns], scale.Shape);
    }

    [Theory]
    [InlineData("model.embed_tokens.weight")]
    [InlineData("lm_head.weight")]
    [InlineData("model.layers.3.mlp.gate.weight")]
    [InlineData("model.layers.3.mlp.gate.e_score_correction_bias")]
    [InlineData("model.layers.61.eh_proj.weight")]
    [InlineData("model.layers.61.shared_head.head.weight")]
    [InlineData("model.layers.0.input_layernorm.weight")]
    public void ScaleTensors_SkipTheTensorsTheReleaseKeepsInBf16OrF32(string weight)
    {
        Assert.Contains(ParameterShapes.For(V3), t => t.Name == weight && !t.IsFp8);
        Assert.DoesNotContain(ParameterShapes.ScaleTensors(V3), t => t.Name.StartsWith(weight[..^"weight".Length], StringComparison.Ordinal)
            && t.Name.EndsWith("weight_scale_inv", StringComparison.Ordinal) && t.Name.Length == weight.Length + "_scale_inv".Length);
    }

    [Fact]
    public void Count_16B_IsV2LitesPublished15Point7BAnd2Point4B()
    {
        var n = ParameterShapes.Count(ModelConfig.LoadPreset("16B"));
        Assert.InRange(n.Total, 15_700_000_000, 15_800_000_000);
        Assert.InRange(n.ActivatedWithoutEmbedding, 2_400_000_000, 2_500_000_000);
        Assert.Equal(0, n.Mtp.Total);
        Assert.Contains(ParameterShapes.For(ModelConfig.LoadPreset("16B")), t => t.Name == "model.layers.5.self_attn.q_proj.weight" && t.Shape.SequenceEqual([16 * 192, 2048]));
    }

    [Fact]
    public void Presets_HitTheirSizeTargets()
    {
        var tiny = ParameterShapes.Count(ModelConfig.LoadPreset("tiny"));
        Assert.InRange(tiny.StoredWeights, 1, 999_999);
        var small = ParameterShapes.Count(ModelConfig.LoadPreset("small"));
        Assert.InRange(small.Total, 10_000_000, 30_000_000);
        Assert.InRange(small.Activated, 3_000_000, 8_000_000);
    }

    [Fact]
    public void TieWordEmbeddings_DropsTheHead()
    {
        var tiny = ModelConfig.LoadPreset("tiny");
        var tied = ParameterShapes.Count(tiny with { TieWordEmbeddings = true });
        Assert.Equal(ParameterShapes.Count(tiny).Total - 256 * 32, tied.Total);
        Assert.Equal(0, tied.Main.Head);
    }

    [Fact]
    public void MoeLayerFreq_MakesOddLayersDense()
    {
        var c = ModelConfig.LoadPreset("tiny") with { NumHiddenLayers = 4, FirstKDenseReplace = 0, MoeLayerFreq = 2 };
        var names = ParameterShapes.For(c).Select(t => t.Name).ToHashSet();
        Assert.Contains("model.layers.0.mlp.gate.weight", names);
        Assert.Contains("model.layers.1.mlp.gate_proj.weight", names);
        Assert.Contains("model.layers.2.mlp.experts.7.down_proj.weight", names);
        Assert.Contains("model.layers.4.mlp.gate.weight", names); // the MTP block, layer 4, is MoE
    }

    [Fact]
    public void KvCache_671B_MlaIs71TimesSmallerThanMha()
    {
        var kv = KvCacheSize.For(V3);
        Assert.Equal(61 * (512 + 64), kv.MlaElementsPerToken);
        Assert.Equal(61L * 128 * (192 + 128), kv.MhaElementsPerToken);
        Assert.Equal(70_272, kv.MlaBytesPerToken(2));
        Assert.Equal(9_994_240, kv.MhaBytesPerToken(4));
        Assert.Equal(71.11, kv.Ratio, 2);
    }

    // ML.NET-style approval: the (name, shape) list of tiny.json is committed; a change to it must be deliberate.
    [Fact]
    public void Tiny_NamesAndShapesMatchTheApprovedList()
    {
        var received = string.Join("\n", ParameterShapes.For(ModelConfig.LoadPreset("tiny")).Select(t => t.ToString())) + "\n";
        var approvedPath = Repo.Data("tiny.parameters.approved.txt");
        var approved = File.Exists(approvedPath) ? File.ReadAllText(approvedPath) : "";
        if (received != approved)
        {
            var receivedPath = Path.Combine(AppContext.BaseDirectory, "tiny.parameters.received.txt");
            File.WriteAllText(receivedPath, received);
            Assert.Fail($"tiny.json's tensors differ from tests/data/tiny.parameters.approved.txt; if the change is intended, copy {receivedPath} over it");
        }
    }

    [Theory]
    [InlineData("tiny")]
    [InlineData("small")]
    [InlineData("16B")]
    [InlineData("671B")]
    public void Footprint_EqualsTheEnumeratedInventory(string preset)
    {
        var c = ModelConfig.LoadPreset(preset);
        ModelConfig[] variants =
        [
            c, c with { QLoraRank = null }, c with { TieWordEmbeddings = true }, c with { NumNextnPredictLayers = 0 }, c with { NumNextnPredictLayers = 2 },
            c with { MoeLayerFreq = 2 }, c with { FirstKDenseReplace = 0 }, c with { SharedExperts = 0 }, c with { SharedExperts = 2, TopKMethod = "greedy" },
        ];
        foreach (var v in variants)
        {
            var shapes = ParameterShapes.For(v);
            Assert.Equal(shapes.Count, ModelFootprint.Tensors(v));
            Assert.Equal(shapes.Sum(t => t.Elements), ModelFootprint.Parameters(v));
            Assert.Equal(shapes.Where(t => Checkpoint.WeightNames.SharedAlias(v, t.Name) is null).Sum(t => t.Elements), ModelFootprint.UniqueParameters(v));
        }
    }

    // The 671B config enumerates (info needs it) and fits a machine with enough memory; with less it is refused.
    [Fact]
    public void EnsureFits_ComparesTheWeightsWithTheMemoryGiven()
    {
        var bytes = (long)ModelFootprint.UniqueParameters(V3) * 4;
        ModelFootprint.EnsureFits(V3, 4, availableBytes: bytes);
        var e = Assert.Throws<InvalidDataException>(() => ModelFootprint.EnsureFits(V3, 4, "671B.json", availableBytes: bytes - 1));
        Assert.StartsWith("671B.json: the model has 6.83E+11 parameters, which need 2.7 TB at 4 bytes each, but this process can use 2.7 TB", e.Message, StringComparison.Ordinal);
        Assert.Contains("num_hidden_layers = 61", e.Message, StringComparison.Ordinal);
    }

    // The campaign's configs ran to ~11 GB before failing; now the arithmetic refuses them, allocating next to nothing.
    [Theory]
    [InlineData(1_000_000, 8, "num_hidden_layers = 1000000")]
    [InlineData(3, 1_000_000_000, "n_routed_experts = 1000000000")]
    public void HugeConfig_RefusedBeforeAnythingIsAllocated(int layers, int experts, string field)
    {
        var c = ModelConfig.LoadPreset("tiny") with { NumHiddenLayers = layers, RoutedExperts = experts };
        c.Validate();
        var before = GC.GetAllocatedBytesForCurrentThread();
        var fits = Assert.Throws<InvalidDataException>(() => ModelFootprint.EnsureFits(c, 4));
        var weights = Assert.Throws<InvalidDataException>(() => new ModelWeights(c));
        var shapes = Assert.Throws<InvalidDataException>(() => ParameterShapes.For(c));
        var count = Assert.Throws<InvalidDataException>(() => ParameterShapes.Count(c));
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 1_000_000);
        foreach (var e in new[] { fits, weights })
        {
            Assert.Contains("this process can use", e.Message, StringComparison.Ordinal);
            Assert.Contains(field, e.Message, StringComparison.Ordinal);
        }
        Assert.Contains(field, shapes.Message, StringComparison.Ordinal);
        Assert.Contains($"expected at most {ModelFootprint.MaxTensors:N0}", count.Message, StringComparison.Ordinal);
    }
}
