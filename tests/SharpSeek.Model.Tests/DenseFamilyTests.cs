// DenseFamilyTests.cs: the qwen2/llama family seam: the published DeepSeek-R1-Distill configs load as they are with their
// published parameter counts, absent keys take the family's HF defaults and are reported, a dense config saves without
// the DeepSeek-only keys, bad values name their field and both numbers, the Llama-3 RoPE bands, the parameter table
// against the layer objects (biases where the family has them, tied heads) and ModelFootprint's arithmetic counts.
using System.Text.Json.Nodes;
using SharpSeek.Model.Layers;

namespace SharpSeek.Model.Tests;

public sealed class DenseFamilyTests
{
    private static string Published(string name) => Path.Combine(Repo.Root, "tests", "data", "reference", "published", name, "config.json");

    private static string Tiny(string variant) => Path.Combine(GoldenReferenceTests.VariantDir(variant), "config.json");

    private static ModelConfig Edited(string path, Action<JsonObject> edit)
    {
        var node = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(node);
        return ModelConfig.Parse(node.ToJsonString(), "edited");
    }

    [Theory]
    [InlineData("DeepSeek-R1-Distill-Qwen-1.5B", ModelFamily.Qwen2, 1_777_088_000L, 12, 2, 128)]
    [InlineData("DeepSeek-R1-Distill-Qwen-7B", ModelFamily.Qwen2, 7_615_616_512L, 28, 4, 128)]
    [InlineData("DeepSeek-R1-Distill-Llama-8B", ModelFamily.Llama, 8_030_261_248L, 32, 8, 128)]
    public void PublishedDistillConfigs_LoadWithoutConversion(string name, ModelFamily family, long parameters, int heads, int kvHeads, int headDim)
    {
        var c = ModelConfig.Load(Published(name));
        Assert.Equal(family, c.Family);
        Assert.True(c.IsDense);
        Assert.Equal((heads, kvHeads, headDim), (c.NumAttentionHeads, c.NumKeyValueHeads, c.AttentionHeadDim));
        Assert.Empty(c.UnknownKeys);
        Assert.Empty(c.DefaultedKeys);
        Assert.Equal(0, c.MtpDepth);
        Assert.Equal(parameters, ParameterShapes.Count(c).Main.Total);
        Assert.Equal(parameters, ParameterShapes.Count(c).MainActivated.Total);
    }

    [Fact]
    public void Qwen2_HasQkvBiasOnly_AndATiedHeadWhenAsked()
    {
        var c = ModelConfig.Load(Tiny("qwen2_f32"));
        var names = ParameterShapes.For(c).Select(s => s.Name).ToHashSet();
        Assert.Contains("model.layers.0.self_attn.q_proj.bias", names);
        Assert.Contains("model.layers.1.self_attn.v_proj.bias", names);
        Assert.DoesNotContain("model.layers.0.self_attn.o_proj.bias", names);
        Assert.DoesNotContain("model.layers.0.mlp.up_proj.bias", names);
        Assert.DoesNotContain("lm_head.weight", names);
        using var weights = new ModelWeights(c);
        var attention = Assert.IsType<Gqa>(weights.Layers[1].Attention);
        Assert.Same(weights.Get("model.layers.1.self_attn.k_proj.bias"), attention.K.Bias);
        Assert.Null(attention.O.Bias);
        Assert.Same(weights.Embedding, weights.Head.Weight);
        Assert.Empty(weights.Mtp);
    }

    [Fact]
    public void Llama_BiasesFollowAttentionBiasAndMlpBias()
    {
        var c = Edited(Tiny("llama_f32"), n => { n["attention_bias"] = true; n["mlp_bias"] = true; });
        var names = ParameterShapes.For(c).Select(s => s.Name).ToHashSet();
        foreach (var p in new[] { "q_proj", "k_proj", "v_proj", "o_proj" }) { Assert.Contains($"model.layers.0.self_attn.{p}.bias", names); }
        foreach (var p in new[] { "gate_proj", "up_proj", "down_proj" }) { Assert.Contains($"model.layers.1.mlp.{p}.bias", names); }
        Assert.Contains("lm_head.weight", names);
        using var weights = new ModelWeights(c);
        weights.InitializeRandom(seed: 1);
        Assert.All(weights.Unique.Where(p => p.Name.EndsWith(".bias", StringComparison.Ordinal)), p => Assert.Equal(0f, p.Value.AsSpan<float>()[0]));
    }

    [Fact]
    public void AbsentKeys_TakeTheFamilysHfDefaults_AndAreReported()
    {
        var qwen = Edited(Tiny("qwen2_f32"), n => { n.Remove("vocab_size"); n.Remove("max_position_embeddings"); n.Remove("eos_token_id"); n.Remove("bos_token_id"); });
        Assert.Equal((151936, 32768), (qwen.VocabSize, qwen.MaxPositionEmbeddings));
        Assert.Equal(["max_position_embeddings", "vocab_size"], qwen.DefaultedKeys.Select(k => k.Key).Order(StringComparer.Ordinal));
        Assert.Null(qwen.EosTokenId);

        // LlamaConfig: num_key_value_heads absent means MHA
        var llama = Edited(Tiny("llama_f32"), n => n.Remove("num_key_value_heads"));
        Assert.Equal(llama.NumAttentionHeads, llama.NumKeyValueHeads);
        Assert.Contains(llama.DefaultedKeys, k => k.Key == "num_key_value_heads" && k.Value == "4");

        // DeepSeek: the 671B values, now said out loud
        var tiny = Edited(Repo.Config("tiny.json"), n => { n.Remove("topk_group"); n["n_group"] = 4; });
        Assert.Equal(4, tiny.TopKGroups);
        Assert.Equal([new KeyValuePair<string, string>("topk_group", "4")], tiny.DefaultedKeys);
    }

