// GatherOps.cs: embedding lookup and the MoE dispatch (gather rows) and combine (weighted scatter-add of rows) on the tape.
// Tested by OpGradientTests.
using System.Numerics;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Ops;

public static class EmbeddingOp
{
    /// <summary>y[..., :] = table[ids[...], :]; table: (V, D), ids: I32 of any shape; y: (ids..., D). A BF16 table (read
    /// in place for inference) gives f32 rows and no gradient.</summary>
    public static Var Apply(Tape tape, Var table, Tensor ids)
    {
        var tv = tape.Value(table);
        var bf16 = tv.DType == DType.BF16;
        if (!bf16) { Expect.FloatingPoint(tv, "embedding", "table"); }
        Expect.Int32(ids, "embedding", "ids");
        if (tv.Rank != 2) { throw new ArgumentException($"embedding: table must be (V, D); got {tv.Shape}"); }
        if (bf16 && tape.ShouldRecord(table)) { throw new ArgumentException("embedding: a BF16 table is read-only (inference); a gradient needs an F32 table"); }
        var dim = (int)tv.Size(1);
        Span<long> dims = stackalloc long[ids.Rank + 1];
        for (var i = 0; i < ids.Rank; i++) { dims[i] = ids.Size(i); }
        dims[^1] = dim;
        var y = tape.Arena.Allocate(bf16 ? DType.F32 : tv.DType, new Shape(dims));
        if (bf16) { Embedding.Forward(tv.AsSpan<BFloat16>(), ids.AsSpan<int>(), dim, y.AsSpan<float>()); }
        else if (y.DType == DType.F64) { Embedding.Forward<double>(tv.AsSpan<double>(), ids.AsSpan<int>(), dim, y.AsSpan<double>()); }
        else { Embedding.Forward<float>(tv.AsSpan<float>(), ids.AsSpan<int>(), dim, y.AsSpan<float>()); }
        return Expect.Record(tape, y, new Node(OpKind.Embedding, default, table) { Saved0 = ids, I0 = dim }, tape.ShouldRecord(table));
    }

    // forward: y[n] = table[ids[n]]  ⇒  dTable[ids[n]] += dy[n]
    internal static void Backward(Tape tape, in Node node)
    {
        var dt = tape.GradOrDefault(node.A);
        if (!dt.IsValid) { return; }
        var dy = tape.Grad(node.Out);
        if (dt.DType == DType.F64) { Embedding.Backward<double>(dy.AsSpan<double>(), node.Saved0.AsSpan<int>(), node.I0, dt.AsSpan<double>()); }
        else { Embedding.Backward<float>(dy.AsSpan<float>(), node.Saved0.AsSpan<int>(), node.I0, dt.AsSpan<float>()); }
    }
}

public static class GatherRowsOp
{
    /// <summary>MoE dispatch: y[i, :] = x[index[i], :]; x: (R, C), index: I32 (N); y: (N, C).</summary>
    public static Var Apply(Tape tape, Var x, Tensor index)
    {
        var xv = tape.Value(x);
        Expect.FloatingPoint(xv, "gather-rows", "x");
        Expect.Int32(index, "gather-rows", "index");
        var cols = (int)xv.Shape.Last;
        var y = tape.Arena.Allocate(xv.DType, new Shape(index.ElementCount, cols));
        if (y.DType == DType.F64) { GatherRows.Forward<double>(xv.AsSpan<double>(), index.AsSpan<int>(), cols, y.AsSpan<double>()); }
        else { GatherRows.Forward<float>(xv.AsSpan<float>(), index.AsSpan<int>(), cols, y.AsSpan<float>()); }
        return Expect.Record(tape, y, new Node(OpKind.GatherRows, default, x) { Saved0 = index, I0 = cols }, tape.ShouldRecord(x));
    }

    // forward: y[i] = x[index[i]]  ⇒  dx[index[i]] += dy[i]
    internal static void Backward(Tape tape, in Node node)
    {
        var dx = tape.GradOrDefault(node.A);
        if (!dx.IsValid) { return; }
        var dy = tape.Grad(node.Out);
        if (dx.DType == DType.F64) { GatherRows.Backward<double>(dy.AsSpan<double>(), node.Saved0.AsSpan<int>(), node.I0, dx.AsSpan<double>()); }
        else { GatherRows.Backward<float>(dy.AsSpan<float>(), node.Saved0.AsSpan<int>(), node.I0, dx.AsSpan<float>()); }
    }
}

public static class ScatterAddRowsOp
{
    /// <summary>MoE combine: y (rows, C) = Σ_i weights[i] · src[i, :] added at row index[i]; src: (N, C), weights: (N).</summary>
    public static Var Apply(Tape tape, Var src, Var weights, Tensor index, long rows)
    {
        var (sv, wv) = (tape.Value(src), tape.Value(weights));
        Expect.FloatingPoint(sv, "scatter-add-rows", "src");
        Expect.Int32(index, "scatter-add-rows", "index");
        if (wv.DType != sv.DType || wv.ElementCount != sv.Shape.Rows || index.ElementCount != sv.Shape.Rows)
        {
            throw new ArgumentException($"scatter-add-rows: src {sv.Shape}, weights {wv.Shape} and index {index.Shape} must agree on the row count");
        }
        var cols = (int)sv.Shape.Last;
        var y = tape.Arena.Allocate(sv.DType, new Shape(rows, cols));
        if (y.DType == DType.F64) { ScatterAddRows.Forward<double>(sv.AsSpan<double>(), index.AsSpan<int>(), wv.AsSpan<double>(), cols, y.AsSpan<double>()); }
        else { ScatterAddRows.Forward<float>(sv.AsSpan<float>(), index.AsSpan<int>(), wv.AsSpan<float>(), cols, y.AsSpan<float>()); }
        var node = new Node(OpKind.ScatterAddRows, default, src, weights) { Saved0 = index, I0 = cols };
        return Expect.Record(tape, y, node, tape.ShouldRecord(src, weights));
    }

    internal static void Backward(Tape tape, in Node node)
    {
        if (tape.Value(node.Out).DType == DType.F64) { Backward<double>(tape, in node); } else { Backward<float>(tape, in node); }
    }

    // forward: y[index[i]] += w[i]·src[i]  ⇒  dsrc[i] = w[i]·dy[index[i]],  dw[i] = dy[index[i]]·src[i]
    private static void Backward<T>(Tape tape, in Node node) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var dSrc = tape.GradTarget(node.A, always: true);
        var dW = tape.GradTarget(node.B, always: true);
        ScatterAddRows.Backward<T>(tape.Grad(node.Out).AsSpan<T>(), tape.Value(node.A).AsSpan<T>(), node.Saved0.AsSpan<int>(), tape.Value(node.B).AsSpan<T>(), node.I0,
            dSrc.AsSpan<T>(), dW.AsSpan<T>());
        tape.FinishGrad(node.A, dSrc);
        tape.FinishGrad(node.B, dW);
    }
}
