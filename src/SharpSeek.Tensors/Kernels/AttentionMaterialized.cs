// AttentionMaterialized.cs: the materialized attention path for short key ranges: per (batch, head), blocks of 64 query
// rows get their scores against every visible key in one tile product, an exact (not online) row softmax, then O = P·V;
// the backward recomputes P from the saved logSumExp and accumulates dKᵀ and dVᵀ over the row blocks with the keys as
// the long, vectorized dimension. Same contract and logSumExp convention as the fused path, so either path's backward
// takes either path's forward. Not here: the fused tiles and the oracle (Attention.cs), tile products (TileMath.cs).
// Tested by AttentionTests (and, that a warmed-up call allocates nothing on any thread, by
// DeepSeekTrainingStepAllocationTests).
using System.Numerics;

namespace SharpSeek.Tensors.Kernels;

public static unsafe partial class Attention
{
    /// <summary><see cref="AttentionPath.Auto"/> takes the materialized path up to this many keys (Tk) ...</summary>
    public const int MaterializedMaxKeys = 256;

    /// <summary>... and up to this Dqk + Dv (measured in docs/kernels.md: faster for tiny's 12 + 8, slower from 48 + 32 up).</summary>
    public const int MaterializedMaxHeadDims = 32;

    /// <summary>The kernel <see cref="AttentionPath.Auto"/> runs for <paramref name="shape"/>.</summary>
    public static AttentionPath Choose(in AttentionShape shape)
        => shape.KeyTokens <= MaterializedMaxKeys && shape.QkHeadDim + shape.VHeadDim <= MaterializedMaxHeadDims
            ? AttentionPath.Materialized
            : AttentionPath.Fused;

    private static AttentionPath Resolve(AttentionPath path, in AttentionShape shape) => path switch
    {
        AttentionPath.Auto => Choose(shape),
        AttentionPath.Fused or AttentionPath.Materialized => path,
        _ => throw new ArgumentOutOfRangeException(nameof(path), path, "path: expected Auto, Fused or Materialized"),
    };

