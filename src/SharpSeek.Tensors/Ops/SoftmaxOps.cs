// SoftmaxOps.cs: row-wise softmax and log-softmax over the last axis, the fused cross-entropy loss, and the per-row
// log-probability of a chosen token (what policy-gradient losses differentiate), on the tape.
// Tested by OpGradientTests.
using System.Numerics;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Ops;

public static class SoftmaxOp
{
    /// <summary>y = softmax(x) over the last axis (max-subtracted).</summary>
    public static Var Apply(Tape tape, Var x) => RowWise(tape, x, OpKind.Softmax);

    /// <summary>y = log softmax(x) over the last axis.</summary>
    public static Var ApplyLog(Tape tape, Var x) => RowWise(tape, x, OpKind.LogSoftmax);

    private static Var RowWise(Tape tape, Var x, OpKind kind)
    {
        var xv = tape.Value(x);
        Expect.FloatingPoint(xv, kind.ToString(), "x");
        var y = tape.Arena.Allocate(xv.DType, xv.Shape);
        int rows = (int)xv.Shape.Rows, cols = (int)xv.Shape.Last;
        if (y.DType == DType.F64) { Forward<double>(xv.AsSpan<double>(), rows, cols, y.AsSpan<double>(), kind); }
        else { Forward<float>(xv.AsSpan<float>(), rows, cols, y.AsSpan<float>(), kind); }
        return Expect.Record(tape, y, new Node(kind, default, x) { I0 = rows, I1 = cols }, tape.ShouldRecord(x));
    }

    private static void Forward<T>(ReadOnlySpan<T> x, int rows, int cols, Span<T> y, OpKind kind) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (kind == OpKind.Softmax) { Softmax.Forward(x, rows, cols, y); } else { LogSoftmax.Forward(x, rows, cols, y); }
    }

    internal static void Backward(Tape tape, in Node node)
    {
        if (tape.Value(node.Out).DType == DType.F64) { Backward<double>(tape, in node); } else { Backward<float>(tape, in node); }
    }

    // softmax:     dx = y ⊙ (dy − Σ dy⊙y)       log-softmax: dx = dy − softmax(x)·Σ dy   (both from the saved output y)
    private static void Backward<T>(Tape tape, in Node node) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var dx = tape.GradTarget(node.A);
        if (!dx.IsValid) { return; }
        var dy = tape.Grad(node.Out).AsSpan<T>();
        var y = tape.Value(node.Out).AsSpan<T>();
        if (node.Op == OpKind.Softmax) { Softmax.Backward(dy, y, node.I0, node.I1, dx.AsSpan<T>()); }
        else { LogSoftmax.Backward(dy, y, node.I0, node.I1, dx.AsSpan<T>()); }
        tape.FinishGrad(node.A, dx);
    }
}

public static class CrossEntropyOp
{
    /// <summary>
    /// Mean next-token cross-entropy of logits (..., V) against I32 targets (one per row); rows whose target is
    /// <paramref name="ignoreIndex"/> are left out of the mean. Output: a scalar of shape (1,).
    /// </summary>
    public static Var Apply(Tape tape, Var logits, Tensor targets, int ignoreIndex = -100)
    {
        var (x, rows, vocab) = RowTargets(tape, logits, targets, "cross-entropy");
        var rowStats = tape.Arena.Allocate(x.DType, new Shape(rows, 2)); // (max, log Σ exp(x − max)) per row
        var losses = tape.Arena.Allocate(x.DType, new Shape(rows));
        var y = tape.Arena.Allocate(x.DType, new Shape(1));
        var ids = targets.AsSpan<int>();
        if (x.DType == DType.F64) { y.AsSpan<double>()[0] = CrossEntropy.Forward<double>(x.AsSpan<double>(), ids, vocab, ignoreIndex, losses.AsSpan<double>(), rowStats.AsSpan<double>()); }
        else { y.AsSpan<float>()[0] = CrossEntropy.Forward<float>(x.AsSpan<float>(), ids, vocab, ignoreIndex, losses.AsSpan<float>(), rowStats.AsSpan<float>()); }
        var node = new Node(OpKind.CrossEntropy, default, logits) { Saved0 = targets, Saved1 = rowStats, I0 = vocab, I1 = ignoreIndex };
        return Expect.Record(tape, y, node, tape.ShouldRecord(logits));
    }

