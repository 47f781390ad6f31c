// ModelConfigTests.cs: config.json reading and writing (round trip, unknown keys, both rope spellings, q_lora_rank null/0),
// presets, every validation rule naming its field, and a key given twice naming the file and the key. Not here: parameter counts (ParameterShapesTests).
using System.Text.Json.Nodes;

namespace SharpSeek.Model.Tests;

public sealed class ModelConfigTests
{
    private static ModelConfig Tiny => ModelConfig.LoadPreset("tiny");

    // A config.json text with some keys changed (null removes the key).
    private static string Edit(string path, Action<JsonObject> edit)
    {
        var node = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(node);
        return node.ToJsonString();
    }

    [Fact]
    public void Load_671B_ReadsEveryOfficialValue()
    {
        var c = ModelConfig.Load(Repo.Config("config_671B.json"));
        Assert.Equal((129280, 7168, 18432, 2048, 61, 1, 3), (c.VocabSize, c.HiddenSize, c.IntermediateSize, c.MoeIntermediateSize, c.NumHiddenLayers, c.NumNextnPredictLayers, c.FirstKDenseReplace));
        Assert.Equal((128, 1536, 512, 128, 64, 128), (c.NumAttentionHeads, c.QLoraRank, c.KvLoraRank, c.QkNopeHeadDim, c.QkRopeHeadDim, c.VHeadDim));
        Assert.Equal((256, 1, 8, 8, 4), (c.RoutedExperts, c.SharedExperts, c.ExpertsPerToken, c.ExpertGroups, c.TopKGroups));
        Assert.Equal(("noaux_tc", "sigmoid", 2.5, 0.001), (c.TopKMethod, c.ScoringFunc, c.RoutedScalingFactor, c.AuxLossAlpha));
        Assert.Equal(RouterStyle.DeepSeekV3, c.Router);
        Assert.True(c.UsesQLora);
        Assert.True(c.UsesYarn);
        Assert.Equal((40.0, 4096, 32.0, 1.0, 1.0, 1.0), (c.RopeScaling!.Factor, c.RopeScaling.OriginalMaxPositionEmbeddings, c.RopeScaling.BetaFast, c.RopeScaling.BetaSlow, c.RopeScaling.Mscale, c.RopeScaling.MscaleAllDim));
        Assert.Equal([128, 128], c.QuantizationConfig!.WeightBlockSize);
        Assert.Equal((1e-6, 163840, 10000.0), (c.RmsNormEps, c.MaxPositionEmbeddings, c.RopeTheta));
        Assert.Empty(c.UnknownKeys);
    }

    [Fact]
    public void Load_16B_IsTheV2LiteShape()
    {
        var c = ModelConfig.LoadPreset("16B");
        Assert.Null(c.QLoraRank);
        Assert.False(c.UsesQLora);
        Assert.Equal(RouterStyle.DeepSeekV2, c.Router);
        Assert.False(c.HasCorrectionBias);
        Assert.Equal(("softmax", 64, 2, 6, 1), (c.ScoringFunc, c.RoutedExperts, c.SharedExperts, c.ExpertsPerToken, c.ExpertGroups));
        Assert.Equal(0.707, c.RopeScaling!.MscaleAllDim);
    }

    [Theory]
    [InlineData("tiny")]
    [InlineData("small")]
    [InlineData("16B")]
    [InlineData("671B")]
    public void Preset_EmbeddedCopyEqualsTheFileInConfigs(string name)
    {
        var file = File.Exists(Repo.Config($"{name}.json")) ? Repo.Config($"{name}.json") : Repo.Config($"config_{name}.json");
        Assert.Equal(ModelConfig.Load(file), ModelConfig.LoadPreset(name));
    }

