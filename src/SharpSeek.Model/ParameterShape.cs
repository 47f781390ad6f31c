// ParameterShape.cs: one checkpoint tensor as a name and a shape, nothing allocated. Not here: the list (ParameterShapes.cs).
// Tested by ParameterShapesTests.
namespace SharpSeek.Model;

/// <summary>One tensor of the HF checkpoint: its name, its shape ([out, in] for a Linear), the component it counts
/// toward, its layer (-1 for top-level tensors), whether it belongs to an MTP module, and whether the FP8 release stores
/// it as E4M3 with a <c>weight_scale_inv</c> companion.</summary>
public sealed record ParameterShape(string Name, int[] Shape, ParameterComponent Component, int Layer, bool IsMtp, bool IsFp8)
{
    public long Elements => Shape.Aggregate(1L, (n, d) => n * d);

    /// <summary>"name [a, b]", the line format of the approval files.</summary>
    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}]";
}
