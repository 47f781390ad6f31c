// DeepSeekV3Family.cs: DeepSeek-V3 (`model_type` deepseek_v3: MLA, DeepSeekMoE, MTP; DeepSeek-V3 technical report §2) in
// one place, in the shape of DenseFamily: its config rules, its parameter table (HF names and shapes, the MTP modules
// stored as layers num_hidden_layers .. with their own copies of the embedding and head; deepseek-ai/DeepSeek-V3:
// README_WEIGHTS.md) and its layer builder (`huggingface/transformers:src/transformers/models/deepseek_v3/
// modeling_deepseek_v3.py` names → Block and Mtp objects with .NET-named fields). Not here: the layer math (Layers/),
// the HF defaults of its keys (ModelFamilies), the counts built on the table (ParameterShapes, ModelFootprint).
// Tested by ModelConfigTests, ParameterShapesTests, ModelWeightsTests and GoldenReferenceTests.
using SharpSeek.Model.Checkpoint;
using SharpSeek.Model.Layers;

namespace SharpSeek.Model;

public static class DeepSeekV3Family
{
    private static readonly string[] TopKMethods = ["noaux_tc", "greedy", "group_limited_greedy"];
    private static readonly string[] ScoringFuncs = ["sigmoid", "softmax"];
    private static readonly string[] RopeKinds = ["yarn", "default"];

    /// <summary>Throws <see cref="InvalidDataException"/> naming the field, its value and what was expected, e.g.
    /// "config field 'n_group' = 3: expected a divisor of n_routed_experts (8)".</summary>
    public static void Validate(ModelConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        ModelConfig.Positive("vocab_size", c.VocabSize);
        ModelConfig.Positive("hidden_size", c.HiddenSize);
        ModelConfig.Positive("num_hidden_layers", c.NumHiddenLayers);
        ModelConfig.AtLeast("num_nextn_predict_layers", c.NumNextnPredictLayers, 0);
        ModelConfig.Range("first_k_dense_replace", c.FirstKDenseReplace, 0, c.NumHiddenLayers, "num_hidden_layers");
        ModelConfig.Positive("moe_layer_freq", c.MoeLayerFreq);
        if (LayerWindow(c).Any(i => !c.IsMoeLayer(i))) { ModelConfig.Positive("intermediate_size", c.IntermediateSize); }

        ModelConfig.Positive("num_attention_heads", c.NumAttentionHeads);
        ModelConfig.Positive("num_key_value_heads", c.NumKeyValueHeads);
        if (c.QLoraRank is < 0) { ModelConfig.Fail("q_lora_rank", c.QLoraRank, "null or 0 (no q-lora) or > 0"); }
        ModelConfig.Positive("kv_lora_rank", c.KvLoraRank);
        ModelConfig.AtLeast("qk_nope_head_dim", c.QkNopeHeadDim, 0);
        ModelConfig.Positive("qk_rope_head_dim", c.QkRopeHeadDim);
        if (c.QkRopeHeadDim % 2 != 0) { ModelConfig.Fail("qk_rope_head_dim", c.QkRopeHeadDim, "an even number (RoPE rotates pairs)"); }
        ModelConfig.Positive("v_head_dim", c.VHeadDim);
        if (c.HeadDim is { } headDim && headDim != c.QkRopeHeadDim) { ModelConfig.Fail("head_dim", headDim, $"qk_rope_head_dim ({c.QkRopeHeadDim}) or absent"); }
        if (c.QkHeadDimKey is { } qkHeadDim && qkHeadDim != c.QkHeadDim)
        {
            ModelConfig.Fail("qk_head_dim", qkHeadDim, $"qk_nope_head_dim + qk_rope_head_dim ({c.QkHeadDim}) or absent");
        }
        if (c.AttentionBias) { ModelConfig.Fail("attention_bias", true, "false (DeepSeek attention has no bias)"); }
        if (c.AttentionDropout is < 0 or >= 1 || double.IsNaN(c.AttentionDropout)) { ModelConfig.Fail("attention_dropout", c.AttentionDropout, "in [0, 1)"); }

        if (LayerWindow(c).Any(c.IsMoeLayer)) { ValidateMoe(c); }

        if (c.HiddenAct != "silu") { ModelConfig.Fail("hidden_act", $"\"{c.HiddenAct}\"", "\"silu\""); }
        ModelConfig.PositiveFinite("rms_norm_eps", c.RmsNormEps);
        ModelConfig.Positive("max_position_embeddings", c.MaxPositionEmbeddings);
        ModelConfig.PositiveFinite("rope_theta", c.RopeTheta);
        if (c.RopeScaling is { } rope) { ValidateRope(c, rope); }
        if (c.QuantizationConfig is { } q && (q.WeightBlockSize.Length != 2 || q.WeightBlockSize.Any(b => b <= 0)))
        {
            ModelConfig.Fail("quantization_config.weight_block_size", $"[{string.Join(", ", q.WeightBlockSize)}]", "two positive sizes, e.g. [128, 128]");
        }
        ModelConfig.PositiveFinite("initializer_range", c.InitializerRange);
        ModelConfig.Positive("ep_size", c.EpSize);
        ModelConfig.Positive("pretraining_tp", c.PretrainingTp);
        c.ValidateTokenId("bos_token_id", c.BosTokenId);
        c.ValidateTokenId("eos_token_id", c.EosTokenId);
        c.ValidateTokenId("pad_token_id", c.PadTokenId);
    }