    [Fact]
    public void LoadPreset_UnknownName_ListsThePresets()
    {
        var e = Assert.Throws<FileNotFoundException>(() => ModelConfig.LoadPreset("no-such-preset"));
        Assert.Contains("tiny", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tiny")]
    [InlineData("16B")]
    [InlineData("671B")]
    public void SaveThenLoad_GivesAnEqualConfig(string preset)
    {
        var c = ModelConfig.LoadPreset(preset);
        var path = Path.Combine(Path.GetTempPath(), $"sharpseek-config-{Guid.NewGuid():N}.json");
        try
        {
            c.Save(path);
            var back = ModelConfig.Load(path);
            Assert.Equal(c, back);
            Assert.Equal(c.ToJson(), back.ToJson());
            Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}*"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Equality_SeesAChangedField()
    {
        Assert.NotEqual(Tiny, Tiny with { KvLoraRank = 8 });
        Assert.NotEqual(Tiny, Tiny with { RopeScaling = Tiny.RopeScaling! with { Factor = 2 } });
    }

    [Fact]
    public void UnknownKeys_AreReportedAndSurviveTheRoundTrip()
    {
        var json = Edit(Repo.Config("tiny.json"), n =>
        {
            n["my_new_key"] = new JsonArray(1, 2);
            n["rope_scaling"]!["extra_rope_key"] = "x";
            n["quantization_config"] = new JsonObject { ["quant_method"] = "fp8", ["weight_block_size"] = new JsonArray(128, 128), ["scale_fmt"] = "ue8m0" };
        });
        var c = ModelConfig.Parse(json);
        Assert.Equal(["my_new_key", "rope_scaling.extra_rope_key", "quantization_config.scale_fmt"], c.UnknownKeys);
        var back = ModelConfig.Parse(c.ToJson());
        Assert.Equal(c, back);
        Assert.Equal(c.UnknownKeys, back.UnknownKeys);
        Assert.Equal("[1,2]", JsonNode.Parse(back.ToJson())!["my_new_key"]!.ToJsonString());
    }

    [Fact]
    public void ToJson_WritesHfKeysSorted()
    {
        var node = JsonNode.Parse(Tiny.ToJson())!.AsObject();
        var keys = node.Select(p => p.Key).ToList();
        Assert.Equal(keys.Order(StringComparer.Ordinal), keys);
        Assert.Equal(8, (int)node["n_routed_experts"]!);
        Assert.Equal(16, (int)node["kv_lora_rank"]!);
        Assert.Equal("yarn", (string)node["rope_scaling"]!["type"]!);
    }

    [Fact]
    public void RopeParameters_V5Spelling_ReadsLikeRopeScalingAndKeepsItsSpelling()
    {
        var v5 = Edit(Repo.Config("config_671B.json"), n =>
        {
            var rope = n["rope_scaling"]!.AsObject();
            n.Remove("rope_scaling");
            rope.Remove("type");
            rope["rope_type"] = "yarn";
            rope["rope_theta"] = 50000;
            n.Remove("rope_theta");
            n["rope_parameters"] = rope;
        });
        var c = ModelConfig.Parse(v5);
        var old = ModelConfig.LoadPreset("671B");
        Assert.True(c.UsesYarn);
        Assert.Equal(old.RopeScaling!.Factor, c.RopeScaling!.Factor);
        Assert.Equal(old.RopeScaling.MscaleAllDim, c.RopeScaling.MscaleAllDim);
        Assert.Equal(50000, c.RopeTheta);
        Assert.True(c.RopeParametersSpelling);
        var written = JsonNode.Parse(c.ToJson())!.AsObject();
        Assert.True(written.ContainsKey("rope_parameters"));
        Assert.False(written.ContainsKey("rope_scaling"));
        Assert.Equal(c, ModelConfig.Parse(c.ToJson()));
    }

    [Fact]
    public void RopeScaling_NullMeansPlainRope()
    {
        var c = ModelConfig.LoadPreset("small");
        Assert.Null(c.RopeScaling);
        Assert.False(c.UsesYarn);
        Assert.Contains("\"rope_scaling\": null", c.ToJson(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("null", null, false)]
    [InlineData("0", 0, false)]
    [InlineData("24", 24, true)]
    public void QLoraRank_NullOrZeroSelectsQProj(string value, int? expected, bool usesQLora)
    {
        var c = ModelConfig.Parse(Edit(Repo.Config("tiny.json"), n => n["q_lora_rank"] = JsonNode.Parse(value)));
        Assert.Equal(expected, c.QLoraRank);
        Assert.Equal(usesQLora, c.UsesQLora);
        var names = ParameterShapes.For(c).Select(t => t.Name).ToList();
        Assert.Equal(usesQLora, names.Contains("model.layers.0.self_attn.q_a_proj.weight"));
        Assert.Equal(!usesQLora, names.Contains("model.layers.0.self_attn.q_proj.weight"));
        Assert.Equal(c, ModelConfig.Parse(c.ToJson()));
    }

    [Fact]
    public void Parse_WrongJsonType_NamesTheField()
    {
        var e = Assert.Throws<InvalidDataException>(() => ModelConfig.Parse(Edit(Repo.Config("tiny.json"), n => n["kv_lora_rank"] = "wide")));
        Assert.Contains("kv_lora_rank", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_InvalidFile_FailsBeforeReturning()
    {
        var path = Path.Combine(Path.GetTempPath(), $"sharpseek-bad-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, Edit(Repo.Config("tiny.json"), n => n["n_group"] = 3));
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => ModelConfig.Load(path));
            Assert.Contains("'n_group' = 3", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    // A key given twice (top level or nested) is refused naming the file and the key, never one value silently winning.
    [Theory]
    [InlineData("\"hidden_size\": 32,", "\"hidden_size\": 7168, \"hidden_size\": 32,", "hidden_size")]
    [InlineData("\"beta_fast\": 32,", "\"beta_fast\": 32, \"beta_fast\": 16,", "beta_fast")]
    public void Load_DuplicateKey_NamesTheFileAndTheKey(string find, string replace, string key)
    {
        var path = Path.Combine(Path.GetTempPath(), $"sharpseek-dup-{Guid.NewGuid():N}.json");
        var text = File.ReadAllText(Repo.Config("tiny.json"));
        Assert.Contains(find, text, StringComparison.Ordinal);
        File.WriteAllText(path, text.Replace(find, replace, StringComparison.Ordinal));
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => ModelConfig.Load(path));
            Assert.Contains(path, e.Message, StringComparison.Ordinal);
            Assert.Contains($"'{key}'", e.Message, StringComparison.Ordinal);
            Assert.Contains("uplicate", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    public static TheoryData<string, string> InvalidConfigs => new()
    {
        // keys to overwrite in tiny.json, text the message must contain (the field and the expected range)
        { "{\"kv_lora_rank\": 0}", "'kv_lora_rank' = 0: expected > 0" },
        { "{\"kv_lora_rank\": -4}", "'kv_lora_rank' = -4: expected > 0" },
        { "{\"vocab_size\": 0}", "'vocab_size' = 0" },
        { "{\"hidden_size\": -1}", "'hidden_size' = -1" },
        { "{\"intermediate_size\": 0}", "'intermediate_size' = 0" },
        { "{\"moe_intermediate_size\": 0}", "'moe_intermediate_size' = 0" },
        { "{\"num_hidden_layers\": 0}", "'num_hidden_layers' = 0" },
        { "{\"num_attention_heads\": 0}", "'num_attention_heads' = 0" },
        { "{\"v_head_dim\": 0}", "'v_head_dim' = 0" },
        { "{\"qk_nope_head_dim\": -1}", "'qk_nope_head_dim' = -1" },
        { "{\"q_lora_rank\": -1}", "'q_lora_rank' = -1" },
        { "{\"num_nextn_predict_layers\": -1}", "'num_nextn_predict_layers' = -1" },
        { "{\"qk_rope_head_dim\": 5}", "'qk_rope_head_dim' = 5: expected an even number" },
        { "{\"qk_rope_head_dim\": 0}", "'qk_rope_head_dim' = 0" },
        { "{\"num_experts_per_tok\": 9}", "'num_experts_per_tok' = 9: expected in [1, n_routed_experts = 8]" },
        { "{\"num_experts_per_tok\": 0}", "'num_experts_per_tok' = 0" },
        { "{\"n_group\": 3}", "'n_group' = 3: expected a divisor of n_routed_experts (8)" },
        { "{\"n_group\": 0}", "'n_group' = 0" },
        { "{\"n_group\": 8}", "'n_group' = 8: expected at most n_routed_experts / 2" },
        { "{\"topk_group\": 5}", "'topk_group' = 5: expected in [1, n_group = 4]" },
        { "{\"topk_group\": 1, \"num_experts_per_tok\": 3}", "'num_experts_per_tok' = 3: expected at most topk_group × experts per group = 1 × 2 = 2" },
        { "{\"n_routed_experts\": 0}", "'n_routed_experts' = 0" },
        { "{\"n_shared_experts\": -1}", "'n_shared_experts' = -1" },
        { "{\"first_k_dense_replace\": 4}", "'first_k_dense_replace' = 4: expected in [0, num_hidden_layers = 3]" },
        { "{\"moe_layer_freq\": 0}", "'moe_layer_freq' = 0" },
        { "{\"scoring_func\": \"relu\"}", "'scoring_func' = \"relu\": expected one of \"sigmoid\", \"softmax\"" },
        { "{\"topk_method\": \"random\"}", "'topk_method' = \"random\"" },
        { "{\"hidden_act\": \"gelu\"}", "'hidden_act' = \"gelu\": expected \"silu\"" },
        { "{\"routed_scaling_factor\": 0}", "'routed_scaling_factor' = 0" },
        { "{\"aux_loss_alpha\": -0.1}", "'aux_loss_alpha' = -0.1" },
        { "{\"rms_norm_eps\": 0}", "'rms_norm_eps' = 0" },
        { "{\"rope_theta\": -1}", "'rope_theta' = -1" },
        { "{\"max_position_embeddings\": 0}", "'max_position_embeddings' = 0" },
        { "{\"attention_bias\": true}", "'attention_bias' = True" },
        { "{\"attention_dropout\": 1.5}", "'attention_dropout' = 1.5" },
        { "{\"head_dim\": 8}", "'head_dim' = 8: expected qk_rope_head_dim (4)" },
        { "{\"qk_head_dim\": 13}", "'qk_head_dim' = 13: expected qk_nope_head_dim + qk_rope_head_dim (12)" },
        { "{\"eos_token_id\": 256}", "'eos_token_id' = 256: expected in [0, vocab_size = 256)" },
        { "{\"ep_size\": 0}", "'ep_size' = 0" },
        { "{\"initializer_range\": 0}", "'initializer_range' = 0" },
        { "{\"quantization_config\": {\"weight_block_size\": [128]}}", "'quantization_config.weight_block_size' = [128]" },
    };

    [Theory]
    [MemberData(nameof(InvalidConfigs))]
    public void Validate_ImpossibleConfig_NamesTheFieldAndTheRange(string edits, string expected)
    {
        var json = Edit(Repo.Config("tiny.json"), n =>
        {
            foreach (var (key, value) in JsonNode.Parse(edits)!.AsObject()) { n[key] = value?.DeepClone(); }
        });
        var e = Assert.Throws<InvalidDataException>(() => ModelConfig.Parse(json));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("type", "\"linear\"", "'rope_scaling.type' = \"linear\"")]
    [InlineData("factor", "0.5", "'rope_scaling.factor' = 0.5")]
    [InlineData("original_max_position_embeddings", "0", "'rope_scaling.original_max_position_embeddings' = 0")]
    [InlineData("beta_slow", "64", "'rope_scaling.beta_slow' = 64: expected ≤ beta_fast (32)")]
    [InlineData("mscale_all_dim", "-1", "'rope_scaling.mscale_all_dim' = -1")]
    [InlineData("rope_type", "\"default\"", "'rope_scaling.rope_type' = \"default\": expected the same as rope_scaling.type")]
    public void Validate_BadRopeScaling_NamesTheNestedField(string key, string value, string expected)
    {
        var json = Edit(Repo.Config("tiny.json"), n => n["rope_scaling"]![key] = JsonNode.Parse(value));
        var e = Assert.Throws<InvalidDataException>(() => ModelConfig.Parse(json));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_GreedyRouterIgnoresGroupReachability()
    {
        // V2 greedy top-k ignores groups, so 1 of 4 groups with top-3 is a valid V2 config.
        var c = Tiny with { TopKMethod = "greedy", ScoringFunc = "softmax", TopKGroups = 1, ExpertsPerToken = 3 };
        c.Validate();
        Assert.Equal(RouterStyle.DeepSeekV2, c.Router);
        Assert.DoesNotContain(ParameterShapes.For(c), t => t.Name.EndsWith("e_score_correction_bias", StringComparison.Ordinal));
    }

    [Fact]
    public void Presets_AreValid()
    {
        foreach (var name in ModelConfig.PresetNames) { ModelConfig.LoadPreset(name).Validate(); }
    }
}
