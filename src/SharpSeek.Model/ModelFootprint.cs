// ModelFootprint.cs: what a config costs before anything is built: its tensor count and parameter count worked out
// arithmetically (enumerating ParameterShapes.For of a config with 10^9 experts is itself the blow-up), and the checks
// that refuse a config whose tensors cannot be enumerated (a dimension past int, more than MaxTensors tensors) or whose
// weights cannot fit in this process's memory, with a message naming the size fields. Called by ParameterShapes.For,
// ModelWeights and CheckpointDirectory.Open. Not here: the tensors themselves (ParameterShapes.cs). Tested by
// ParameterShapesTests.
namespace SharpSeek.Model;

/// <summary>Tensor and parameter counts of a config without enumerating its tensors, and the memory check.</summary>
public static class ModelFootprint
{
    /// <summary>The sanity bound on tensors per model, about twenty times DeepSeek-V3 671B's 46,183 (each is a name and a shape in memory).</summary>
    public const int MaxTensors = 1_000_000;

    /// <summary>Checkpoint tensors, as <c>ParameterShapes.For(c).Count</c>, MTP copies of embedding and head included.</summary>
    public static Int128 Tensors(ModelConfig c) => Sum(c).Tensors;

    /// <summary>Elements of every checkpoint tensor, as the sum over <c>ParameterShapes.For(c)</c>.</summary>
    public static Int128 Parameters(ModelConfig c) => Sum(c).Elements;

    /// <summary>Elements held once each, as <see cref="ModelWeights"/> allocates them (the MTP copies are aliases).</summary>
    public static Int128 UniqueParameters(ModelConfig c) => Sum(c).Elements - (2 * (Int128)c.MtpDepth * c.VocabSize * c.HiddenSize);

    /// <summary>Throws <see cref="InvalidDataException"/> (prefixed with <paramref name="source"/>, the config's file, when
    /// known) when a tensor dimension overflows an int or the config has more than <see cref="MaxTensors"/> tensors.</summary>
    public static void EnsureEnumerable(ModelConfig c, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(c);
        long h = c.NumAttentionHeads;
        (string What, long Value)[] dims = c.IsDense ?
        [
            ("num_attention_heads × head_dim", h * c.AttentionHeadDim),
            ("num_key_value_heads × head_dim", (long)c.NumKeyValueHeads * c.AttentionHeadDim),
        ] :
        [
            ("num_attention_heads × (qk_nope_head_dim + qk_rope_head_dim)", h * ((long)c.QkNopeHeadDim + c.QkRopeHeadDim)),
            ("num_attention_heads × (qk_nope_head_dim + v_head_dim)", h * ((long)c.QkNopeHeadDim + c.VHeadDim)),
            ("num_attention_heads × v_head_dim", h * c.VHeadDim),
            ("kv_lora_rank + qk_rope_head_dim", (long)c.KvLoraRank + c.QkRopeHeadDim),
            ("2 × hidden_size", 2L * c.HiddenSize),
            ("moe_intermediate_size × n_shared_experts", (long)c.MoeIntermediateSize * c.SharedExperts),
        ];
        foreach (var (what, value) in dims.Where(d => d.Value > int.MaxValue))
        {
            throw new InvalidDataException($"{At(source)}{what} = {value}: expected at most {int.MaxValue} (a tensor dimension is an int); {Fields(c)}");
        }
        var tensors = Tensors(c);
        if (tensors > MaxTensors)
        {
            throw new InvalidDataException($"{At(source)}the config describes {tensors:N0} tensors ({Fields(c)}); expected at most {MaxTensors:N0}");
        }
    }

    /// <summary>Throws <see cref="InvalidDataException"/> when the weights, at <paramref name="bytesPerParameter"/> bytes per
    /// unique parameter, exceed <paramref name="availableBytes"/> (default: the memory this process may use, from
    /// <see cref="GC.GetGCMemoryInfo()"/>), or when <see cref="EnsureEnumerable"/> fails. Allocates nothing.</summary>
    public static void EnsureFits(ModelConfig c, long bytesPerParameter, string? source = null, long? availableBytes = null)
    {
        ArgumentNullException.ThrowIfNull(c);
        var available = availableBytes ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        var parameters = UniqueParameters(c);
        var needed = parameters * bytesPerParameter;
        if (needed > available)
        {
            throw new InvalidDataException($"{At(source)}the model has {(double)parameters:G3} parameters, which need {Size(needed)} at "
                + $"{bytesPerParameter} bytes each, but this process can use {Size(available)}; expected a config that fits ({Fields(c)})");
        }
        EnsureEnumerable(c, source);
    }

    private static string At(string? source) => source is null ? "" : source + ": ";

