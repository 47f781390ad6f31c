// NormalizeRowsOp.cs: each row divided by its sum, on the tape (the router's norm_topk_prob). Tested by OpGradientTests.
using System.Numerics;
using SharpSeek.Tensors.Autograd;

namespace SharpSeek.Tensors.Ops;

public static class NormalizeRowsOp
{
    /// <summary>y[r, j] = x[r, j] / (Σ_j x[r, j] + eps) over the last axis.</summary>
    public static Var Apply(Tape tape, Var x, double eps = 0)
    {
        var xv = tape.Value(x);
        Expect.FloatingPoint(xv, "normalize-rows", "x");
        var y = tape.Arena.Allocate(xv.DType, xv.Shape);
        int cols = (int)xv.Shape.Last;
        if (y.DType == DType.F64) { Forward<double>(xv.AsSpan<double>(), cols, eps, y.AsSpan<double>()); }
        else { Forward<float>(xv.AsSpan<float>(), cols, eps, y.AsSpan<float>()); }
        return Expect.Record(tape, y, new Node(OpKind.NormalizeRows, default, x) { I0 = cols, F0 = eps }, tape.ShouldRecord(x));
    }

    private static void Forward<T>(ReadOnlySpan<T> x, int cols, double eps, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (var r = 0; r + cols <= x.Length && cols > 0; r += cols)
        {
            var inv = T.One / (RowSum(x.Slice(r, cols)) + T.CreateChecked(eps));
            for (var j = 0; j < cols; j++) { y[r + j] = x[r + j] * inv; }
        }
    }

    private static T RowSum<T>(ReadOnlySpan<T> row) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var s = T.Zero;
        foreach (var v in row) { s += v; }
        return s;
    }

    internal static void Backward(Tape tape, in Node node)
    {
        if (tape.Value(node.Out).DType == DType.F64) { Backward<double>(tape, in node); } else { Backward<float>(tape, in node); }
    }

    // forward: y_j = x_j / (s + eps), s = Σ x  ⇒  dx_j = (dy_j − Σ_k dy_k·y_k) / (s + eps)
    private static void Backward<T>(Tape tape, in Node node) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var dx = tape.GradOrDefault(node.A);
        if (!dx.IsValid) { return; }
        var x = tape.Value(node.A).AsSpan<T>();
        var y = tape.Value(node.Out).AsSpan<T>();
        var dy = tape.Grad(node.Out).AsSpan<T>();
        var d = dx.AsSpan<T>();
        var cols = node.I0;
        for (var r = 0; r + cols <= x.Length && cols > 0; r += cols)
        {
            var inv = T.One / (RowSum(x.Slice(r, cols)) + T.CreateChecked(node.F0));
            var dot = T.Zero;
            for (var j = 0; j < cols; j++) { dot += dy[r + j] * y[r + j]; }
            for (var j = 0; j < cols; j++) { d[r + j] += (dy[r + j] - dot) * inv; }
        }
    }
}
