// Silu.cs: SiLU y = x·σ(x) and its backward over spans, with the naive reference. Not here: the operator structs
// (Elementwise.cs), the fused gate (SwiGlu.cs). Tested by SiluTests.
using System.Numerics;

namespace SharpSeek.Tensors.Kernels;

/// <summary>y[i] = x[i]·σ(x[i]), σ(z) = 1 / (1 + exp(−z)).</summary>
public static class Silu
{
    public static void Forward<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Elementwise.Silu(x, y);

    // forward: y = x·σ(x)  ⇒  dx = dy·σ(x)·(1 + x·(1 − σ(x)))
    public static void Backward<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, Span<T> dx) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Elementwise.SiluBackward(x, dy, dx);

    /// <summary>The scalar reference in double.</summary>
    public static void ForwardNaive<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Operators.CheckLength(nameof(y), x.Length, y.Length);
        for (var i = 0; i < x.Length; i++)
        {
            var v = double.CreateChecked(x[i]);
            y[i] = T.CreateChecked(v / (1 + Math.Exp(-v)));
        }
    }
}
