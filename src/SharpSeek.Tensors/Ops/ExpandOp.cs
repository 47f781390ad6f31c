// ExpandOp.cs: repeats a size-1 axis `count` times into a new contiguous tensor, on the tape (MLA's one k_pe per token,
// shared by every head). Tested by OpGradientTests.
using System.Numerics;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Ops;

public static class ExpandOp
{
    /// <summary>y[..., j, ...] = x[..., 0, ...] for j in [0, count) along <paramref name="axis"/>, which must have size 1 in x.</summary>
    public static Var Apply(Tape tape, Var x, int axis, long count)
    {
        var xv = tape.Value(x);
        Expect.FloatingPoint(xv, "expand", "x");
        var a = Axes.Normalize(axis, xv.Rank, "expand");
        if (xv.Size(a) != 1 || count < 1)
        {
            throw new ArgumentException($"expand: axis {a} of x {xv.Shape} must have size 1 and count must be ≥ 1; got size {xv.Size(a)}, count {count}");
        }
        Span<long> dims = stackalloc long[xv.Rank];
        for (var i = 0; i < xv.Rank; i++) { dims[i] = i == a ? count : xv.Size(i); }
        var y = tape.Arena.Allocate(xv.DType, new Shape(dims));
        var (outer, inner) = Axes.OuterInner(xv.Shape, a);
        if (y.DType == DType.F64) { Forward<double>(xv.AsSpan<double>(), y.AsSpan<double>(), outer, count, inner); }
        else { Forward<float>(xv.AsSpan<float>(), y.AsSpan<float>(), outer, count, inner); }
        return Expect.Record(tape, y, new Node(OpKind.Expand, default, x) { I0 = a }, tape.ShouldRecord(x));
    }

    private static void Forward<T>(ReadOnlySpan<T> x, Span<T> y, long outer, long count, long inner) where T : unmanaged
    {
        for (long o = 0; o < outer; o++)
        {
            var src = x.Slice((int)(o * inner), (int)inner);
            for (long j = 0; j < count; j++) { src.CopyTo(y.Slice((int)((o * count + j) * inner), (int)inner)); }
        }
    }

    internal static void Backward(Tape tape, in Node node)
    {
        if (tape.Value(node.Out).DType == DType.F64) { Backward<double>(tape, in node); } else { Backward<float>(tape, in node); }
    }

    // forward: y[o, j, :] = x[o, 0, :]  ⇒  dx[o, 0, :] += Σ_j dy[o, j, :]
    private static void Backward<T>(Tape tape, in Node node) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var dx = tape.GradOrDefault(node.A);
        if (!dx.IsValid) { return; }
        var dy = tape.Grad(node.Out);
        var (outer, inner) = Axes.OuterInner(dx.Shape, node.I0);
        var count = dy.Size(node.I0);
        var d = dx.AsSpan<T>();
        var g = dy.AsSpan<T>();
        for (long o = 0; o < outer; o++)
        {
            var dst = d.Slice((int)(o * inner), (int)inner);
            for (long j = 0; j < count; j++) { Elementwise.Axpy<T>(g.Slice((int)((o * count + j) * inner), (int)inner), T.One, dst); }
        }
    }
}
