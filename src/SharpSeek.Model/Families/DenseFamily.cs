// DenseFamily.cs: the dense grouped-query decoders of Hugging Face `qwen2` and `llama` in one place: their config rules,
// their parameter table (HF names and shapes) and their layer builder (`huggingface/transformers:src/transformers/models/
// {qwen2,llama}/modeling_*.py`). Differences between the two are properties: Qwen2 always has q/k/v bias and never an
// o_proj or MLP bias; Llama has all four attention biases when attention_bias and MLP biases when mlp_bias.
// Not here: the attention math (Layers/Gqa.cs), RoPE frequencies (Layers/RopeTables.cs). Tested by DenseFamilyTests.
using SharpSeek.Model.Layers;

namespace SharpSeek.Model;

public static class DenseFamily
{
    // YaRN on a dense model is left out until the reference covers it (HF's fallbacks differ from DeepSeek's there).
    private static readonly string[] RopeKinds = ["default", "llama3"];

    /// <summary>Bias on q/k/v_proj.</summary>
    public static bool QkvBias(ModelConfig c) => c.Family == ModelFamily.Qwen2 || c.AttentionBias;

    /// <summary>Bias on o_proj.</summary>
    public static bool OutputBias(ModelConfig c) => c.Family == ModelFamily.Llama && c.AttentionBias;

    /// <summary>Bias on gate/up/down_proj.</summary>
    public static bool MlpBias(ModelConfig c) => c.Family == ModelFamily.Llama && c.MlpBias == true;

    /// <summary>Throws <see cref="InvalidDataException"/> naming the field, its value and what was expected.</summary>
    public static void Validate(ModelConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        ModelConfig.Positive("vocab_size", c.VocabSize);
        ModelConfig.Positive("hidden_size", c.HiddenSize);
        ModelConfig.Positive("intermediate_size", c.IntermediateSize);
        ModelConfig.Positive("num_hidden_layers", c.NumHiddenLayers);
        ModelConfig.Positive("num_attention_heads", c.NumAttentionHeads);
        ModelConfig.Positive("num_key_value_heads", c.NumKeyValueHeads);
        if (c.NumAttentionHeads % c.NumKeyValueHeads != 0)
        {
            ModelConfig.Fail("num_key_value_heads", c.NumKeyValueHeads, $"a divisor of num_attention_heads ({c.NumAttentionHeads})");
        }
        if (c.HeadDim is { } headDim)
        {
            if (headDim <= 0 || headDim % 2 != 0) { ModelConfig.Fail("head_dim", headDim, "an even number > 0 (RoPE rotates pairs)"); }
        }
        else if (c.HiddenSize % c.NumAttentionHeads != 0 || c.HiddenSize / c.NumAttentionHeads % 2 != 0)
        {
            ModelConfig.Fail("num_attention_heads", c.NumAttentionHeads, $"a divisor of hidden_size ({c.HiddenSize}) leaving an even head width, or an explicit head_dim");
        }
        if (c.HiddenAct != "silu") { ModelConfig.Fail("hidden_act", $"\"{c.HiddenAct}\"", "\"silu\""); }
        if (c.AttentionDropout is < 0 or >= 1 || double.IsNaN(c.AttentionDropout)) { ModelConfig.Fail("attention_dropout", c.AttentionDropout, "in [0, 1)"); }
        if (c.UseMrope == true) { ModelConfig.Fail("use_mrope", true, "false (multimodal RoPE is not implemented)"); }
        if (c.UseSlidingWindow == true) { ModelConfig.Fail("use_sliding_window", true, "false (sliding-window attention is not implemented)"); }
        ModelConfig.PositiveFinite("rms_norm_eps", c.RmsNormEps);
        ModelConfig.Positive("max_position_embeddings", c.MaxPositionEmbeddings);
        ModelConfig.PositiveFinite("rope_theta", c.RopeTheta);
        ModelConfig.PositiveFinite("initializer_range", c.InitializerRange);
        if (c.RopeScaling is { } rope) { ValidateRope(c, rope); }
        if (c.Extra?.TryGetValue("partial_rotary_factor", out var partial) == true && !(partial.ValueKind == System.Text.Json.JsonValueKind.Number && partial.GetDouble() == 1.0))
        {
            ModelConfig.Fail("partial_rotary_factor", partial.ToString(), "1 or absent (RoPE over part of the head is not implemented)");
        }
        if (c.QuantizationConfig is not null) { ModelConfig.Fail("quantization_config", "(present)", $"absent: {c.ModelType} checkpoints are read in F32, BF16 or F16"); }
        c.ValidateTokenId("bos_token_id", c.BosTokenId);
        c.ValidateTokenId("eos_token_id", c.EosTokenId);
        c.ValidateTokenId("pad_token_id", c.PadTokenId);
    }

