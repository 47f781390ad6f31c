// ActivationOps.cs: SiLU and the fused SwiGLU gate of the DeepSeek MLP and experts, on the tape.
// Tested by OpGradientTests.
using System.Numerics;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Ops;

public static class SiluOp
{
    /// <summary>y = x · sigmoid(x).</summary>
    public static Var Apply(Tape tape, Var x)
    {
        var xv = tape.Value(x);
        Expect.FloatingPoint(xv, "silu", "x");
        var y = tape.Arena.Allocate(xv.DType, xv.Shape);
        if (y.DType == DType.F64) { Silu.Forward<double>(xv.AsSpan<double>(), y.AsSpan<double>()); }
        else { Silu.Forward<float>(xv.AsSpan<float>(), y.AsSpan<float>()); }
        return Expect.Record(tape, y, new Node(OpKind.Silu, default, x), tape.ShouldRecord(x));
    }

    internal static void Backward(Tape tape, in Node node)
    {
        if (tape.Value(node.Out).DType == DType.F64) { Backward<double>(tape, in node); } else { Backward<float>(tape, in node); }
    }

    // forward: y = x·σ(x)  ⇒  dx = dy·σ(x)·(1 + x·(1 − σ(x)))
    private static void Backward<T>(Tape tape, in Node node) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var dx = tape.GradTarget(node.A);
        Silu.Backward<T>(tape.Grad(node.Out).AsSpan<T>(), tape.Value(node.A).AsSpan<T>(), dx.AsSpan<T>());
        tape.FinishGrad(node.A, dx);
    }
}

public static class SwiGluOp
{
    /// <summary>y = silu(gate) ⊙ up (same shapes).</summary>
    public static Var Apply(Tape tape, Var gate, Var up)
    {
        var (g, u) = (tape.Value(gate), tape.Value(up));
        Expect.SameShapeAndType(g, u, "swiglu");
        Expect.FloatingPoint(g, "swiglu", "gate");
        var y = tape.Arena.Allocate(g.DType, g.Shape);
        if (y.DType == DType.F64) { SwiGlu.Forward<double>(g.AsSpan<double>(), u.AsSpan<double>(), y.AsSpan<double>()); }
        else { SwiGlu.Forward<float>(g.AsSpan<float>(), u.AsSpan<float>(), y.AsSpan<float>()); }
        return Expect.Record(tape, y, new Node(OpKind.SwiGlu, default, gate, up), tape.ShouldRecord(gate, up));
    }

    internal static void Backward(Tape tape, in Node node)
    {
        if (tape.Value(node.Out).DType == DType.F64) { Backward<double>(tape, in node); } else { Backward<float>(tape, in node); }
    }

    // forward: y = silu(g)·u  ⇒  dg = dy·u·silu'(g),  du = dy·silu(g)
    private static void Backward<T>(Tape tape, in Node node) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var dGate = tape.GradTarget(node.A, always: true);
        var dUp = tape.GradTarget(node.B, always: true);
        SwiGlu.Backward<T>(tape.Grad(node.Out).AsSpan<T>(), tape.Value(node.A).AsSpan<T>(), tape.Value(node.B).AsSpan<T>(), dGate.AsSpan<T>(), dUp.AsSpan<T>());
        tape.FinishGrad(node.A, dGate);
        tape.FinishGrad(node.B, dUp);
    }
}
