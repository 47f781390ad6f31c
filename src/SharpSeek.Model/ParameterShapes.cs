// ParameterShapes.cs: config → every checkpoint tensor as (HF name, shape), in checkpoint order, without allocating
// (llm.c's fill_in_parameter_sizes), and the counts built on it: total, activated per token, MTP, FP8 scale tensors
// (deepseek-ai/DeepSeek-V3:README_WEIGHTS.md). Not here: the tensors themselves, name mapping onto .NET fields (Checkpoint/WeightNames.cs), the
// arithmetic counts and memory checks done before enumerating (ModelFootprint.cs).
// Tested by ParameterShapesTests.
namespace SharpSeek.Model;

/// <summary>The parameter inventory of a <see cref="ModelConfig"/>.</summary>
public static class ParameterShapes
{
    /// <summary>Every weight tensor: <c>model.embed_tokens</c>, layers 0 .. num_hidden_layers + D - 1 (the last D are
    /// MTP modules with their own embed_tokens, enorm, hnorm, eh_proj, shared_head.norm, shared_head.head),
    /// <c>model.norm</c>, and <c>lm_head</c> unless tie_word_embeddings. Refuses (before enumerating) a config with more
    /// than <see cref="ModelFootprint.MaxTensors"/> tensors or a dimension past int (<see cref="ModelFootprint.EnsureEnumerable"/>).</summary>
    public static IReadOnlyList<ParameterShape> For(ModelConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        ModelFootprint.EnsureEnumerable(c);
        if (c.IsDense) { return DenseFamily.Parameters(c); }
        var list = new List<ParameterShape>();
        int d = c.HiddenSize, v = c.VocabSize;
        list.Add(new("model.embed_tokens.weight", [v, d], ParameterComponent.Embedding, -1, false, false));
        for (var i = 0; i < c.TotalLayers; i++) { AddLayer(list, c, i); }
        list.Add(new("model.norm.weight", [d], ParameterComponent.Norms, -1, false, false));
        if (!c.TieWordEmbeddings) { list.Add(new("lm_head.weight", [v, d], ParameterComponent.Head, -1, false, false)); }
        return list;
    }

    /// <summary>The F32 <c>weight_scale_inv</c> companions of the FP8 tensors: [ceil(out/bo), ceil(in/bi)] for the block
    /// size [bo, bi] of quantization_config (128×128 when the config has none).</summary>
    public static IReadOnlyList<ParameterShape> ScaleTensors(ModelConfig c)
    {
        var block = c.QuantizationConfig?.WeightBlockSize ?? [128, 128];
        return [.. For(c).Where(t => t.IsFp8).Select(t => t with
        {
            Name = t.Name[..^"weight".Length] + "weight_scale_inv",
            Shape = [CeilDiv(t.Shape[0], block[0]), CeilDiv(t.Shape[1], block[1])],
            IsFp8 = false,
        })];
    }

    /// <summary>Totals and activated-per-token counts, per component, for the main model and the MTP modules.</summary>
    public static ParameterCounts Count(ModelConfig c)
    {
        var all = For(c);
        var scales = ScaleTensors(c);
        var main = ParameterBreakdown.Sum(all.Where(t => !t.IsMtp));
        var mtp = ParameterBreakdown.Sum(all.Where(t => t.IsMtp));
        return new(main, Activated(c, main), mtp, Activated(c, mtp), all.Count, scales.Count, scales.Sum(t => t.Elements));
    }

    // A token runs through every tensor except the routed experts it is not sent to: K of E per MoE layer. Every routed
    // expert has the same size, so the routed total is E · (per-expert sum over layers) and K/E of it is exact.
    private static ParameterBreakdown Activated(ModelConfig c, ParameterBreakdown total) =>
        c.IsDense ? total : total with { RoutedExperts = total.RoutedExperts / c.RoutedExperts * c.ExpertsPerToken };

    private static void AddLayer(List<ParameterShape> list, ModelConfig c, int i)
    {
        var p = $"model.layers.{i}.";
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
            Mlp(list, p + "mlp.", c.IntermediateSize, d, ParameterComponent.DenseMlp, i, mtp);
        }
        else
        {
            Add("mlp.gate.weight", [c.RoutedExperts, d], ParameterComponent.Router); // BF16, never FP8
            if (c.HasCorrectionBias) { Add("mlp.gate.e_score_correction_bias", [c.RoutedExperts], ParameterComponent.Router); }
            for (var e = 0; e < c.RoutedExperts; e++)
            {
                Mlp(list, p + $"mlp.experts.{e}.", c.MoeIntermediateSize, d, ParameterComponent.RoutedExperts, i, mtp);
            }
            if (c.SharedExperts > 0)
            {
                Mlp(list, p + "mlp.shared_experts.", c.MoeIntermediateSize * c.SharedExperts, d, ParameterComponent.SharedExperts, i, mtp);
            }
        }

        if (mtp)
        {
            Add("shared_head.norm.weight", [d], ParameterComponent.Norms);
            Add("shared_head.head.weight", [c.VocabSize, d], ParameterComponent.Head);
        }
    }

    // SwiGLU: down(silu(gate(x)) ⊙ up(x)); gate/up [inter, d], down [d, inter].
    private static void Mlp(List<ParameterShape> list, string prefix, int inter, int d, ParameterComponent component, int layer, bool mtp)
    {
        list.Add(new(prefix + "gate_proj.weight", [inter, d], component, layer, mtp, true));
        list.Add(new(prefix + "up_proj.weight", [inter, d], component, layer, mtp, true));
        list.Add(new(prefix + "down_proj.weight", [d, inter], component, layer, mtp, true));
    }

    private static int CeilDiv(int a, int b) => (a + b - 1) / b;
}