    private static void ValidateRope(ModelConfig c, RopeScaling rope)
    {
        var key = c.RopeKey;
        if (!RopeKinds.Contains(rope.Kind)) { ModelConfig.Fail($"{key}.rope_type", $"\"{rope.Kind}\"", ModelConfig.OneOf(RopeKinds)); }
        if (rope.Kind == "default") { return; }
        if (!(rope.Factor >= 1) || double.IsInfinity(rope.Factor)) { ModelConfig.Fail($"{key}.factor", rope.Factor, "a finite value ≥ 1"); }
        ModelConfig.Positive($"{key}.original_max_position_embeddings", rope.OriginalMaxPositionEmbeddings);
        if (rope.Kind != "llama3") { return; }
        if (rope.LowFreqFactor is not { } low || !(low > 0) || double.IsInfinity(low)) { ModelConfig.Fail($"{key}.low_freq_factor", rope.LowFreqFactor, "a finite value > 0"); }
        if (rope.HighFreqFactor is not { } high || !(high > rope.LowFreqFactor) || double.IsInfinity(high))
        {
            ModelConfig.Fail($"{key}.high_freq_factor", rope.HighFreqFactor, $"a finite value > low_freq_factor ({rope.LowFreqFactor})");
        }
    }

    /// <summary>Every tensor in checkpoint order: embed_tokens, per layer the norms, q/k/v/o and the MLP (with their
    /// biases where the family has them), model.norm, and lm_head unless tie_word_embeddings.</summary>
    public static IReadOnlyList<ParameterShape> Parameters(ModelConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var list = new List<ParameterShape>();
        int d = c.HiddenSize, v = c.VocabSize, hd = c.AttentionHeadDim, q = c.NumAttentionHeads * hd, kv = c.NumKeyValueHeads * hd;
        list.Add(new("model.embed_tokens.weight", [v, d], ParameterComponent.Embedding, -1, false, false));
        for (var i = 0; i < c.NumHiddenLayers; i++)
        {
            var p = $"model.layers.{i}.";
            void Add(string name, int[] shape, ParameterComponent component, bool fp8 = false) => list.Add(new(p + name, shape, component, i, false, fp8));
            void Linear(string name, int outFeatures, int inFeatures, ParameterComponent component, bool bias)
            {
                Add(name + ".weight", [outFeatures, inFeatures], component, fp8: true);
                if (bias) { Add(name + ".bias", [outFeatures], component); }
            }
            Add("input_layernorm.weight", [d], ParameterComponent.Norms);
            Linear("self_attn.q_proj", q, d, ParameterComponent.Attention, QkvBias(c));
            Linear("self_attn.k_proj", kv, d, ParameterComponent.Attention, QkvBias(c));
            Linear("self_attn.v_proj", kv, d, ParameterComponent.Attention, QkvBias(c));
            Linear("self_attn.o_proj", d, q, ParameterComponent.Attention, OutputBias(c));
            Add("post_attention_layernorm.weight", [d], ParameterComponent.Norms);
            Linear("mlp.gate_proj", c.IntermediateSize, d, ParameterComponent.DenseMlp, MlpBias(c));
            Linear("mlp.up_proj", c.IntermediateSize, d, ParameterComponent.DenseMlp, MlpBias(c));
            Linear("mlp.down_proj", d, c.IntermediateSize, ParameterComponent.DenseMlp, MlpBias(c));
        }
        list.Add(new("model.norm.weight", [d], ParameterComponent.Norms, -1, false, false));
        if (!c.TieWordEmbeddings) { list.Add(new("lm_head.weight", [v, d], ParameterComponent.Head, -1, false, false)); }
        return list;
    }

    /// <summary>Decoder layer <paramref name="layer"/> with its parameters looked up by HF name.</summary>
    public static Block Block(ModelConfig c, int layer, Func<string, Parameter> get)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(get);
        var p = $"model.layers.{layer}.";
        Linear L(string name, bool bias) => new() { Weight = get(p + name + ".weight"), Bias = bias ? get(p + name + ".bias") : null };
        RmsNorm N(string name) => new() { Weight = get(p + name + ".weight"), Eps = c.RmsNormEps };
        return new Block
        {
            Index = layer,
            InputNorm = N("input_layernorm"),
            Attention = new Gqa
            {
                Config = c,
                Layer = layer,
                Q = L("self_attn.q_proj", QkvBias(c)),
                K = L("self_attn.k_proj", QkvBias(c)),
                V = L("self_attn.v_proj", QkvBias(c)),
                O = L("self_attn.o_proj", OutputBias(c)),
            },
            PostAttentionNorm = N("post_attention_layernorm"),
            FeedForward = new Mlp { Gate = L("mlp.gate_proj", MlpBias(c)), Up = L("mlp.up_proj", MlpBias(c)), Down = L("mlp.down_proj", MlpBias(c)) },
        };
    }
}
