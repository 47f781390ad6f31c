// ElementwiseOps.cs: Add, Mul, Scale, Sum and Reshape on the tape: the small ops that glue layers together.
// Same-shape operands only (no broadcasting). Tested by OpGradientTests.
using System.Numerics;
using SharpSeek.Tensors.Autograd;

namespace SharpSeek.Tensors.Ops;

public static class AddOp
{
    /// <summary>y = a + b (same shape).</summary>
    public static Var Apply(Tape tape, Var a, Var b)
    {
        var (av, bv) = (tape.Value(a), tape.Value(b));
        Expect.SameShapeAndType(av, bv, "add");
        var y = tape.Arena.Allocate(av.DType, av.Shape);
        if (y.DType == DType.F64) { Loops.Add<double>(av.AsSpan<double>(), bv.AsSpan<double>(), y.AsSpan<double>()); }
        else { Loops.Add<float>(av.AsSpan<float>(), bv.AsSpan<float>(), y.AsSpan<float>()); }
        var record = tape.ShouldRecord(a, b);
        var output = tape.Output(y, record);
        if (record) { tape.Record(new Node(OpKind.Add, output, a, b)); }
        return output;
    }

    // forward: y = a + b  ⇒  da += dy, db += dy
    internal static void Backward(Tape tape, in Node node)
    {
        var dy = tape.Grad(node.Out);
        foreach (var input in (ReadOnlySpan<Var>)[node.A, node.B])
        {
            var d = tape.GradOrDefault(input);
            if (!d.IsValid) { continue; }
            if (d.DType == DType.F64) { Loops.Axpy<double>(dy.AsSpan<double>(), 1.0, d.AsSpan<double>()); }
            else { Loops.Axpy<float>(dy.AsSpan<float>(), 1f, d.AsSpan<float>()); }
        }
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
        if (y.DType == DType.F64) { Loops.Mul<double>(av.AsSpan<double>(), bv.AsSpan<double>(), y.AsSpan<double>()); }
        else { Loops.Mul<float>(av.AsSpan<float>(), bv.AsSpan<float>(), y.AsSpan<float>()); }
        var record = tape.ShouldRecord(a, b);
        var output = tape.Output(y, record);
        if (record) { tape.Record(new Node(OpKind.Mul, output, a, b)); }
        return output;
    }

    // forward: y = a ⊙ b  ⇒  da += dy ⊙ b, db += dy ⊙ a
    internal static void Backward(Tape tape, in Node node)
    {
        var dy = tape.Grad(node.Out);
        var da = tape.GradOrDefault(node.A);
        var db = tape.GradOrDefault(node.B);
        var (av, bv) = (tape.Value(node.A), tape.Value(node.B));
        if (dy.DType == DType.F64)
        {
            if (da.IsValid) { Loops.MulAdd<double>(dy.AsSpan<double>(), bv.AsSpan<double>(), da.AsSpan<double>()); }
            if (db.IsValid) { Loops.MulAdd<double>(dy.AsSpan<double>(), av.AsSpan<double>(), db.AsSpan<double>()); }
        }
        else
        {
            if (da.IsValid) { Loops.MulAdd<float>(dy.AsSpan<float>(), bv.AsSpan<float>(), da.AsSpan<float>()); }
            if (db.IsValid) { Loops.MulAdd<float>(dy.AsSpan<float>(), av.AsSpan<float>(), db.AsSpan<float>()); }
        }
    }
}

public static class ScaleOp
{
    /// <summary>y = s · a.</summary>
    public static Var Apply(Tape tape, Var a, double s)
    {
        var av = tape.Value(a);
        var y = tape.Arena.Allocate(av.DType, av.Shape);
        if (y.DType == DType.F64) { Loops.Axpy<double>(av.AsSpan<double>(), s, y.AsSpan<double>()); }
        else { Loops.Axpy<float>(av.AsSpan<float>(), (float)s, y.AsSpan<float>()); }
        var record = tape.ShouldRecord(a);
        var output = tape.Output(y, record);
        if (record) { tape.Record(new Node(OpKind.Scale, output, a) { F0 = s }); }
        return output;
    }

    // forward: y = s·a  ⇒  da += s·dy
    internal static void Backward(Tape tape, in Node node)
    {
        var dy = tape.Grad(node.Out);
        var da = tape.GradOrDefault(node.A);
        if (!da.IsValid) { return; }
        if (dy.DType == DType.F64) { Loops.Axpy<double>(dy.AsSpan<double>(), node.F0, da.AsSpan<double>()); }
        else { Loops.Axpy<float>(dy.AsSpan<float>(), (float)node.F0, da.AsSpan<float>()); }
    }
}