    // The logits (floating point, one row per target) and the I32 targets of a per-row loss, checked.
    internal static (Tensor X, int Rows, int Vocab) RowTargets(Tape tape, Var logits, Tensor targets, string op)
    {
        var x = tape.Value(logits);
        Expect.FloatingPoint(x, op, "logits");
        Expect.Int32(targets, op, "targets");
        int rows = (int)x.Shape.Rows, vocab = (int)x.Shape.Last;
        if (targets.ElementCount != rows)
        {
            throw new ArgumentException($"{op}: logits {x.Shape} have {rows} rows but targets {targets.Shape} hold {targets.ElementCount}");
        }
        return (x, rows, vocab);
    }

    internal static void Backward(Tape tape, in Node node)
    {
        if (tape.Value(node.Out).DType == DType.F64) { Backward<double>(tape, in node); } else { Backward<float>(tape, in node); }
    }

    // forward: L = mean_r (lse_r − x[r, t_r])  ⇒  dx[r, j] = (softmax(x_r)_j − [j = t_r]) · dL / count
    private static void Backward<T>(Tape tape, in Node node) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var dx = tape.GradTarget(node.A);
        if (!dx.IsValid) { return; }
        var dLoss = tape.Grad(node.Out).AsSpan<T>()[0];
        CrossEntropy.Backward(dLoss, tape.Value(node.A).AsSpan<T>(), node.Saved0.AsSpan<int>(), node.Saved1.AsSpan<T>(), node.I0, node.I1, dx.AsSpan<T>());
        tape.FinishGrad(node.A, dx);
    }
}

public static class TokenLogProbOp
{
    /// <summary>
    /// The log-probability of each row's target under the softmax of its logits: y[r] = x[r, t_r] − logsumexp(x_r), shape
    /// (rows,); 0 where the target is <paramref name="ignoreIndex"/>. The fused cross-entropy's per-row value, negated
    /// and kept apart, so a loss may weigh each token on its own (a policy gradient's per-token coefficients).
    /// </summary>
    public static Var Apply(Tape tape, Var logits, Tensor targets, int ignoreIndex = -100)
    {
        var (x, rows, vocab) = CrossEntropyOp.RowTargets(tape, logits, targets, "token log-prob");
        var rowStats = tape.Arena.Allocate(x.DType, new Shape(rows, 2));
        var y = tape.Arena.Allocate(x.DType, new Shape(rows));
        var ids = targets.AsSpan<int>();
        if (x.DType == DType.F64) { Forward<double>(x.AsSpan<double>(), ids, vocab, ignoreIndex, y.AsSpan<double>(), rowStats.AsSpan<double>()); }
        else { Forward<float>(x.AsSpan<float>(), ids, vocab, ignoreIndex, y.AsSpan<float>(), rowStats.AsSpan<float>()); }
        var node = new Node(OpKind.TokenLogProb, default, logits) { Saved0 = targets, Saved1 = rowStats, I0 = vocab, I1 = ignoreIndex };
        return Expect.Record(tape, y, node, tape.ShouldRecord(logits));
    }

    private static void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<int> ids, int vocab, int ignoreIndex, Span<T> y, Span<T> rowStats)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        CrossEntropy.Forward(x, ids, vocab, ignoreIndex, y, rowStats);
        foreach (ref var v in y) { v = -v; } // ignored rows stay 0
    }

    internal static void Backward(Tape tape, in Node node)
    {
        if (tape.Value(node.Out).DType == DType.F64) { Backward<double>(tape, in node); } else { Backward<float>(tape, in node); }
    }

    // forward: y[r] = x[r, t_r] − lse_r  ⇒  dx[r, j] = dy[r] · ([j = t_r] − softmax(x_r)_j) = (softmax − onehot) · (−dy[r])
    private static void Backward<T>(Tape tape, in Node node) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var dx = tape.GradTarget(node.A);
        if (!dx.IsValid) { return; }
        var dy = tape.Grad(node.Out).AsSpan<T>();
        var scales = tape.Arena.Allocate(tape.Value(node.Out).DType, new Shape(dy.Length));
        var s = scales.AsSpan<T>();
        for (var r = 0; r < dy.Length; r++) { s[r] = -dy[r]; }
        CrossEntropy.BackwardRows<T>(s, tape.Value(node.A).AsSpan<T>(), node.Saved0.AsSpan<int>(), node.Saved1.AsSpan<T>(), node.I0, node.I1, dx.AsSpan<T>());
        tape.FinishGrad(node.A, dx);
    }
}
