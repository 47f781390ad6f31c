// SafeTensorInfo.cs: one validated header entry of a safetensors file (name, dtype, shape, where its bytes are). Not here:
// parsing (SafeTensorsFile.cs). Tested by SafeTensorsFileTests.
using SharpSeek.Tensors;

namespace SharpSeek.Model.Checkpoint;

/// <summary>A tensor of a safetensors file: <paramref name="Offset"/> and <paramref name="Length"/> are bytes within the
/// file's data section (the header's <c>data_offsets</c> [begin, end) as begin and end − begin).</summary>
public sealed record SafeTensorInfo(string Name, DType DType, long[] Shape, long Offset, long Length)
{
    /// <summary>product(Shape); 1 for a scalar (shape []).</summary>
    public long Elements => Shape.Aggregate(1L, (n, d) => n * d);

    /// <summary>"[a, b]", the way every message in this namespace writes a shape.</summary>
    public string ShapeText => Format(Shape);

    internal static string Format(IEnumerable<long> shape) => $"[{string.Join(", ", shape)}]";
}
