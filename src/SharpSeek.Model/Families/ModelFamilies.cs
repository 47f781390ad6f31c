// ModelFamilies.cs: model_type → family, the seam that hands each config to its family's three parts (rules,
// parameter table, layer builder), and each family's Hugging Face defaults for the keys a config.json may leave out
// (the values of `DeepseekV3Config`, `Qwen2Config` and `LlamaConfig` in huggingface/transformers:src/transformers/
// models/{deepseek_v3,qwen2,llama}/configuration_*.py), which parsing fills in and reports. Not here: the parts
// themselves (DeepSeekV3Family.cs, DenseFamily.cs). Tested by DenseFamilyTests and ModelConfigTests.
using System.Text.Json.Nodes;
using SharpSeek.Model.Layers;

namespace SharpSeek.Model;

public static class ModelFamilies
{
    /// <summary>The model_type names, in the order error messages list them.</summary>
    public static IReadOnlyList<string> ModelTypes { get; } = ["deepseek_v3", "qwen2", "llama"];

    /// <summary>The keys only DeepSeek-V3 has (MLA, MoE, MTP); a dense config neither needs nor writes them.</summary>
    public static IReadOnlyList<string> DeepSeekOnlyKeys { get; } =
    [
        "moe_intermediate_size", "num_nextn_predict_layers", "first_k_dense_replace", "moe_layer_freq", "q_lora_rank", "kv_lora_rank",
        "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim", "n_routed_experts", "n_shared_experts", "num_experts_per_tok", "n_group",
        "topk_group", "topk_method", "scoring_func", "norm_topk_prob", "routed_scaling_factor", "seq_aux", "aux_loss_alpha", "ep_size",
        "rope_interleave", "qk_head_dim",
    ];

    /// <summary>The family of a model_type; throws naming the field, the value and the known names.</summary>
    public static ModelFamily Of(string modelType) => modelType switch
    {
        "deepseek_v3" => ModelFamily.DeepSeekV3,
        "qwen2" => ModelFamily.Qwen2,
        "llama" => ModelFamily.Llama,
        _ => throw new InvalidDataException($"config field 'model_type' = \"{modelType}\": expected one of {string.Join(", ", ModelTypes.Select(t => $"\"{t}\""))}"),
    };

    /// <summary>The family's config rules: throws <see cref="InvalidDataException"/> naming the field, its value and what was expected.</summary>
    public static void Validate(ModelConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        if (c.IsDense) { DenseFamily.Validate(c); } else { DeepSeekV3Family.Validate(c); }
    }

    /// <summary>The family's parameter table: every tensor's HF name, shape and component, in checkpoint order.</summary>
    public static IReadOnlyList<ParameterShape> Parameters(ModelConfig c) =>
        c.IsDense ? DenseFamily.Parameters(c) : DeepSeekV3Family.Parameters(c);

    /// <summary>The family's decoder layer <paramref name="layer"/>, its parameters looked up by HF name.</summary>
    public static Block Block(ModelConfig c, int layer, Func<string, Parameter> get) =>
        c.IsDense ? DenseFamily.Block(c, layer, get) : DeepSeekV3Family.Block(c, layer, get);

    /// <summary>
    /// Fills the keys <paramref name="node"/> lacks with the family's HF defaults. Returns the ones that change the model
    /// (reported as a warning); keys that only name the architecture are filled silently.
    /// </summary>
    public static List<KeyValuePair<string, string>> FillDefaults(ModelFamily family, JsonObject node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var filled = new List<KeyValuePair<string, string>>();
        foreach (var (key, value) in Reported(family, node))
        {
            // transformers v5 may carry rope_theta inside rope_parameters (already moved to rope_scaling here)
            if (node.ContainsKey(key) || (key == "rope_theta" && node["rope_scaling"] is JsonObject rope && rope.ContainsKey("rope_theta"))) { continue; }
            node[key] = value?.DeepClone();
            filled.Add(new(key, value?.ToJsonString() ?? "null"));
        }
        foreach (var (key, value) in Silent(family))
        {
            if (!node.ContainsKey(key)) { node[key] = value?.DeepClone(); }
        }
        return filled;
    }

    private static IEnumerable<(string Key, JsonNode? Value)> Reported(ModelFamily family, JsonObject node) => family switch
    {
        ModelFamily.DeepSeekV3 =>
        [
            ("model_type", "deepseek_v3"), ("vocab_size", 129280), ("hidden_size", 7168), ("intermediate_size", 18432),
            ("moe_intermediate_size", 2048), ("num_hidden_layers", 61), ("num_nextn_predict_layers", 1), ("first_k_dense_replace", 3),
            ("num_attention_heads", 128), ("q_lora_rank", 1536), ("kv_lora_rank", 512), ("qk_nope_head_dim", 128),
            ("qk_rope_head_dim", 64), ("v_head_dim", 128), ("n_routed_experts", 256), ("n_shared_experts", 1),
            ("num_experts_per_tok", 8), ("n_group", 8), ("topk_group", 4), ("topk_method", "noaux_tc"), ("scoring_func", "sigmoid"),
            ("norm_topk_prob", true), ("routed_scaling_factor", 2.5), ("max_position_embeddings", 4096), ("rope_theta", 10000),
            ("rms_norm_eps", 1e-6),
        ],
        ModelFamily.Qwen2 =>
        [
            ("vocab_size", 151936), ("hidden_size", 4096), ("intermediate_size", 22016), ("num_hidden_layers", 32),
            ("num_attention_heads", 32), ("num_key_value_heads", 32), ("max_position_embeddings", 32768), ("rope_theta", 10000),
            ("rms_norm_eps", 1e-6), ("tie_word_embeddings", false),
        ],
        _ =>
        [
            ("vocab_size", 32000), ("hidden_size", 4096), ("intermediate_size", 11008), ("num_hidden_layers", 32),
            ("num_attention_heads", 32),
            // LlamaConfig: num_key_value_heads None → num_attention_heads (MHA)
            ("num_key_value_heads", node["num_attention_heads"]?.DeepClone() ?? 32),
            ("max_position_embeddings", 2048), ("rope_theta", 10000), ("rms_norm_eps", 1e-6), ("tie_word_embeddings", false),
            ("attention_bias", false), ("mlp_bias", false),
        ],
    };

    private static IEnumerable<(string Key, JsonNode? Value)> Silent(ModelFamily family) => family switch
    {
        ModelFamily.DeepSeekV3 => [],
        ModelFamily.Qwen2 => [("architectures", new JsonArray("Qwen2ForCausalLM")), ("eos_token_id", null), ("attention_bias", false)],
        _ => [("architectures", new JsonArray("LlamaForCausalLM")), ("bos_token_id", 1), ("eos_token_id", 2)],
    };
}
