// ParameterBreakdown.cs: parameter counts per component. Not here: the counting (ParameterShapes.cs). Tested by ParameterShapesTests.
namespace SharpSeek.Model;

/// <summary>Element counts per <see cref="ParameterComponent"/>, and their sum.</summary>
public sealed record ParameterBreakdown(
    long Embedding, long Attention, long DenseMlp, long RoutedExperts, long SharedExperts, long Router, long Norms, long Head,
    long MtpProjection)
{
    public long Total => Embedding + Attention + DenseMlp + RoutedExperts + SharedExperts + Router + Norms + Head + MtpProjection;

    public long this[ParameterComponent component] => component switch
    {
        ParameterComponent.Embedding => Embedding,
        ParameterComponent.Attention => Attention,
        ParameterComponent.DenseMlp => DenseMlp,
        ParameterComponent.RoutedExperts => RoutedExperts,
        ParameterComponent.SharedExperts => SharedExperts,
        ParameterComponent.Router => Router,
        ParameterComponent.Norms => Norms,
        ParameterComponent.Head => Head,
        ParameterComponent.MtpProjection => MtpProjection,
        _ => throw new ArgumentOutOfRangeException(nameof(component)),
    };

    internal static ParameterBreakdown Sum(IEnumerable<ParameterShape> tensors)
    {
        var sums = new long[Enum.GetValues<ParameterComponent>().Length];
        foreach (var t in tensors) { sums[(int)t.Component] += t.Elements; }
        return new(sums[0], sums[1], sums[2], sums[3], sums[4], sums[5], sums[6], sums[7], sums[8]);
    }
}
