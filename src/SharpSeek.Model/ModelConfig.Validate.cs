// ModelConfig.Validate.cs: the rules a config must meet before anything is allocated; each failure names the HF key,
// its value and the expected range. Not here: parsing (ModelConfig.Json.cs). Tested by ModelConfigTests.
namespace SharpSeek.Model;

public sealed partial record ModelConfig
{
    private static readonly string[] TopKMethods = ["noaux_tc", "greedy", "group_limited_greedy"];
    private static readonly string[] ScoringFuncs = ["sigmoid", "softmax"];
    private static readonly string[] RopeKinds = ["yarn", "default"];

    /// <summary>Throws <see cref="InvalidDataException"/> for a config no model can be built from, e.g.
    /// "config field 'n_group' = 3: expected a divisor of n_routed_experts (8)".</summary>
    public void Validate()
    {
        if (IsDense)
        {
            DenseFamily.Validate(this);
            return;
        }
        Positive("vocab_size", VocabSize);
        Positive("hidden_size", HiddenSize);
        Positive("num_hidden_layers", NumHiddenLayers);
        AtLeast("num_nextn_predict_layers", NumNextnPredictLayers, 0);
        Range("first_k_dense_replace", FirstKDenseReplace, 0, NumHiddenLayers, "num_hidden_layers");
        Positive("moe_layer_freq", MoeLayerFreq);
        if (LayerWindow().Any(i => !IsMoeLayer(i))) { Positive("intermediate_size", IntermediateSize); }

        Positive("num_attention_heads", NumAttentionHeads);
        Positive("num_key_value_heads", NumKeyValueHeads);
        if (QLoraRank is < 0) { Fail("q_lora_rank", QLoraRank, "null or 0 (no q-lora) or > 0"); }
        Positive("kv_lora_rank", KvLoraRank);
        AtLeast("qk_nope_head_dim", QkNopeHeadDim, 0);
        Positive("qk_rope_head_dim", QkRopeHeadDim);
        if (QkRopeHeadDim % 2 != 0) { Fail("qk_rope_head_dim", QkRopeHeadDim, "an even number (RoPE rotates pairs)"); }
        Positive("v_head_dim", VHeadDim);
        if (HeadDim is { } headDim && headDim != QkRopeHeadDim) { Fail("head_dim", headDim, $"qk_rope_head_dim ({QkRopeHeadDim}) or absent"); }
        if (QkHeadDimKey is { } qkHeadDim && qkHeadDim != QkHeadDim)
        {
            Fail("qk_head_dim", qkHeadDim, $"qk_nope_head_dim + qk_rope_head_dim ({QkHeadDim}) or absent");
        }
        if (AttentionBias) { Fail("attention_bias", true, "false (DeepSeek attention has no bias)"); }
        if (AttentionDropout is < 0 or >= 1 || double.IsNaN(AttentionDropout)) { Fail("attention_dropout", AttentionDropout, "in [0, 1)"); }

        if (LayerWindow().Any(IsMoeLayer)) { ValidateMoe(); }

        if (HiddenAct != "silu") { Fail("hidden_act", $"\"{HiddenAct}\"", "\"silu\""); }
        PositiveFinite("rms_norm_eps", RmsNormEps);
        Positive("max_position_embeddings", MaxPositionEmbeddings);
        PositiveFinite("rope_theta", RopeTheta);
        if (RopeScaling is { } rope) { ValidateRope(rope); }
        if (QuantizationConfig is { } q && (q.WeightBlockSize.Length != 2 || q.WeightBlockSize.Any(b => b <= 0)))
        {
            Fail("quantization_config.weight_block_size", $"[{string.Join(", ", q.WeightBlockSize)}]", "two positive sizes, e.g. [128, 128]");
        }
        PositiveFinite("initializer_range", InitializerRange);
        Positive("ep_size", EpSize);
        Positive("pretraining_tp", PretrainingTp);
        ValidateTokenId("bos_token_id", BosTokenId);
        ValidateTokenId("eos_token_id", EosTokenId);
        ValidateTokenId("pad_token_id", PadTokenId);
    }