    private static void ValidateMoe(ModelConfig c)
    {
        ModelConfig.Positive("moe_intermediate_size", c.MoeIntermediateSize);
        ModelConfig.Positive("n_routed_experts", c.RoutedExperts);
        ModelConfig.AtLeast("n_shared_experts", c.SharedExperts, 0);
        ModelConfig.Range("num_experts_per_tok", c.ExpertsPerToken, 1, c.RoutedExperts, "n_routed_experts");
        ModelConfig.Positive("n_group", c.ExpertGroups);
        if (c.RoutedExperts % c.ExpertGroups != 0) { ModelConfig.Fail("n_group", c.ExpertGroups, $"a divisor of n_routed_experts ({c.RoutedExperts})"); }
        ModelConfig.Range("topk_group", c.TopKGroups, 1, c.ExpertGroups, "n_group");
        var perGroup = c.RoutedExperts / c.ExpertGroups;
        if (c.Router == RouterStyle.DeepSeekV3 || c.TopKMethod == "group_limited_greedy")
        {
            // Group-limited routing picks top-k among the experts of topk_group groups only.
            if (c.ExpertsPerToken > c.TopKGroups * perGroup)
            {
                ModelConfig.Fail("num_experts_per_tok", c.ExpertsPerToken,
                    $"at most topk_group × experts per group = {c.TopKGroups} × {perGroup} = {c.TopKGroups * perGroup}");
            }
            // noaux_tc scores a group by the sum of its top-2 experts.
            if (c.Router == RouterStyle.DeepSeekV3 && c.ExpertGroups > 1 && perGroup < 2)
            {
                ModelConfig.Fail("n_group", c.ExpertGroups, $"at most n_routed_experts / 2 ({c.RoutedExperts / 2}): noaux_tc scores a group by its top-2 experts");
            }
        }
        if (!TopKMethods.Contains(c.TopKMethod)) { ModelConfig.Fail("topk_method", $"\"{c.TopKMethod}\"", ModelConfig.OneOf(TopKMethods)); }
        if (!ScoringFuncs.Contains(c.ScoringFunc)) { ModelConfig.Fail("scoring_func", $"\"{c.ScoringFunc}\"", ModelConfig.OneOf(ScoringFuncs)); }
        ModelConfig.PositiveFinite("routed_scaling_factor", c.RoutedScalingFactor);
        if (!(c.AuxLossAlpha >= 0) || double.IsInfinity(c.AuxLossAlpha)) { ModelConfig.Fail("aux_loss_alpha", c.AuxLossAlpha, "a finite value ≥ 0"); }
    }

    private static void ValidateRope(ModelConfig c, RopeScaling rope)
    {
        var key = c.RopeKey;
        if (!RopeKinds.Contains(rope.Kind)) { ModelConfig.Fail($"{key}.type", $"\"{rope.Kind}\"", ModelConfig.OneOf(RopeKinds)); }
        if (rope.Type is not null && rope.RopeType is not null && rope.Type != rope.RopeType)
        {
            ModelConfig.Fail($"{key}.rope_type", $"\"{rope.RopeType}\"", $"the same as {key}.type (\"{rope.Type}\")");
        }
        if (rope.Kind != "yarn") { return; }
        if (!(rope.Factor >= 1) || double.IsInfinity(rope.Factor)) { ModelConfig.Fail($"{key}.factor", rope.Factor, "a finite value ≥ 1"); }
        ModelConfig.Positive($"{key}.original_max_position_embeddings", rope.OriginalMaxPositionEmbeddings);
        ModelConfig.PositiveFinite($"{key}.beta_fast", rope.BetaFast);
        ModelConfig.PositiveFinite($"{key}.beta_slow", rope.BetaSlow);
        if (rope.BetaSlow > rope.BetaFast) { ModelConfig.Fail($"{key}.beta_slow", rope.BetaSlow, $"≤ beta_fast ({rope.BetaFast})"); }
        if (!(rope.Mscale >= 0) || double.IsInfinity(rope.Mscale)) { ModelConfig.Fail($"{key}.mscale", rope.Mscale, "a finite value ≥ 0"); }
        if (!(rope.MscaleAllDim >= 0) || double.IsInfinity(rope.MscaleAllDim)) { ModelConfig.Fail($"{key}.mscale_all_dim", rope.MscaleAllDim, "a finite value ≥ 0"); }
    }

