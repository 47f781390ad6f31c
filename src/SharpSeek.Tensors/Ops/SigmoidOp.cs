// SigmoidOp.cs: the logistic function on the tape (DeepSeek-V3's router scores). Tested by OpGradientTests.
using System.Numerics;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Ops;

public static class SigmoidOp
{
    /// <summary>y = 1 / (1 + exp(−x)).</summary>
    public static Var Apply(Tape tape, Var x)
    {
        var xv = tape.Value(x);
        Expect.FloatingPoint(xv, "sigmoid", "x");
        var y = tape.Arena.Allocate(xv.DType, xv.Shape);
        if (y.DType == DType.F64) { Elementwise.Sigmoid<double>(xv.AsSpan<double>(), y.AsSpan<double>()); }
        else { Elementwise.Sigmoid<float>(xv.AsSpan<float>(), y.AsSpan<float>()); }
        return Expect.Record(tape, y, new Node(OpKind.Sigmoid, default, x), tape.ShouldRecord(x));
    }

    internal static void Backward(Tape tape, in Node node)
    {
        if (tape.Value(node.Out).DType == DType.F64) { Backward<double>(tape, in node); } else { Backward<float>(tape, in node); }
    }

    // forward: y = σ(x)  ⇒  dx = dy·y·(1 − y)   (from the saved output)
    private static void Backward<T>(Tape tape, in Node node) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var dx = tape.GradTarget(node.A);
        if (!dx.IsValid) { return; }
        Elementwise.SigmoidBackward<T>(tape.Value(node.Out).AsSpan<T>(), tape.Grad(node.Out).AsSpan<T>(), dx.AsSpan<T>());
        tape.FinishGrad(node.A, dx);
    }
}
