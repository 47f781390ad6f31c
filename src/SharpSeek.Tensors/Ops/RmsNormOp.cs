// RmsNormOp.cs: RMSNorm over the last axis with a learned scale, on the tape (rstd saved for backward).
// Tested by OpGradientTests.
using System.Numerics;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Ops;

public static class RmsNormOp
{
    /// <summary>y = x · rstd · w, rstd = 1 / sqrt(mean(x²) + eps) per row; x: (..., D), w: (D).</summary>
    public static Var Apply(Tape tape, Var x, Var weight, double eps)
    {
        var (xv, wv) = (tape.Value(x), tape.Value(weight));
        Expect.FloatingPoint(xv, "rmsnorm", "x");
        if (wv.Rank != 1 || wv.Size(0) != xv.Shape.Last || wv.DType != xv.DType)
        {
            throw new ArgumentException($"rmsnorm: weight {wv.DType} {wv.Shape} does not match the last axis of x {xv.DType} {xv.Shape}");
        }
        var y = tape.Arena.Allocate(xv.DType, xv.Shape);
        var rstd = tape.Arena.Allocate(xv.DType, new Shape(xv.Shape.Rows));
        if (y.DType == DType.F64) { RmsNorm.Forward<double>(xv.AsSpan<double>(), wv.AsSpan<double>(), eps, y.AsSpan<double>(), rstd.AsSpan<double>()); }
        else { RmsNorm.Forward<float>(xv.AsSpan<float>(), wv.AsSpan<float>(), (float)eps, y.AsSpan<float>(), rstd.AsSpan<float>()); }
        return Expect.Record(tape, y, new Node(OpKind.RmsNorm, default, x, weight) { Saved0 = rstd }, tape.ShouldRecord(x, weight));
    }

    internal static void Backward(Tape tape, in Node node)
    {
        if (tape.Value(node.Out).DType == DType.F64) { Backward<double>(tape, in node); } else { Backward<float>(tape, in node); }
    }

    // forward: y = x·rstd·w  ⇒  dx = rstd·(w⊙dy − mean(w⊙dy⊙x̂)·x̂),  dw += Σ_rows dy⊙x̂   (x̂ = x·rstd)
    private static void Backward<T>(Tape tape, in Node node) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var dx = tape.GradTarget(node.A, always: true);
        var dw = tape.GradOrDefault(node.B);
        var dwSpan = dw.IsValid ? dw.AsSpan<T>() : tape.Arena.Allocate(dx.DType, new Shape(tape.Value(node.B).ElementCount)).AsSpan<T>();
        RmsNorm.Backward<T>(tape.Grad(node.Out).AsSpan<T>(), tape.Value(node.A).AsSpan<T>(), tape.Value(node.B).AsSpan<T>(), node.Saved0.AsSpan<T>(), dx.AsSpan<T>(), dwSpan);
        tape.FinishGrad(node.A, dx);
    }
}
