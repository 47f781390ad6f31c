// ParameterShapes.cs: config → every checkpoint tensor as (HF name, shape), in checkpoint order, without allocating
// (llm.c's fill_in_parameter_sizes), and the counts built on it: total, activated per token, MTP, FP8 scale tensors
// (deepseek-ai/DeepSeek-V3:README_WEIGHTS.md). Not here: each family's table (Families/), the tensors themselves, the
// arithmetic counts and memory checks done before enumerating (ModelFootprint.cs).
// Tested by ParameterShapesTests.
namespace SharpSeek.Model;

/// <summary>The parameter inventory of a <see cref="ModelConfig"/>.</summary>
public static class ParameterShapes
{
    /// <summary>Every weight tensor, as the config's family lists it (<see cref="DeepSeekV3Family.Parameters"/>,
    /// <see cref="DenseFamily.Parameters"/>). Refuses (before enumerating) a config with more
    /// than <see cref="ModelFootprint.MaxTensors"/> tensors or a dimension past int (<see cref="ModelFootprint.EnsureEnumerable"/>).</summary>
    public static IReadOnlyList<ParameterShape> For(ModelConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        ModelFootprint.EnsureEnumerable(c);
        return ModelFamilies.Parameters(c);
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

    private static int CeilDiv(int a, int b) => (a + b - 1) / b;
}
