// RecomputeOp.cs: recomputation in back-propagation (DeepSeek-V3, arXiv:2412.19437 §3.2.3, "we recompute all RMSNorm
// operations and MLA up-projections during back-propagation, thereby eliminating the need to persistently store their
// output activations"; activation checkpointing, Chen et al. 2016, arXiv:1604.06174), forward and backward side by
// side. The forward runs a region (a function of one or two values) on a second tape with gradients off, inside an
// arena scope, and keeps only its output; the backward runs the region again from the same inputs with gradients on,
// backpropagates the output's gradient through it (the parameters' gradients accumulate as usual) and adds the inputs'
// gradients into the outer tape, the scope giving everything back. The region must compute the same values both times
// (our kernels are deterministic), so the gradients equal the plain tape's bit for bit. Not here: which regions (the
// model's Block and Moe under FP8). Tested by RecomputeOpTests.
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Ops;

/// <summary>A region: values <paramref name="a"/> and <paramref name="b"/> (Var(−1) when absent) on
/// <paramref name="tape"/> → its F32 output.</summary>
public delegate Var RecomputeRegion(Tape tape, Var a, Var b);

public static class RecomputeOp
{
    /// <summary>y = region(a, b), an F32 tensor of <paramref name="shape"/>, keeping only a, b and y for backward.</summary>
    public static Var Apply(Tape tape, Var a, Var b, Shape shape, RecomputeRegion region)
    {
        ArgumentNullException.ThrowIfNull(region);
        var y = tape.Arena.AllocateUninitialized(DType.F32, shape);
        var inner = tape.Region();
        try
        {
            using var scratch = tape.Arena.Scope();
            inner.GradEnabled = false;
            var output = inner.Value(region(inner, inner.Constant(tape.Value(a)), b.Id < 0 ? b : inner.Constant(tape.Value(b))));
            if (output.Shape != shape || output.DType != DType.F32) { throw new InvalidOperationException($"recompute: the region returned {output.DType} {output.Shape}; expected F32 {shape}"); }
            output.CopyTo(y);
        }
        finally
        {
            inner.Clear();
        }
        return Expect.Record(tape, y, new Node(OpKind.Recompute, default, a, b) { Payload = region }, tape.GradEnabled); // the region's parameters need the backward whatever a and b need
    }

    internal static void Backward(Tape tape, in Node node)
    {
        var region = (RecomputeRegion)node.Payload!;
        var dy = tape.Grad(node.Out);
        var (da, db) = (tape.GradOrDefault(node.A), node.B.Id < 0 ? default : tape.GradOrDefault(node.B));
        var inner = tape.Region();
        try
        {
            using var scratch = tape.Arena.Scope();
            inner.GradEnabled = true;
            var a = Bind(inner, tape.Value(node.A), da);
            var b = node.B.Id < 0 ? node.B : Bind(inner, tape.Value(node.B), db);
            var y = region(inner, a, b);
            if (!inner.RequiresGrad(y)) { return; }
            inner.Backward(y, dy);
            if (da.IsValid) { Elementwise.Axpy<float>(inner.Grad(a).AsSpan<float>(), 1f, da.AsSpan<float>()); }
            if (db.IsValid) { Elementwise.Axpy<float>(inner.Grad(b).AsSpan<float>(), 1f, db.AsSpan<float>()); }
        }
        finally
        {
            inner.Clear();
        }
    }

    // An input of the region: one that takes a gradient when the outer value does.
    private static Var Bind(Tape inner, Tensor value, Tensor grad) => grad.IsValid ? inner.Input(value) : inner.Constant(value);
}
