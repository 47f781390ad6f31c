// ElementwiseOps.cs: Add, Mul, Scale, Sum and Reshape on the tape: the small ops that glue layers together, over the
// Kernels/Elementwise driver. Same-shape operands only (no broadcasting). Tested by OpGradientTests.
using System.Numerics;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Ops;

public static class AddOp
{
    /// <summary>y = a + b (same shape).</summary>
    public static Var Apply(Tape tape, Var a, Var b)
    {
        var (av, bv) = (tape.Value(a), tape.Value(b));
        Expect.SameShapeAndType(av, bv, "add");
        var y = tape.Arena.Allocate(av.DType, av.Shape);
        if (y.DType == DType.F64) { Elementwise.Add<double>(av.AsSpan<double>(), bv.AsSpan<double>(), y.AsSpan<double>()); }
        else { Elementwise.Add<float>(av.AsSpan<float>(), bv.AsSpan<float>(), y.AsSpan<float>()); }
        return Expect.Record(tape, y, new Node(OpKind.Add, default, a, b), tape.ShouldRecord(a, b));
    }

    // forward: y = a + b  ⇒  da += dy, db += dy
    internal static void Backward(Tape tape, in Node node)
    {
        var dy = tape.Grad(node.Out);
        Expect.AddInto(tape, node.A, dy, 1.0);
        Expect.AddInto(tape, node.B, dy, 1.0);
    }
}

public static class MulOp
{
    /// <summary>y = a ⊙ b (same shape).</summary>
    public static Var Apply(Tape tape, Var a, Var b)
    {
        var (av, bv) = (tape.Value(a), tape.Value(b));
        Expect.SameShapeAndType(av, bv, "mul");
        var y = tape.Arena.Allocate(av.DType, av.Shape);
        if (y.DType == DType.F64) { Elementwise.Mul<double>(av.AsSpan<double>(), bv.AsSpan<double>(), y.AsSpan<double>()); }
        else { Elementwise.Mul<float>(av.AsSpan<float>(), bv.AsSpan<float>(), y.AsSpan<float>()); }
        return Expect.Record(tape, y, new Node(OpKind.Mul, default, a, b), tape.ShouldRecord(a, b));
    }

    // forward: y = a ⊙ b  ⇒  da += dy ⊙ b, db += dy ⊙ a
    internal static void Backward(Tape tape, in Node node)
    {
        if (tape.Value(node.Out).DType == DType.F64) { Backward<double>(tape, in node); } else { Backward<float>(tape, in node); }
    }

    private static void Backward<T>(Tape tape, in Node node) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var dy = tape.Grad(node.Out).AsSpan<T>();
        var da = tape.GradTarget(node.A);
        if (da.IsValid) { Elementwise.Mul<T>(dy, tape.Value(node.B).AsSpan<T>(), da.AsSpan<T>()); tape.FinishGrad(node.A, da); }
        var db = tape.GradTarget(node.B);
        if (db.IsValid) { Elementwise.Mul<T>(dy, tape.Value(node.A).AsSpan<T>(), db.AsSpan<T>()); tape.FinishGrad(node.B, db); }
    }
}

public static class ScaleOp
{
    /// <summary>y = s · a.</summary>
    public static Var Apply(Tape tape, Var a, double s)
    {
        var av = tape.Value(a);
        var y = tape.Arena.Allocate(av.DType, av.Shape);
        if (y.DType == DType.F64) { Elementwise.Scale<double>(av.AsSpan<double>(), s, y.AsSpan<double>()); }
        else { Elementwise.Scale<float>(av.AsSpan<float>(), (float)s, y.AsSpan<float>()); }
        return Expect.Record(tape, y, new Node(OpKind.Scale, default, a) { F0 = s }, tape.ShouldRecord(a));
    }

    // forward: y = s·a  ⇒  da += s·dy
    internal static void Backward(Tape tape, in Node node) => Expect.AddInto(tape, node.A, tape.Grad(node.Out), node.F0);
}