    private static void ForwardMaterialized<T>(ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, ReadOnlySpan<T> mask, in AttentionShape shape,
        Span<T> output, Span<T> logSumExp, WorkerPool pool)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var count = shape.Batch * shape.Heads;
        if (count == 0 || shape.Tokens == 0) { return; }
        fixed (T* pq = q, pk = k, pv = v, pm = mask, po = output, pl = logSumExp)
        {
            var work = new MaterializedItem<T> { Q = pq, K = pk, V = pv, Mask = pm, O = po, Lse = pl, Shape = shape };
            work.Scratch = Scratch<T>.ForWorkers(pool.Threads, MaterializedForwardScratch(shape), out work.ScratchStride);
            pool.For(count, ref work);
        }
    }

    private static void BackwardMaterialized<T>(ReadOnlySpan<T> dOutput, ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, ReadOnlySpan<T> mask,
        ReadOnlySpan<T> output, ReadOnlySpan<T> logSumExp, in AttentionShape shape, Span<T> dq, Span<T> dk, Span<T> dv, WorkerPool pool)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var count = shape.Batch * shape.Heads;
        if (count == 0) { return; }
        fixed (T* pdo = dOutput, pq = q, pk = k, pv = v, pm = mask, po = output, pl = logSumExp, pdq = dq, pdk = dk, pdv = dv)
        {
            var work = new MaterializedItem<T>
            {
                DO = pdo,
                Q = pq,
                K = pk,
                V = pv,
                Mask = pm,
                O = po,
                Lse = pl,
                DQ = pdq,
                DK = pdk,
                DV = pdv,
                Shape = shape,
                Backward = true,
            };
            work.Scratch = Scratch<T>.ForWorkers(pool.Threads, MaterializedBackwardScratch(shape), out work.ScratchStride);
            pool.For(count, ref work);
        }
    }

    // One item per (b, h), forward or backward: each writes only its own head's rows, in a fixed order.
    private struct MaterializedItem<T> : IWorkItem where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T* DO, Q, K, V, Mask, O, Lse, DQ, DK, DV, Scratch;
        public AttentionShape Shape;
        public bool Backward;
        public int ScratchStride;

        public readonly void Execute(int index, int worker)
        {
            var scratch = Scratch + ((nint)worker * ScratchStride);
            if (Backward) { MaterializedBackwardHead(this, index / Shape.Heads, index % Shape.Heads, scratch); }
            else { MaterializedForwardHead(this, index / Shape.Heads, index % Shape.Heads, scratch); }
        }
    }

    // Scratch elements of one item: forward kt, p and inverse; backward kt, vt, dkt, dvt, p and ds.
    private static int MaterializedForwardScratch(in AttentionShape s) => (s.QkHeadDim * s.KeyTokens) + (BlockRows * s.KeyTokens) + BlockRows;

    private static int MaterializedBackwardScratch(in AttentionShape s) => (2 * (s.QkHeadDim + s.VHeadDim) * s.KeyTokens) + (2 * BlockRows * s.KeyTokens);

    // Keys query row i attends when causal: 0..StartPos + i, capped at Tk; every key otherwise.
    private static int VisibleKeys(in AttentionShape s, int i) => s.Causal ? Math.Min(s.KeyTokens, s.StartPos + i + 1) : s.KeyTokens;

    private static void MaterializedForwardHead<T>(in MaterializedItem<T> w, int b, int h, T* scratch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var s = w.Shape;
        int tq = s.Tokens, tk = s.KeyTokens, dqk = s.QkHeadDim, dvh = s.VHeadDim;
        nint qRow = (nint)s.Heads * dqk, vRow = (nint)s.Heads * dvh;
        var scale = T.CreateTruncating(s.Scale);
        // kt: (Dqk, Tk) keys transposed  p: (Br, Tk) scores, then unnormalized probabilities  inverse: (Br) 1/l
        var kt = scratch;
        var p = kt + (dqk * tk);
        var inverse = p + (BlockRows * tk);
        var qHead = w.Q + ((nint)b * tq * qRow) + ((nint)h * dqk);
        var oHead = w.O + ((nint)b * tq * vRow) + ((nint)h * dvh);
        var vHead = w.V + ((nint)b * tk * vRow) + ((nint)h * dvh);
        var lseHead = w.Lse + ((((nint)b * s.Heads) + h) * tq);
        PackTransposed(w.K + ((nint)b * tk * qRow) + ((nint)h * dqk), qRow, tk, dqk, kt, tk);
        for (var i0 = 0; i0 < tq; i0 += BlockRows)
        {
            var mb = Math.Min(BlockRows, tq - i0);
            var keys = VisibleKeys(s, i0 + mb - 1); // the block's last row sees the most
            TileMath.Gemm(qHead + (i0 * qRow), qRow, 1, kt, tk, mb, keys, dqk, false, p, tk);
            for (var r = 0; r < mb; r++)
            {
                // p_j = exp(s_j − m), l = Σ p_j; logSumExp = m + log l, or −∞ (and output 0) when no key is attended
                var row = p + (r * tk);
                var attended = VisibleKeys(s, i0 + r);
                var maskRow = w.Mask == null ? null : w.Mask + ((nint)(i0 + r) * tk);
                var max = TileMath.ScaleMaskMax(row, maskRow, attended, scale);
                var shift = T.IsNegativeInfinity(max) ? T.Zero : max;
                var sum = TileMath.ExpShiftSum(row, attended, shift);
                new Span<T>(row + attended, keys - attended).Clear();
                var seen = sum > T.Zero;
                inverse[r] = seen ? T.One / sum : T.Zero;
                lseHead[i0 + r] = seen ? shift + T.Log(sum) : T.NegativeInfinity;
            }
            // O = (P·V)/l row by row
            TileMath.Gemm(p, tk, 1, vHead, vRow, mb, dvh, keys, false, oHead + (i0 * vRow), vRow);
            for (var r = 0; r < mb; r++) { TileMath.Scale(oHead + ((i0 + r) * vRow), dvh, inverse[r]); }
        }
    }

    private static void MaterializedBackwardHead<T>(in MaterializedItem<T> w, int b, int h, T* scratch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var s = w.Shape;
        int tq = s.Tokens, tk = s.KeyTokens, dqk = s.QkHeadDim, dvh = s.VHeadDim;
        nint qRow = (nint)s.Heads * dqk, vRow = (nint)s.Heads * dvh;
        var scale = T.CreateTruncating(s.Scale);
        // kt: (Dqk, Tk)  vt: (Dv, Tk)  dkt: (Dqk, Tk)  dvt: (Dv, Tk)  p: (Br, Tk)  ds: (Br, Tk)
        var kt = scratch;
        var vt = kt + (dqk * tk);
        var dkt = vt + (dvh * tk);
        var dvt = dkt + (dqk * tk);
        var p = dvt + (dvh * tk);
        var ds = p + (BlockRows * tk);
        var qHead = w.Q + ((nint)b * tq * qRow) + ((nint)h * dqk);
        var dqHead = w.DQ + ((nint)b * tq * qRow) + ((nint)h * dqk);
        var doHead = w.DO + ((nint)b * tq * vRow) + ((nint)h * dvh);
        var oHead = w.O + ((nint)b * tq * vRow) + ((nint)h * dvh);
        var kHead = w.K + ((nint)b * tk * qRow) + ((nint)h * dqk);
        var vHead = w.V + ((nint)b * tk * vRow) + ((nint)h * dvh);
        var lseHead = w.Lse + ((((nint)b * s.Heads) + h) * tq);
        PackTransposed(kHead, qRow, tk, dqk, kt, tk);
        PackTransposed(vHead, vRow, tk, dvh, vt, tk);
        new Span<T>(dkt, (dqk + dvh) * tk).Clear();
        for (var i0 = 0; i0 < tq; i0 += BlockRows)
        {
            var mb = Math.Min(BlockRows, tq - i0);
            var keys = VisibleKeys(s, i0 + mb - 1);
            var qBlock = qHead + (i0 * qRow);
            var doBlock = doHead + (i0 * vRow);
            // S = Q·Kᵀ and dP = dO·Vᵀ for the block's rows against its visible keys
            TileMath.Gemm(qBlock, qRow, 1, kt, tk, mb, keys, dqk, false, p, tk);
            TileMath.Gemm(doBlock, vRow, 1, vt, tk, mb, keys, dvh, false, ds, tk);
            for (var r = 0; r < mb; r++)
            {
                // D_i = rowsum(dO_i ∘ O_i);  ds_ij = scale·P_ij·(dP_ij − D_i)
                var dot = T.Zero;
                for (var d = 0; d < dvh; d++) { dot += doBlock[(r * vRow) + d] * oHead[((i0 + r) * vRow) + d]; }
                var attended = VisibleKeys(s, i0 + r);
                var maskRow = w.Mask == null ? null : w.Mask + ((nint)(i0 + r) * tk);
                var lse = lseHead[i0 + r];
                if (T.IsNegativeInfinity(lse)) { lse = T.PositiveInfinity; } // a row with no attended key: P = 0
                TileMath.SoftmaxGradRow(p + (r * tk), maskRow, attended, scale, lse, dot, ds + (r * tk));
                new Span<T>(p + (r * tk) + attended, keys - attended).Clear();
                new Span<T>(ds + (r * tk) + attended, keys - attended).Clear();
            }
            // ds carries the scale: dVᵀ += dOᵀ·P, dKᵀ += Qᵀ·dS (keys along the vector lanes), dQ = dS·K
            TileMath.Gemm(doBlock, 1, vRow, p, tk, dvh, keys, mb, true, dvt, tk);
            TileMath.Gemm(qBlock, 1, qRow, ds, tk, dqk, keys, mb, true, dkt, tk);
            TileMath.Gemm(ds, tk, 1, kHead, qRow, mb, dqk, keys, false, dqHead + (i0 * qRow), qRow);
        }
        var dkHead = w.DK + ((nint)b * tk * qRow) + ((nint)h * dqk);
        var dvHead = w.DV + ((nint)b * tk * vRow) + ((nint)h * dvh);
        PackTransposed(dkt, tk, dqk, tk, dkHead, qRow);
        PackTransposed(dvt, tk, dvh, tk, dvHead, vRow);
    }
}