    [Fact]
    public void DenseConfig_SavesWithoutDeepSeekKeys_AndRoundTrips()
    {
        var c = ModelConfig.Load(Published("DeepSeek-R1-Distill-Qwen-1.5B"));
        var json = JsonNode.Parse(c.ToJson())!.AsObject();
        foreach (var key in ModelFamilies.DeepSeekOnlyKeys) { Assert.False(json.ContainsKey(key), $"a qwen2 config.json should not hold '{key}'"); }
        Assert.Equal(c, ModelConfig.Parse(c.ToJson()));
        var original = JsonNode.Parse(File.ReadAllText(Published("DeepSeek-R1-Distill-Qwen-1.5B")))!.AsObject();
        Assert.Equal(original.Select(p => p.Key).Order(StringComparer.Ordinal), json.Select(p => p.Key).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void EosTokenIdList_TakesTheFirst_AndSavesTheList_NullKvHeadsIsTheDefault()
    {
        var c = Edited(Published("DeepSeek-R1-Distill-Llama-8B"), n =>
        {
            n["eos_token_id"] = new JsonArray(128001, 128008, 128009);
            n["num_key_value_heads"] = null;
        });
        Assert.Equal(128001, c.EosTokenId);
        Assert.Equal([128001, 128008, 128009], c.EosTokenIds!);
        Assert.Equal(32, c.NumKeyValueHeads); // LlamaConfig: None → num_attention_heads
        Assert.Equal("[128001,128008,128009]", JsonNode.Parse(c.ToJson())!["eos_token_id"]!.ToJsonString());
        Assert.Equal(c, ModelConfig.Parse(c.ToJson()));
    }

    [Fact]
    public void ACheckpointThatContradictsItsConfig_NamesTheDenseField()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"sharpseek-dense-mismatch-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            foreach (var f in Directory.GetFiles(GoldenReferenceTests.VariantDir("llama_f32"))) { File.Copy(f, Path.Combine(dir, Path.GetFileName(f))); }
            var node = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
            node["intermediate_size"] = 80;
            File.WriteAllText(Path.Combine(dir, "config.json"), node.ToJsonString());
            using var checkpoint = Checkpoint.CheckpointDirectory.Open(dir);
            var cause = Checkpoint.ConfigMismatch.Cause(checkpoint, checkpoint.Config);
            Assert.StartsWith("config.json has intermediate_size = 80, but the tensors say 48", cause, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("num_key_value_heads", 3, "config field 'num_key_value_heads' = 3: expected a divisor of num_attention_heads (4)")]
    [InlineData("model_type", "mistral", "config field 'model_type' = \"mistral\": expected one of \"deepseek_v3\", \"qwen2\", \"llama\"")]
    [InlineData("use_sliding_window", true, "config field 'use_sliding_window' = True")]
    [InlineData("head_dim", 7, "config field 'head_dim' = 7")]
    [InlineData("hidden_act", "gelu", "config field 'hidden_act' = \"gelu\"")]
    [InlineData("partial_rotary_factor", 0.5, "config field 'partial_rotary_factor' = 0.5")]
    public void BadValues_NameTheFieldAndBothValues(string key, object value, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => Edited(Tiny("qwen2_f32"), n => n[key] = JsonValue.Create(value)));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("qwen2_f32", false, false)]
    [InlineData("llama_f32", false, false)]
    [InlineData("llama_f32", true, true)]
    public void Footprint_EqualsTheEnumeratedInventory(string variant, bool attentionBias, bool mlpBias)
    {
        var c = Edited(Tiny(variant), n => { n["attention_bias"] = attentionBias; n["mlp_bias"] = mlpBias; });
        var shapes = ParameterShapes.For(c);
        Assert.Equal(shapes.Count, ModelFootprint.Tensors(c));
        Assert.Equal(shapes.Sum(t => t.Elements), ModelFootprint.Parameters(c));
        Assert.Equal(ModelFootprint.Parameters(c), ModelFootprint.UniqueParameters(c));
        var huge = Edited(Tiny(variant), n => n["num_hidden_layers"] = 1_000_000_000);
        var e = Assert.Throws<InvalidDataException>(() => new ModelWeights(huge));
        Assert.Contains("num_hidden_layers = 1000000000", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DenseYarn_IsRefusedUntilTheReferenceCoversIt()
    {
        var e = Assert.Throws<InvalidDataException>(() => Edited(Tiny("qwen2_f32"), n => n["rope_scaling"] = new JsonObject { ["rope_type"] = "yarn", ["factor"] = 4.0 }));
        Assert.Contains("config field 'rope_scaling.rope_type' = \"yarn\": expected one of \"default\", \"llama3\"", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Llama3Rope_KeepsInterpolatesAndDividesTheRightBands()
    {
        // DeepSeek-R1-Distill-Llama-8B: d = 128, θ = 500000, factor 8, bands over original 8192 / {1, 4}
        var c = ModelConfig.Load(Published("DeepSeek-R1-Distill-Llama-8B"));
        var scaled = RopeTables.InverseFrequenciesFor(c);
        var plain = RopeTables.InverseFrequenciesFor(c with { RopeScaling = null });
        Assert.Equal(64, scaled.Length);
        for (var i = 0; i < 64; i++)
        {
            if (i <= 28) { Assert.Equal(plain[i], scaled[i]); }
            else if (i >= 35) { Assert.Equal(plain[i] / 8f, scaled[i]); }
            else { Assert.InRange(scaled[i], plain[i] / 8f * 1.0001f, plain[i] * 0.9999f); }
        }
    }
}