    // Layers below first_k_dense_replace + moe_layer_freq already contain a dense and a MoE layer if the model has either.
    private static IEnumerable<int> LayerWindow(ModelConfig c) => Enumerable.Range(0, Math.Min(c.TotalLayers, c.FirstKDenseReplace + c.MoeLayerFreq + 1));

    /// <summary>Every tensor in checkpoint order: <c>model.embed_tokens</c>, layers 0 .. num_hidden_layers + D − 1 (the
    /// last D are MTP modules with their own embed_tokens, enorm, hnorm, eh_proj, shared_head.norm, shared_head.head),
    /// <c>model.norm</c>, and <c>lm_head</c> unless tie_word_embeddings.</summary>
    public static IReadOnlyList<ParameterShape> Parameters(ModelConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var list = new List<ParameterShape>();
        int d = c.HiddenSize, v = c.VocabSize;
        list.Add(new(WeightNames.Embedding, [v, d], ParameterComponent.Embedding, -1, false, false));
        for (var i = 0; i < c.TotalLayers; i++) { AddLayer(list, c, i); }
        list.Add(new(WeightNames.FinalNorm, [d], ParameterComponent.Norms, -1, false, false));
        if (!c.TieWordEmbeddings) { list.Add(new(WeightNames.Head, [v, d], ParameterComponent.Head, -1, false, false)); }
        return list;
    }

    private static void AddLayer(List<ParameterShape> list, ModelConfig c, int i)
    {
        var p = WeightNames.Layer(i);
        var mtp = i >= c.NumHiddenLayers;
        int d = c.HiddenSize, h = c.NumAttentionHeads, kvRank = c.KvLoraRank;
        void Add(string name, int[] shape, ParameterComponent component, bool fp8 = false) =>
            list.Add(new(p + name, shape, component, i, mtp, fp8));
        void Linear(string name, int outFeatures, int inFeatures, ParameterComponent component) =>
            Add(name + ".weight", [outFeatures, inFeatures], component, fp8: true);

        if (mtp)
        {
            Add("embed_tokens.weight", [c.VocabSize, d], ParameterComponent.Embedding);
            Add("enorm.weight", [d], ParameterComponent.Norms);
            Add("hnorm.weight", [d], ParameterComponent.Norms);
            Add("eh_proj.weight", [d, 2 * d], ParameterComponent.MtpProjection); // BF16 in the release, not FP8
        }

        Add("input_layernorm.weight", [d], ParameterComponent.Norms);
        var attn = ParameterComponent.Attention;
        if (c.UsesQLora)
        {
            var qRank = c.QLoraRank!.Value;
            Linear("self_attn.q_a_proj", qRank, d, attn);
            Add("self_attn.q_a_layernorm.weight", [qRank], attn);
            Linear("self_attn.q_b_proj", h * c.QkHeadDim, qRank, attn);
        }
        else
        {
            Linear("self_attn.q_proj", h * c.QkHeadDim, d, attn);
        }
        Linear("self_attn.kv_a_proj_with_mqa", kvRank + c.QkRopeHeadDim, d, attn);
        Add("self_attn.kv_a_layernorm.weight", [kvRank], attn);
        Linear("self_attn.kv_b_proj", h * (c.QkNopeHeadDim + c.VHeadDim), kvRank, attn);
        Linear("self_attn.o_proj", d, h * c.VHeadDim, attn);
        Add("post_attention_layernorm.weight", [d], ParameterComponent.Norms);

        if (!c.IsMoeLayer(i))
        {
            AddMlp(list, p + "mlp.", c.IntermediateSize, d, ParameterComponent.DenseMlp, i, mtp);
        }
        else
        {
            Add("mlp.gate.weight", [c.RoutedExperts, d], ParameterComponent.Router); // BF16, never FP8
            if (c.HasCorrectionBias) { Add("mlp.gate.e_score_correction_bias", [c.RoutedExperts], ParameterComponent.Router); }
            for (var e = 0; e < c.RoutedExperts; e++)
            {
                AddMlp(list, p + $"mlp.experts.{e}.", c.MoeIntermediateSize, d, ParameterComponent.RoutedExperts, i, mtp);
            }
            if (c.SharedExperts > 0)
            {
                AddMlp(list, p + "mlp.shared_experts.", c.MoeIntermediateSize * c.SharedExperts, d, ParameterComponent.SharedExperts, i, mtp);
            }
        }

        if (mtp)
        {
            Add("shared_head.norm.weight", [d], ParameterComponent.Norms);
            Add("shared_head.head.weight", [c.VocabSize, d], ParameterComponent.Head);
        }
    }