public static class SumOp
{
    /// <summary>y = Σ a (a scalar of shape (1,)); with <paramref name="mean"/>, divided by the element count.</summary>
    public static Var Apply(Tape tape, Var a, bool mean = false)
    {
        var av = tape.Value(a);
        var y = tape.Arena.Allocate(av.DType, new Shape(1));
        var scale = mean && av.ElementCount > 0 ? 1.0 / av.ElementCount : 1.0;
        if (y.DType == DType.F64) { y.AsSpan<double>()[0] = Loops.Sum<double>(av.AsSpan<double>()) * scale; }
        else { y.AsSpan<float>()[0] = (float)(Loops.Sum<float>(av.AsSpan<float>()) * scale); }
        var record = tape.ShouldRecord(a);
        var output = tape.Output(y, record);
        if (record) { tape.Record(new Node(OpKind.Sum, output, a) { F0 = scale }); }
        return output;
    }

    // forward: y = scale·Σ a  ⇒  da += scale·dy (broadcast)
    internal static void Backward(Tape tape, in Node node)
    {
        var da = tape.GradOrDefault(node.A);
        if (!da.IsValid) { return; }
        var dy = tape.Grad(node.Out);
        if (dy.DType == DType.F64) { Loops.AddScalar<double>(dy.AsSpan<double>()[0] * node.F0, da.AsSpan<double>()); }
        else { Loops.AddScalar<float>((float)(dy.AsSpan<float>()[0] * node.F0), da.AsSpan<float>()); }
    }
}

public static class ReshapeOp
{
    /// <summary>The same elements in another shape (a view; no copy).</summary>
    public static Var Apply(Tape tape, Var a, params ReadOnlySpan<long> dims)
    {
        var y = tape.Value(a).Reshape(dims);
        var record = tape.ShouldRecord(a);
        var output = tape.Output(y, record);
        if (record) { tape.Record(new Node(OpKind.Reshape, output, a)); }
        return output;
    }

    // forward: y = view(a)  ⇒  da += view⁻¹(dy)
    internal static void Backward(Tape tape, in Node node)
    {
        var da = tape.GradOrDefault(node.A);
        if (!da.IsValid) { return; }
        var dy = tape.Grad(node.Out);
        if (dy.DType == DType.F64) { Loops.Axpy<double>(dy.AsSpan<double>(), 1.0, da.AsSpan<double>()); }
        else { Loops.Axpy<float>(dy.AsSpan<float>(), 1f, da.AsSpan<float>()); }
    }
}

/// <summary>Argument checks shared by the ops.</summary>
internal static class Expect
{
    public static void SameShapeAndType(Tensor a, Tensor b, string op)
    {
        Tensor.ExpectSameShape(a, b, op);
        if (a.DType != b.DType) { throw new ArgumentException($"{op}: dtypes differ, {a.DType} {a.Shape} vs {b.DType} {b.Shape}"); }
    }
}

/// <summary>Plain span loops for the glue ops (the JIT vectorizes none of this; these ops are not hot).</summary>
internal static class Loops
{
    public static void Add<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : INumber<T>
    {
        for (var i = 0; i < y.Length; i++) { y[i] = a[i] + b[i]; }
    }

    public static void Mul<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : INumber<T>
    {
        for (var i = 0; i < y.Length; i++) { y[i] = a[i] * b[i]; }
    }

    public static void MulAdd<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : INumber<T>
    {
        for (var i = 0; i < y.Length; i++) { y[i] += a[i] * b[i]; }
    }

    public static void Axpy<T>(ReadOnlySpan<T> x, T alpha, Span<T> y) where T : INumber<T>
    {
        for (var i = 0; i < y.Length; i++) { y[i] += alpha * x[i]; }
    }

    public static void AddScalar<T>(T value, Span<T> y) where T : INumber<T>
    {
        for (var i = 0; i < y.Length; i++) { y[i] += value; }
    }

    public static double Sum<T>(ReadOnlySpan<T> x) where T : INumber<T>
    {
        double s = 0;
        for (var i = 0; i < x.Length; i++) { s += double.CreateTruncating(x[i]); }
        return s;
    }
}
