// AttentionOp.cs: causal attention on the tape, fused FlashAttention-2 tiles or the materialized path for short keys and
// small heads (Attention.Choose); the log-sum-exp rows are saved, the probabilities never are. q/k head dim may differ from the v head dim, as in MLA. Tested by OpGradientTests.
using System.Numerics;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Ops;

public static class AttentionOp
{
    /// <summary>
    /// softmax(scale·q·kᵀ + mask, causal from <paramref name="startPos"/>)·v. q: (B, T, H, Dqk), k: (B, Tk, H, Dqk),
    /// v: (B, Tk, H, Dv); output (B, T, H, Dv). <paramref name="mask"/> (T, Tk), when valid, is added to the scores.
    /// <paramref name="path"/> picks the kernel for forward and backward (tests force each; Auto otherwise).
    /// </summary>
    public static Var Apply(Tape tape, Var q, Var k, Var v, double scale, int startPos = 0, bool causal = true, Tensor mask = default,
        AttentionPath path = AttentionPath.Auto)
    {
        var (qv, kv, vv) = (tape.Value(q), tape.Value(k), tape.Value(v));
        Expect.FloatingPoint(qv, "attention", "q");
        if (qv.Rank != 4 || kv.Rank != 4 || vv.Rank != 4 || kv.Size(0) != qv.Size(0) || vv.Size(0) != qv.Size(0)
            || kv.Size(2) != qv.Size(2) || vv.Size(2) != qv.Size(2) || kv.Size(3) != qv.Size(3) || vv.Size(1) != kv.Size(1)
            || kv.DType != qv.DType || vv.DType != qv.DType)
        {
            throw new ArgumentException($"attention: expected q (B, T, H, Dqk), k (B, Tk, H, Dqk), v (B, Tk, H, Dv) of one dtype; got q {qv.DType} {qv.Shape}, k {kv.DType} {kv.Shape}, v {vv.DType} {vv.Shape}");
        }
        if (mask.IsValid && (mask.DType != qv.DType || mask.Shape != new Shape(qv.Size(1), kv.Size(1))))
        {
            throw new ArgumentException($"attention: mask must be {qv.DType} {new Shape(qv.Size(1), kv.Size(1))}; got {mask.DType} {mask.Shape}");
        }
        var shape = ShapeOf(qv, kv, vv, scale, startPos, causal);
        var y = tape.Arena.Allocate(qv.DType, new Shape(qv.Size(0), qv.Size(1), qv.Size(2), vv.Size(3)));
        var lse = tape.Arena.Allocate(qv.DType, new Shape(qv.Size(0), qv.Size(2), qv.Size(1)));
        if (y.DType == DType.F64) { Forward<double>(qv, kv, vv, mask, shape, path, y, lse); } else { Forward<float>(qv, kv, vv, mask, shape, path, y, lse); }
        var node = new Node(OpKind.Attention, default, q, k, v) { Saved0 = lse, Saved1 = mask, F0 = scale, I0 = startPos, I1 = (int)path, Flag0 = causal };
        return Expect.Record(tape, y, node, tape.ShouldRecord(q, k, v));
    }

    private static AttentionShape ShapeOf(Tensor q, Tensor k, Tensor v, double scale, int startPos, bool causal)
        => new((int)q.Size(0), (int)q.Size(1), (int)k.Size(1), (int)q.Size(2), (int)q.Size(3), (int)v.Size(3), scale, startPos, causal);

    private static void Forward<T>(Tensor q, Tensor k, Tensor v, Tensor mask, in AttentionShape shape, AttentionPath path, Tensor y, Tensor lse)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var m = mask.IsValid ? mask.AsSpan<T>() : [];
        using var region = Profiler.Region(ProfileCategory.Attention);
        Attention.Forward<T>(q.AsSpan<T>(), k.AsSpan<T>(), v.AsSpan<T>(), m, shape, y.AsSpan<T>(), lse.AsSpan<T>(), path);
    }

    internal static void Backward(Tape tape, in Node node)
    {
        using var region = Profiler.Region(ProfileCategory.Attention);
        if (tape.Value(node.Out).DType == DType.F64) { Backward<double>(tape, in node); } else { Backward<float>(tape, in node); }
    }

    // forward: O = P·V, P = softmax(S), S = scale·Q·Kᵀ + mask  ⇒  dV = Pᵀ·dO,  dS = P ⊙ (dO·Vᵀ − rowsum(dO ⊙ O)),
    //          dQ = scale·dS·K,  dK = scale·dSᵀ·Q   (P recomputed from the saved log-sum-exp)
    private static void Backward<T>(Tape tape, in Node node) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var (q, k, v) = (tape.Value(node.A), tape.Value(node.B), tape.Value(node.C));
        var shape = ShapeOf(q, k, v, node.F0, node.I0, node.Flag0);
        var dq = tape.GradTarget(node.A, always: true);
        var dk = tape.GradTarget(node.B, always: true);
        var dv = tape.GradTarget(node.C, always: true);
        var mask = node.Saved1.IsValid ? node.Saved1.AsSpan<T>() : [];
        Attention.Backward<T>(tape.Grad(node.Out).AsSpan<T>(), q.AsSpan<T>(), k.AsSpan<T>(), v.AsSpan<T>(), mask, tape.Value(node.Out).AsSpan<T>(),
            node.Saved0.AsSpan<T>(), shape, dq.AsSpan<T>(), dk.AsSpan<T>(), dv.AsSpan<T>(), (AttentionPath)node.I1);
        tape.FinishGrad(node.A, dq);
        tape.FinishGrad(node.B, dk);
        tape.FinishGrad(node.C, dv);
    }
}