    // SwiGLU: down(silu(gate(x)) ⊙ up(x)); gate/up [inter, d], down [d, inter].
    private static void AddMlp(List<ParameterShape> list, string prefix, int inter, int d, ParameterComponent component, int layer, bool mtp)
    {
        list.Add(new(prefix + "gate_proj.weight", [inter, d], component, layer, mtp, true));
        list.Add(new(prefix + "up_proj.weight", [inter, d], component, layer, mtp, true));
        list.Add(new(prefix + "down_proj.weight", [d, inter], component, layer, mtp, true));
    }

    /// <summary>Decoder layer <paramref name="layer"/> (main or MTP) with its parameters looked up by name.</summary>
    public static Block Block(ModelConfig c, int layer, Func<string, Parameter> get)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(get);
        var p = WeightNames.Layer(layer);
        Parameter P(string name) => get(p + name);
        Linear L(string name) => new() { Weight = get(p + name) };
        var attention = new Mla
        {
            Config = c,
            Layer = layer,
            WqA = c.UsesQLora ? L("self_attn.q_a_proj.weight") : null,
            QNorm = c.UsesQLora ? new RmsNorm { Weight = P("self_attn.q_a_layernorm.weight"), Eps = RmsNorm.LatentEps } : null,
            WqB = c.UsesQLora ? L("self_attn.q_b_proj.weight") : null,
            Wq = c.UsesQLora ? null : L("self_attn.q_proj.weight"),
            WkvA = L("self_attn.kv_a_proj_with_mqa.weight"),
            KvNorm = new RmsNorm { Weight = P("self_attn.kv_a_layernorm.weight"), Eps = RmsNorm.LatentEps },
            WkvB = L("self_attn.kv_b_proj.weight"),
            Wo = L("self_attn.o_proj.weight"),
        };
        return new Block
        {
            Index = layer,
            InputNorm = Norm(c, P("input_layernorm.weight")),
            Attention = attention,
            PostAttentionNorm = Norm(c, P("post_attention_layernorm.weight")),
            FeedForward = c.IsMoeLayer(layer) ? Moe(c, layer, p + "mlp.", get) : Mlp(p + "mlp.", get),
        };
    }

    /// <summary>MTP module stored as layer <paramref name="layer"/> (≥ num_hidden_layers).</summary>
    public static Mtp Mtp(ModelConfig c, int layer, Func<string, Parameter> get)
    {
        ArgumentNullException.ThrowIfNull(get);
        var p = WeightNames.Layer(layer);
        return new Mtp
        {
            EmbeddingNorm = Norm(c, get(p + "enorm.weight")),
            HiddenNorm = Norm(c, get(p + "hnorm.weight")),
            EhProj = new Linear { Weight = get(p + "eh_proj.weight") },
            Block = Block(c, layer, get),
            HeadNorm = Norm(c, get(p + "shared_head.norm.weight")),
        };
    }

    private static RmsNorm Norm(ModelConfig c, Parameter weight) => new() { Weight = weight, Eps = c.RmsNormEps };

    private static Mlp Mlp(string prefix, Func<string, Parameter> get) => new()
    {
        Gate = new Linear { Weight = get(prefix + "gate_proj.weight") },
        Up = new Linear { Weight = get(prefix + "up_proj.weight") },
        Down = new Linear { Weight = get(prefix + "down_proj.weight") },
    };

    private static Moe Moe(ModelConfig c, int layer, string prefix, Func<string, Parameter> get) => new()
    {
        Layer = layer,
        Gate = new Gate
        {
            Config = c,
            Weight = get(prefix + "gate.weight"),
            CorrectionBias = c.HasCorrectionBias ? get(prefix + "gate.e_score_correction_bias") : null,
        },
        Experts = [.. Enumerable.Range(0, c.RoutedExperts).Select(e => Mlp(prefix + $"experts.{e}.", get))],
        Shared = c.SharedExperts > 0 ? Mlp(prefix + "shared_experts.", get) : null,
    };
}
