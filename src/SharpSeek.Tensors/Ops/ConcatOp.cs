// ConcatOp.cs: concatenation of any number of tensors along one axis, on the tape (MLA's k = [k_nope, k_pe] and
// q = [q_nope, q_pe], MTP's [emb, h], the MoE's expert outputs back in slot order). The part handles are saved in an
// I32 tensor, so one node serves any count. Tested by OpGradientTests.
using System.Numerics;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Ops;

public static class ConcatOp
{
    /// <summary>y = [parts[0], parts[1], ...] along <paramref name="axis"/>; every other dimension and the dtype must agree.</summary>
    public static Var Apply(Tape tape, ReadOnlySpan<Var> parts, int axis)
    {
        if (parts.Length == 0) { throw new ArgumentException("concat: expected at least one part, got none", nameof(parts)); }
        var first = tape.Value(parts[0]);
        Expect.FloatingPoint(first, "concat", "parts[0]");
        var a = Axes.Normalize(axis, first.Rank, "concat");
        long total = 0;
        var record = false;
        for (var p = 0; p < parts.Length; p++)
        {
            var v = tape.Value(parts[p]);
            var agree = v.Rank == first.Rank && v.DType == first.DType;
            for (var i = 0; agree && i < v.Rank; i++) { agree = i == a || v.Size(i) == first.Size(i); }
            if (!agree)
            {
                throw new ArgumentException($"concat: part {p} {v.DType} {v.Shape} does not match part 0 {first.DType} {first.Shape} outside axis {a}");
            }
            total += v.Size(a);
            record |= tape.ShouldRecord(parts[p]);
        }
        Span<long> dims = stackalloc long[first.Rank];
        for (var i = 0; i < first.Rank; i++) { dims[i] = i == a ? total : first.Size(i); }
        var y = tape.Arena.Allocate(first.DType, new Shape(dims));
        var (outer, inner) = Axes.OuterInner(y.Shape, a);
        long offset = 0;
        foreach (var part in parts)
        {
            var v = tape.Value(part);
            var run = v.Size(a) * inner;
            if (y.DType == DType.F64) { Place<double>(v.AsSpan<double>(), y.AsSpan<double>(), outer, total * inner, offset, run); }
            else { Place<float>(v.AsSpan<float>(), y.AsSpan<float>(), outer, total * inner, offset, run); }
            offset += run;
        }
        Tensor ids = default;
        if (record)
        {
            ids = tape.Arena.Allocate(DType.I32, new Shape(parts.Length));
            var s = ids.AsSpan<int>();
            for (var p = 0; p < parts.Length; p++) { s[p] = parts[p].Id; }
        }
        return Expect.Record(tape, y, new Node(OpKind.Concat, default, parts[0]) { Saved0 = ids, I0 = a }, record);
    }

    // y[o, offset : offset + run] = x[o, :] for each of the outer blocks of width `width`.
    private static void Place<T>(ReadOnlySpan<T> x, Span<T> y, long outer, long width, long offset, long run) where T : unmanaged
    {
        for (long o = 0; o < outer; o++) { x.Slice((int)(o * run), (int)run).CopyTo(y.Slice((int)(o * width + offset), (int)run)); }
    }

    internal static void Backward(Tape tape, in Node node)
    {
        if (tape.Value(node.Out).DType == DType.F64) { Backward<double>(tape, in node); } else { Backward<float>(tape, in node); }
    }

    // forward: y = [x_0, x_1, ...] along the axis  ⇒  dx_p += dy[offset_p : offset_p + size_p]
    private static void Backward<T>(Tape tape, in Node node) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var dy = tape.Grad(node.Out);
        var g = dy.AsSpan<T>();
        var (outer, inner) = Axes.OuterInner(dy.Shape, node.I0);
        var width = dy.Size(node.I0) * inner;
        long offset = 0;
        var ids = node.Saved0.AsSpan<int>();
        for (var p = 0; p < ids.Length; p++)
        {
            var part = new Var(ids[p]);
            var run = tape.Value(part).Size(node.I0) * inner;
            var dx = tape.GradOrDefault(part);
            if (dx.IsValid)
            {
                var d = dx.AsSpan<T>();
                for (long o = 0; o < outer; o++) { Elementwise.Axpy<T>(g.Slice((int)(o * width + offset), (int)run), T.One, d.Slice((int)(o * run), (int)run)); }
            }
            offset += run;
        }
    }
}