    private static string Fields(ModelConfig c) => c.IsDense
        ? $"num_hidden_layers = {c.NumHiddenLayers}, hidden_size = {c.HiddenSize}, vocab_size = {c.VocabSize}, intermediate_size = {c.IntermediateSize}, "
            + $"num_attention_heads = {c.NumAttentionHeads}, num_key_value_heads = {c.NumKeyValueHeads}"
        : $"num_hidden_layers = {c.NumHiddenLayers}, num_nextn_predict_layers = {c.NumNextnPredictLayers}, n_routed_experts = {c.RoutedExperts}, "
        + $"hidden_size = {c.HiddenSize}, vocab_size = {c.VocabSize}, intermediate_size = {c.IntermediateSize}, moe_intermediate_size = {c.MoeIntermediateSize}";

    private static string Size(Int128 bytes) => (double)bytes switch
    {
        >= 1e12 => $"{(double)bytes / 1e12:F1} TB",
        >= 1e9 => $"{(double)bytes / 1e9:F1} GB",
        _ => $"{(double)bytes / 1e6:F1} MB",
    };

    // The same inventory as ParameterShapes.For, counted per kind of layer instead of per tensor.
    private static (Int128 Tensors, Int128 Elements) Sum(ModelConfig c)
    {
        if (c.IsDense) { return DenseSum(c); }
        Int128 d = c.HiddenSize, v = c.VocabSize, h = c.NumAttentionHeads, kv = c.KvLoraRank, e = c.RoutedExperts;
        Int128 nope = c.QkNopeHeadDim, qk = nope + c.QkRopeHeadDim;
        Int128 layers = c.TotalLayers, mtp = c.NumNextnPredictLayers;
        var firstMoe = Math.Min(c.FirstKDenseReplace, c.TotalLayers);
        Int128 moe = CeilDiv(c.TotalLayers, c.MoeLayerFreq) - CeilDiv(firstMoe, c.MoeLayerFreq), dense = layers - moe;
        var q = c.UsesQLora
            ? (Tensors: 3, Elements: ((Int128)c.QLoraRank!.Value * d) + c.QLoraRank.Value + (h * qk * c.QLoraRank.Value))
            : (Tensors: 1, Elements: h * qk * d);
        // Every layer: two norms, the query path, kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj, o_proj.
        var layerTensors = 2 + q.Tensors + 4;
        var layerElements = (2 * d) + q.Elements + ((kv + c.QkRopeHeadDim) * d) + kv + (h * (nope + c.VHeadDim) * kv) + (d * h * c.VHeadDim);
        var shared = c.SharedExperts > 0 ? 1 : 0;
        var moeTensors = 1 + (c.HasCorrectionBias ? 1 : 0) + (3 * e) + (3 * shared);
        var moeElements = (e * d) + (c.HasCorrectionBias ? e : 0) + (3 * e * c.MoeIntermediateSize * d) + (3 * (Int128)c.MoeIntermediateSize * c.SharedExperts * d);
        // An MTP module adds embed_tokens, enorm, hnorm, eh_proj, shared_head.norm and shared_head.head.
        Int128 mtpElements = (2 * v * d) + (3 * d) + (2 * d * d);
        var top = c.TieWordEmbeddings ? 2 : 3;
        var tensors = top + (layers * layerTensors) + (dense * 3) + (moe * moeTensors) + (mtp * 6);
        var elements = (v * d * (top - 1)) + d + (layers * layerElements) + (dense * 3 * c.IntermediateSize * d) + (moe * moeElements) + (mtp * mtpElements);
        return (tensors, elements);
    }

    // DenseFamily.Parameters counted: per layer two norms, q/k/v/o and the three MLP matrices, with the family's biases.
    private static (Int128 Tensors, Int128 Elements) DenseSum(ModelConfig c)
    {
        Int128 d = c.HiddenSize, v = c.VocabSize, q = (Int128)c.NumAttentionHeads * c.AttentionHeadDim, kv = (Int128)c.NumKeyValueHeads * c.AttentionHeadDim;
        Int128 inter = c.IntermediateSize, layers = c.NumHiddenLayers;
        bool qkvBias = DenseFamily.QkvBias(c), oBias = DenseFamily.OutputBias(c), mlpBias = DenseFamily.MlpBias(c);
        var layerTensors = 2 + 4 + 3 + (qkvBias ? 3 : 0) + (oBias ? 1 : 0) + (mlpBias ? 3 : 0);
        var layerElements = (2 * d) + (2 * q * d) + (2 * kv * d) + (3 * inter * d)
            + (qkvBias ? q + (2 * kv) : 0) + (oBias ? d : 0) + (mlpBias ? (2 * inter) + d : 0);
        var top = c.TieWordEmbeddings ? 2 : 3;
        return (top + (layers * layerTensors), (v * d * (top - 1)) + d + (layers * layerElements));
    }

    private static Int128 CeilDiv(Int128 a, Int128 b) => (a + b - 1) / b;
}
