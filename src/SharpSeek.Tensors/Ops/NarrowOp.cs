// NarrowOp.cs: elements [start, start + length) along one axis, copied into a new contiguous tensor, on the tape (MLA's
// q_nope/q_pe and c_kv/k_pe splits, the MoE's per-expert row blocks). Not here: strided views (Tensor.Narrow).
// Tested by OpGradientTests.
using System.Numerics;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Ops;

public static class NarrowOp
{
    /// <summary>y = x[..., start : start + length, ...] along <paramref name="axis"/> (negative counts from the end); y is contiguous.</summary>
    public static Var Apply(Tape tape, Var x, int axis, long start, long length)
    {
        var xv = tape.Value(x);
        Expect.FloatingPoint(xv, "narrow", "x");
        var a = Axes.Normalize(axis, xv.Rank, "narrow");
        if (start < 0 || length < 0 || start + length > xv.Size(a))
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"narrow: [{start}, {start + length}) is outside axis {a} of x {xv.Shape} (size {xv.Size(a)})");
        }
        Span<long> dims = stackalloc long[xv.Rank];
        for (var i = 0; i < xv.Rank; i++) { dims[i] = i == a ? length : xv.Size(i); }
        var y = tape.Arena.Allocate(xv.DType, new Shape(dims));
        var (outer, inner) = Axes.OuterInner(xv.Shape, a);
        if (y.DType == DType.F64) { Copy<double>(xv.AsSpan<double>(), y.AsSpan<double>(), outer, xv.Size(a) * inner, start * inner, length * inner); }
        else { Copy<float>(xv.AsSpan<float>(), y.AsSpan<float>(), outer, xv.Size(a) * inner, start * inner, length * inner); }
        var node = new Node(OpKind.Narrow, default, x) { I0 = a, L0 = start };
        return Expect.Record(tape, y, node, tape.ShouldRecord(x));
    }

    // y[o, :] = x[o, offset : offset + run] for each of the outer blocks of width `width`.
    private static void Copy<T>(ReadOnlySpan<T> x, Span<T> y, long outer, long width, long offset, long run) where T : unmanaged
    {
        for (long o = 0; o < outer; o++) { x.Slice((int)(o * width + offset), (int)run).CopyTo(y.Slice((int)(o * run), (int)run)); }
    }

    internal static void Backward(Tape tape, in Node node)
    {
        if (tape.Value(node.Out).DType == DType.F64) { Backward<double>(tape, in node); } else { Backward<float>(tape, in node); }
    }

    // forward: y = x[start : start + length] along the axis  ⇒  dx[start : start + length] += dy, zero elsewhere
    private static void Backward<T>(Tape tape, in Node node) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var dx = tape.GradOrDefault(node.A);
        if (!dx.IsValid) { return; }
        var dy = tape.Grad(node.Out);
        var (outer, inner) = Axes.OuterInner(dx.Shape, node.I0);
        long width = dx.Size(node.I0) * inner, run = dy.Size(node.I0) * inner, offset = node.L0 * inner;
        var d = dx.AsSpan<T>();
        var g = dy.AsSpan<T>();
        for (long o = 0; o < outer; o++) { Elementwise.Axpy<T>(g.Slice((int)(o * run), (int)run), T.One, d.Slice((int)(o * width + offset), (int)run)); }
    }
}

/// <summary>Axis arithmetic shared by the shape ops: a tensor seen as (outer, axis, inner).</summary>
internal static class Axes
{
    public static int Normalize(int axis, int rank, string op)
    {
        var a = axis < 0 ? axis + rank : axis;
        if ((uint)a >= (uint)rank) { throw new ArgumentOutOfRangeException(nameof(axis), $"{op}: axis {axis} is out of range for rank {rank}"); }
        return a;
    }

    /// <summary>The products of the dimensions before and after <paramref name="axis"/>.</summary>
    public static (long Outer, long Inner) OuterInner(Shape shape, int axis)
    {
        long outer = 1, inner = 1;
        for (var i = 0; i < axis; i++) { outer *= shape[i]; }
        for (var i = axis + 1; i < shape.Rank; i++) { inner *= shape[i]; }
        return (outer, inner);
    }
}
