// ModelConfig.cs: the model's hyper-parameters, one record whose JSON names are HF config.json keys, for every model
// family (`model_type` deepseek_v3, qwen2, llama; ModelFamily). The record's own defaults are HF DeepseekV3Config's; a
// dense family's absent keys take that family's HF defaults while parsing (ModelConfig.Json.cs), so a missing key means
// what it means to transformers. Not here: reading/writing (ModelConfig.Json.cs), the rules (ModelConfig.Validate.cs
// and each family in Families/), tensor shapes (ParameterShapes.cs). Tested by ModelConfigTests and DenseFamilyTests.
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SharpSeek.Model;

/// <summary>A model configuration in Hugging Face's <c>config.json</c> layout (DeepSeek-V3, Qwen2, Llama). Load with <see cref="Load"/>,
/// <see cref="Parse"/> or <see cref="LoadPreset"/>; all three validate before returning.</summary>
public sealed partial record ModelConfig
{
    // ---- sizes
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 129280;
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; } = 7168;
    /// <summary>Width of the dense SwiGLU MLP of the first <see cref="FirstKDenseReplace"/> layers.</summary>
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; } = 18432;
    /// <summary>Width of one routed expert; the shared experts together are <c>n_shared_experts</c> times this.</summary>
    [JsonPropertyName("moe_intermediate_size")] public int MoeIntermediateSize { get; init; } = 2048;
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; init; } = 61;
    /// <summary>MTP depth D: modules stored as layers num_hidden_layers .. num_hidden_layers + D - 1.</summary>
    [JsonPropertyName("num_nextn_predict_layers")] public int NumNextnPredictLayers { get; init; } = 1;
    [JsonPropertyName("first_k_dense_replace")] public int FirstKDenseReplace { get; init; } = 3;
    [JsonPropertyName("moe_layer_freq")] public int MoeLayerFreq { get; init; } = 1;

    // ---- attention (MLA)
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; init; } = 128;
    /// <summary>Grouped-query attention's k/v heads (a divisor of num_attention_heads); unused by MLA, where every head
    /// has its own k and v.</summary>
    [JsonPropertyName("num_key_value_heads")] public int NumKeyValueHeads { get; init; } = 128;
    /// <summary>Rank of the query compression; null or 0 selects the plain <c>q_proj</c> path.</summary>
    [JsonPropertyName("q_lora_rank")] public int? QLoraRank { get; init; } = 1536;
    [JsonPropertyName("kv_lora_rank")] public int KvLoraRank { get; init; } = 512;
    [JsonPropertyName("qk_nope_head_dim")] public int QkNopeHeadDim { get; init; } = 128;
    [JsonPropertyName("qk_rope_head_dim")] public int QkRopeHeadDim { get; init; } = 64;
    [JsonPropertyName("v_head_dim")] public int VHeadDim { get; init; } = 128;

    // ---- MoE and router
    [JsonPropertyName("n_routed_experts")] public int RoutedExperts { get; init; } = 256;
    [JsonPropertyName("n_shared_experts")] public int SharedExperts { get; init; } = 1;
    [JsonPropertyName("num_experts_per_tok")] public int ExpertsPerToken { get; init; } = 8;
    [JsonPropertyName("n_group")] public int ExpertGroups { get; init; } = 8;
    [JsonPropertyName("topk_group")] public int TopKGroups { get; init; } = 4;
    /// <summary>"noaux_tc" (V3), "greedy" or "group_limited_greedy" (V2); see <see cref="Router"/>.</summary>
    [JsonPropertyName("topk_method")] public string TopKMethod { get; init; } = "noaux_tc";
    /// <summary>"sigmoid" (V3) or "softmax" (V2).</summary>
    [JsonPropertyName("scoring_func")] public string ScoringFunc { get; init; } = "sigmoid";
    [JsonPropertyName("norm_topk_prob")] public bool NormTopKProb { get; init; } = true;
    [JsonPropertyName("routed_scaling_factor")] public double RoutedScalingFactor { get; init; } = 2.5;
    [JsonPropertyName("seq_aux")] public bool SeqAux { get; init; } = true;
    [JsonPropertyName("aux_loss_alpha")] public double AuxLossAlpha { get; init; } = 0.001;
    [JsonPropertyName("ep_size")] public int EpSize { get; init; } = 1;

    // ---- everything else
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; init; } = "silu";
    [JsonPropertyName("rms_norm_eps")] public double RmsNormEps { get; init; } = 1e-6;
    [JsonPropertyName("attention_bias")] public bool AttentionBias { get; init; }
    [JsonPropertyName("attention_dropout")] public double AttentionDropout { get; init; }
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; init; } = 4096;
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; init; } = 10000;
    /// <summary>YaRN parameters, or null for plain RoPE. Read from <c>rope_scaling</c> or <c>rope_parameters</c>.</summary>
    [JsonPropertyName("rope_scaling")] public RopeScaling? RopeScaling { get; init; }
    [JsonPropertyName("quantization_config")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public QuantizationConfig? QuantizationConfig { get; init; }
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; init; }
    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; init; }
    /// <summary>The end-of-sequence id; when config.json lists several, the first (all kept in <see cref="EosTokenIds"/>).</summary>
    [JsonPropertyName("eos_token_id")] public int? EosTokenId { get; init; } = 1;

    /// <summary>Every id of a listed eos_token_id, written back as a list on save; null when config.json gives one id.</summary>
    [JsonIgnore] public int[]? EosTokenIds { get; init; }
    [JsonPropertyName("pad_token_id")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? PadTokenId { get; init; }
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; init; } = 0.02;
    [JsonPropertyName("torch_dtype")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TorchDtype { get; init; } = "bfloat16";
    /// <summary>transformers v5 spelling of <c>torch_dtype</c>.</summary>
    [JsonPropertyName("dtype")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Dtype { get; init; }
    [JsonPropertyName("architectures")] public string[] Architectures { get; init; } = ["DeepseekV3ForCausalLM"];
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = "deepseek_v3";
    [JsonPropertyName("use_cache")] public bool UseCache { get; init; } = true;
    [JsonPropertyName("pretraining_tp")] public int PretrainingTp { get; init; } = 1;
    /// <summary>Llama: bias on gate/up/down_proj (HF default false).</summary>
    [JsonPropertyName("mlp_bias")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? MlpBias { get; init; }
    /// <summary>Qwen2's sliding-window keys, kept for the round trip; windows are not applied (the published distilled
    /// checkpoints set use_sliding_window false), and Validate refuses true.</summary>
    [JsonPropertyName("use_sliding_window")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? UseSlidingWindow { get; init; }
    [JsonPropertyName("sliding_window")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? SlidingWindow { get; init; }
    [JsonPropertyName("max_window_layers")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? MaxWindowLayers { get; init; }
    /// <summary>Qwen2-VL's multimodal RoPE switch, false in text checkpoints; Validate refuses true.</summary>
    [JsonPropertyName("use_mrope")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? UseMrope { get; init; }
    [JsonPropertyName("transformers_version")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TransformersVersion { get; init; }

    // ---- keys newer transformers add on save (derived values; checked against the sizes when present)
    /// <summary>True: q_pe/k_pe rows are interleaved pairs, the checkpoint's own convention (deepseek-ai/DeepSeek-V3:inference/model.py, apply_rotary_emb).</summary>
    [JsonPropertyName("rope_interleave")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? RopeInterleave { get; init; }
    /// <summary>DeepSeek: HF sets this to qk_rope_head_dim (the rotated width). Dense families: the per-head width,
    /// hidden_size / num_attention_heads when absent.</summary>
    [JsonPropertyName("head_dim")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? HeadDim { get; init; }
    /// <summary>qk_nope_head_dim + qk_rope_head_dim.</summary>
    [JsonPropertyName("qk_head_dim")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? QkHeadDimKey { get; init; }

    /// <summary>Top-level keys this record does not know, kept so a save writes them back.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; init; }

    /// <summary>True when the file spelled the rope object <c>rope_parameters</c> (transformers v5); saves keep the spelling.</summary>
    [JsonIgnore]
    public bool RopeParametersSpelling { get; init; }

    /// <summary>The keys config.json did not set that took their family's HF default, with the value taken
    /// (e.g. "num_experts_per_tok" = "8"); callers print them as one warning line.</summary>
    [JsonIgnore]
    public IReadOnlyList<KeyValuePair<string, string>> DefaultedKeys { get; init; } = [];

    // ---- derived
    /// <summary>The family <c>model_type</c> names; parsing refuses any other.</summary>
    [JsonIgnore] public ModelFamily Family => ModelFamilies.Of(ModelType);

    /// <summary>True for the dense grouped-query families (qwen2, llama).</summary>
    [JsonIgnore] public bool IsDense => Family is ModelFamily.Qwen2 or ModelFamily.Llama;

    /// <summary>Dense families: the per-head width of q, k and v (head_dim, else hidden_size / num_attention_heads).</summary>
    [JsonIgnore] public int AttentionHeadDim => HeadDim ?? HiddenSize / Math.Max(1, NumAttentionHeads);

    /// <summary>The width RoPE rotates: qk_rope_head_dim for MLA, the whole head for the dense families.</summary>
    [JsonIgnore] public int RotaryDim => IsDense ? AttentionHeadDim : QkRopeHeadDim;

    /// <summary>d_qk = qk_nope_head_dim + qk_rope_head_dim (192 for V3).</summary>
    [JsonIgnore] public int QkHeadDim => QkNopeHeadDim + QkRopeHeadDim;

    /// <summary>True for the low-rank query path (q_a_proj, q_a_layernorm, q_b_proj); false for q_proj.</summary>
    [JsonIgnore] public bool UsesQLora => QLoraRank is > 0;

    [JsonIgnore] public RouterStyle Router => TopKMethod == "noaux_tc" ? RouterStyle.DeepSeekV3 : RouterStyle.DeepSeekV2;

    /// <summary>True when the router has an F32 <c>e_score_correction_bias</c> (noaux_tc, as HF keys it; the official code keys it on dim == 7168).</summary>
    [JsonIgnore] public bool HasCorrectionBias => Router == RouterStyle.DeepSeekV3;

    [JsonIgnore] public bool UsesYarn => RopeScaling is { Kind: "yarn" };

    /// <summary>Layers 0 .. num_hidden_layers + num_nextn_predict_layers - 1, the MTP blocks included (dense families have none).</summary>
    [JsonIgnore] public int TotalLayers => NumHiddenLayers + (IsDense ? 0 : NumNextnPredictLayers);

    /// <summary>MTP modules: num_nextn_predict_layers for DeepSeek, 0 for the dense families.</summary>
    [JsonIgnore] public int MtpDepth => IsDense ? 0 : NumNextnPredictLayers;

    /// <summary>HF's rule: layer i is MoE when i ≥ first_k_dense_replace and i % moe_layer_freq == 0; else dense MLP.
    /// Never for the dense families.</summary>
    public bool IsMoeLayer(int layer) => !IsDense && layer >= FirstKDenseReplace && layer % MoeLayerFreq == 0;

    /// <summary>Unknown keys, nested ones as "rope_scaling.key"; reported by callers as warnings.</summary>
    [JsonIgnore]
    public IReadOnlyList<string> UnknownKeys =>
    [
        .. Extra?.Keys ?? Enumerable.Empty<string>(),
        .. RopeScaling?.Extra?.Keys.Select(k => $"{RopeKey}.{k}") ?? [],
        .. QuantizationConfig?.Extra?.Keys.Select(k => $"quantization_config.{k}") ?? [],
    ];

    /// <summary>The rope object's key as the file spelled it, for messages.</summary>
    internal string RopeKey => RopeParametersSpelling ? "rope_parameters" : "rope_scaling";
}