public static class SumOp
{
    /// <summary>y = Σ a (a scalar of shape (1,)); with <paramref name="mean"/>, divided by the element count.</summary>
    public static Var Apply(Tape tape, Var a, bool mean = false)
    {
        var av = tape.Value(a);
        var y = tape.Arena.Allocate(av.DType, new Shape(1));
        var scale = mean && av.ElementCount > 0 ? 1.0 / av.ElementCount : 1.0;
        if (y.DType == DType.F64) { y.AsSpan<double>()[0] = Elementwise.Sum<double>(av.AsSpan<double>()) * scale; }
        else { y.AsSpan<float>()[0] = (float)(Elementwise.Sum<float>(av.AsSpan<float>()) * scale); }
        return Expect.Record(tape, y, new Node(OpKind.Sum, default, a) { F0 = scale }, tape.ShouldRecord(a));
    }

    // forward: y = scale·Σ a  ⇒  da += scale·dy (broadcast)
    internal static void Backward(Tape tape, in Node node)
    {
        var da = tape.GradOrDefault(node.A);
        if (!da.IsValid) { return; }
        var dy = tape.Grad(node.Out);
        if (dy.DType == DType.F64) { Fill<double>(dy.AsSpan<double>()[0] * node.F0, da.AsSpan<double>()); }
        else { Fill<float>((float)(dy.AsSpan<float>()[0] * node.F0), da.AsSpan<float>()); }
    }

    private static void Fill<T>(T value, Span<T> da) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (var i = 0; i < da.Length; i++) { da[i] += value; }
    }
}

public static class ReshapeOp
{
    /// <summary>The same elements in another shape (a view; no copy).</summary>
    public static Var Apply(Tape tape, Var a, params ReadOnlySpan<long> dims)
    {
        var y = tape.Value(a).Reshape(dims);
        return Expect.Record(tape, y, new Node(OpKind.Reshape, default, a), tape.ShouldRecord(a));
    }

    // forward: y = view(a)  ⇒  da += view⁻¹(dy)
    internal static void Backward(Tape tape, in Node node) => Expect.AddInto(tape, node.A, tape.Grad(node.Out), 1.0);
}

/// <summary>Argument checks and bookkeeping shared by the ops.</summary>
internal static class Expect
{
    public static void SameShapeAndType(Tensor a, Tensor b, string op)
    {
        Tensor.ExpectSameShape(a, b, op);
        if (a.DType != b.DType) { throw new ArgumentException($"{op}: dtypes differ, {a.DType} {a.Shape} vs {b.DType} {b.Shape}"); }
    }

    public static void FloatingPoint(Tensor t, string op, string what)
    {
        if (t.DType is not (DType.F32 or DType.F64)) { throw new ArgumentException($"{op}: {what} must be F32 or F64; got {t.DType} {t.Shape}"); }
    }

    public static void Int32(Tensor t, string op, string what)
    {
        if (t.DType != DType.I32) { throw new ArgumentException($"{op}: {what} must be I32; got {t.DType} {t.Shape}"); }
    }

    /// <summary>Registers y as an op output and, when <paramref name="record"/>, the node that produced it.</summary>
    public static Var Record(Tape tape, Tensor y, Node node, bool record)
    {
        var output = tape.Output(y, record);
        if (record)
        {
            node.Out = output;
            tape.Record(in node);
        }
        return output;
    }

    /// <summary>grad(v) += alpha · g, when v needs a gradient.</summary>
    public static void AddInto(Tape tape, Var v, Tensor g, double alpha)
    {
        var d = tape.GradOrDefault(v);
        if (!d.IsValid) { return; }
        if (d.DType == DType.F64) { Elementwise.Axpy<double>(g.AsSpan<double>(), alpha, d.AsSpan<double>()); }
        else { Elementwise.Axpy<float>(g.AsSpan<float>(), (float)alpha, d.AsSpan<float>()); }
    }
}
