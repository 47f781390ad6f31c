// TakeAlongOp.cs: per row, the entries at given column indices, on the tape (the router weights: the original scores at the
// chosen experts; the choice itself is a constant). Tested by OpGradientTests.
using System.Numerics;
using SharpSeek.Tensors.Autograd;

namespace SharpSeek.Tensors.Ops;

public static class TakeAlongOp
{
    /// <summary>y[r, k] = x[r, index[r, k]]; x: (R, C), index: I32 (R, K) with entries in [0, C); y: (R, K).</summary>
    public static Var Apply(Tape tape, Var x, Tensor index)
    {
        var xv = tape.Value(x);
        Expect.FloatingPoint(xv, "take-along", "x");
        Expect.Int32(index, "take-along", "index");
        if (xv.Rank != 2 || index.Rank != 2 || index.Size(0) != xv.Size(0))
        {
            throw new ArgumentException($"take-along: expected x (R, C) and index (R, K) with the same R; got x {xv.Shape}, index {index.Shape}");
        }
        int cols = (int)xv.Size(1), k = (int)index.Size(1);
        var ids = index.AsSpan<int>();
        for (var i = 0; i < ids.Length; i++)
        {
            if ((uint)ids[i] >= (uint)cols) { throw new ArgumentOutOfRangeException(nameof(index), $"take-along: index[{i}] = {ids[i]} is outside [0, {cols}) (the columns of x {xv.Shape})"); }
        }
        var y = tape.Arena.Allocate(xv.DType, index.Shape);
        if (y.DType == DType.F64) { Forward<double>(xv.AsSpan<double>(), ids, cols, k, y.AsSpan<double>()); }
        else { Forward<float>(xv.AsSpan<float>(), ids, cols, k, y.AsSpan<float>()); }
        return Expect.Record(tape, y, new Node(OpKind.TakeAlong, default, x) { Saved0 = index, I0 = cols, I1 = k }, tape.ShouldRecord(x));
    }

    private static void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<int> index, int cols, int k, Span<T> y) where T : unmanaged
    {
        for (var i = 0; i < index.Length; i++) { y[i] = x[i / k * cols + index[i]]; }
    }

    internal static void Backward(Tape tape, in Node node)
    {
        if (tape.Value(node.Out).DType == DType.F64) { Backward<double>(tape, in node); } else { Backward<float>(tape, in node); }
    }

    // forward: y[r, k] = x[r, index[r, k]]  ⇒  dx[r, index[r, k]] += dy[r, k]
    private static void Backward<T>(Tape tape, in Node node) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var dx = tape.GradOrDefault(node.A);
        if (!dx.IsValid) { return; }
        var d = dx.AsSpan<T>();
        var g = tape.Grad(node.Out).AsSpan<T>();
        var index = node.Saved0.AsSpan<int>();
        for (var i = 0; i < index.Length; i++) { d[i / node.I1 * node.I0 + index[i]] += g[i]; }
    }
}