    private void ValidateMoe()
    {
        Positive("moe_intermediate_size", MoeIntermediateSize);
        Positive("n_routed_experts", RoutedExperts);
        AtLeast("n_shared_experts", SharedExperts, 0);
        Range("num_experts_per_tok", ExpertsPerToken, 1, RoutedExperts, "n_routed_experts");
        Positive("n_group", ExpertGroups);
        if (RoutedExperts % ExpertGroups != 0) { Fail("n_group", ExpertGroups, $"a divisor of n_routed_experts ({RoutedExperts})"); }
        Range("topk_group", TopKGroups, 1, ExpertGroups, "n_group");
        var perGroup = RoutedExperts / ExpertGroups;
        if (Router == RouterStyle.DeepSeekV3 || TopKMethod == "group_limited_greedy")
        {
            // Group-limited routing picks top-k among the experts of topk_group groups only.
            if (ExpertsPerToken > TopKGroups * perGroup)
            {
                Fail("num_experts_per_tok", ExpertsPerToken,
                    $"at most topk_group × experts per group = {TopKGroups} × {perGroup} = {TopKGroups * perGroup}");
            }
            // noaux_tc scores a group by the sum of its top-2 experts.
            if (Router == RouterStyle.DeepSeekV3 && ExpertGroups > 1 && perGroup < 2)
            {
                Fail("n_group", ExpertGroups, $"at most n_routed_experts / 2 ({RoutedExperts / 2}): noaux_tc scores a group by its top-2 experts");
            }
        }
        if (!TopKMethods.Contains(TopKMethod)) { Fail("topk_method", $"\"{TopKMethod}\"", OneOf(TopKMethods)); }
        if (!ScoringFuncs.Contains(ScoringFunc)) { Fail("scoring_func", $"\"{ScoringFunc}\"", OneOf(ScoringFuncs)); }
        PositiveFinite("routed_scaling_factor", RoutedScalingFactor);
        if (!(AuxLossAlpha >= 0) || double.IsInfinity(AuxLossAlpha)) { Fail("aux_loss_alpha", AuxLossAlpha, "a finite value ≥ 0"); }
    }

    private void ValidateRope(RopeScaling rope)
    {
        var key = RopeKey;
        if (!RopeKinds.Contains(rope.Kind)) { Fail($"{key}.type", $"\"{rope.Kind}\"", OneOf(RopeKinds)); }
        if (rope.Type is not null && rope.RopeType is not null && rope.Type != rope.RopeType)
        {
            Fail($"{key}.rope_type", $"\"{rope.RopeType}\"", $"the same as {key}.type (\"{rope.Type}\")");
        }
        if (rope.Kind != "yarn") { return; }
        if (!(rope.Factor >= 1) || double.IsInfinity(rope.Factor)) { Fail($"{key}.factor", rope.Factor, "a finite value ≥ 1"); }
        Positive($"{key}.original_max_position_embeddings", rope.OriginalMaxPositionEmbeddings);
        PositiveFinite($"{key}.beta_fast", rope.BetaFast);
        PositiveFinite($"{key}.beta_slow", rope.BetaSlow);
        if (rope.BetaSlow > rope.BetaFast) { Fail($"{key}.beta_slow", rope.BetaSlow, $"≤ beta_fast ({rope.BetaFast})"); }
        if (!(rope.Mscale >= 0) || double.IsInfinity(rope.Mscale)) { Fail($"{key}.mscale", rope.Mscale, "a finite value ≥ 0"); }
        if (!(rope.MscaleAllDim >= 0) || double.IsInfinity(rope.MscaleAllDim)) { Fail($"{key}.mscale_all_dim", rope.MscaleAllDim, "a finite value ≥ 0"); }
    }

    // Layers below first_k_dense_replace + moe_layer_freq already contain a dense and a MoE layer if the model has either.
    private IEnumerable<int> LayerWindow() => Enumerable.Range(0, Math.Min(TotalLayers, FirstKDenseReplace + MoeLayerFreq + 1));

    internal void ValidateTokenId(string field, int? id)
    {
        if (id is { } v && (v < 0 || v >= VocabSize)) { Fail(field, v, $"in [0, vocab_size = {VocabSize})"); }
    }

    internal static string OneOf(string[] values) => "one of " + string.Join(", ", values.Select(v => $"\"{v}\""));

    internal static void Positive(string field, int value)
    {
        if (value <= 0) { Fail(field, value, "> 0"); }
    }

    internal static void AtLeast(string field, int value, int min)
    {
        if (value < min) { Fail(field, value, $"≥ {min}"); }
    }

    internal static void Range(string field, int value, int min, int max, string maxName)
    {
        if (value < min || value > max) { Fail(field, value, $"in [{min}, {maxName} = {max}]"); }
    }

    internal static void PositiveFinite(string field, double value)
    {
        if (!(value > 0) || double.IsInfinity(value)) { Fail(field, value, "a finite value > 0"); }
    }

    internal static void Fail(string field, object? value, string expected) =>
        throw new InvalidDataException($"config field '{field}' = {value?.ToString() ?? "null"}: expected {expected}");
}
