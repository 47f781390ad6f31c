// BiasAddOp.cs: y = x + b with b broadcast over every row, on the tape: the bias of a Linear (Qwen2's q/k/v projections,
// Llama's optional attention and MLP biases). Tested by OpGradientTests.
using System.Numerics;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Ops;

public static class BiasAddOp
{
    /// <summary>y[r, j] = x[r, j] + b[j]; x: (..., N), b: (N).</summary>
    public static Var Apply(Tape tape, Var x, Var bias)
    {
        var (xv, bv) = (tape.Value(x), tape.Value(bias));
        Expect.FloatingPoint(xv, "bias add", "x");
        if (bv.Rank != 1 || bv.Size(0) != xv.Shape.Last || bv.DType != xv.DType)
        {
            throw new ArgumentException($"bias add: bias {bv.DType} {bv.Shape} does not match the last axis of x {xv.DType} {xv.Shape}");
        }
        var y = tape.Arena.Allocate(xv.DType, xv.Shape);
        if (y.DType == DType.F64) { Forward<double>(xv.AsSpan<double>(), bv.AsSpan<double>(), y.AsSpan<double>()); }
        else { Forward<float>(xv.AsSpan<float>(), bv.AsSpan<float>(), y.AsSpan<float>()); }
        return Expect.Record(tape, y, new Node(OpKind.BiasAdd, default, x, bias), tape.ShouldRecord(x, bias));
    }

    private static void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var n = b.Length;
        for (var r = 0; r < x.Length / n; r++) { Elementwise.Add<T>(x.Slice(r * n, n), b, y.Slice(r * n, n)); }
    }

    internal static void Backward(Tape tape, in Node node)
    {
        if (tape.Value(node.Out).DType == DType.F64) { Backward<double>(tape, in node); } else { Backward<float>(tape, in node); }
    }

    // forward: y = x + 1·bᵀ  ⇒  dx += dy,  db += Σ_rows dy
    private static void Backward<T>(Tape tape, in Node node) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var dy = tape.Grad(node.Out);
        Expect.AddInto(tape, node.A, dy, 1.0);
        var db = tape.GradOrDefault(node.B);
        if (!db.IsValid) { return; }
        var rows = dy.AsSpan<T>();
        var d = db.AsSpan<T>();
        var n = d.Length;
        for (var r = 0; r < rows.Length / n; r++) { Elementwise.Add<T>(d, rows.Slice(r * n, n), d); }
    }
}
