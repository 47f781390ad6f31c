// Attention.cs: fused causal multi-head attention, FlashAttention-2 style: forward with an online softmax over 64×64
// tiles that never materializes T×Tk, and the matching backward that recomputes P from the saved logSumExp.
// Naive/NaiveBackward (scores materialized, double accumulation) are the test oracle.
// Not here: the materialized path for short key ranges (AttentionMaterialized.cs); MLA projections, RoPE, KV cache
// (Model, Inference); tile products and exp (TileMath.cs). Tested by AttentionTests (and, that a warmed-up call
// allocates nothing on any thread, by DeepSeekTrainingStepAllocationTests).
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SharpSeek.Tensors.Kernels;

/// <summary>
/// Scaled dot-product attention per (batch, head): o_i = Σ_j p_ij v_j, p_ij = softmax_j(scale·q_i·k_j + mask_ij), causal
/// when <see cref="AttentionShape.Causal"/>. Layouts (row-major): q (B, T, H, Dqk), k (B, Tk, H, Dqk), v (B, Tk, H, Dv),
/// output (B, T, H, Dv), logSumExp (B, H, T), mask (T, Tk) shared by batch and heads. A row with no attended key gets
/// output 0 and logSumExp −∞. Results do not depend on the thread count.
/// </summary>
public static unsafe partial class Attention
{
    /// <summary>Query rows per tile (Br).</summary>
    public const int BlockRows = 64;

    /// <summary>Key columns per tile (Bc).</summary>
    public const int BlockKeys = 64;

    /// <summary>Forward without an additive mask; see <see cref="Forward{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, in AttentionShape, Span{T}, Span{T})"/>.</summary>
    public static void Forward<T>(ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, in AttentionShape shape, Span<T> output, Span<T> logSumExp)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Forward(q, k, v, ReadOnlySpan<T>.Empty, shape, output, logSumExp, WorkerPool.Current);

    /// <summary>
    /// output[b, i, h] = Σ_j p_ij v[b, j, h], p_ij = exp(s_ij − logSumExp[b, h, i]), s_ij = scale·q[b, i, h]·k[b, j, h] + mask[i, j]
    /// over the attended keys j. <paramref name="mask"/> is empty or (T, Tk).
    /// </summary>
    public static void Forward<T>(ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, ReadOnlySpan<T> mask, in AttentionShape shape, Span<T> output, Span<T> logSumExp)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Forward(q, k, v, mask, shape, output, logSumExp, WorkerPool.Current);

    /// <summary>The forward on the kernel <paramref name="path"/> names (<see cref="AttentionPath.Auto"/>: <see cref="Choose"/>).</summary>
    public static void Forward<T>(ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, ReadOnlySpan<T> mask, in AttentionShape shape, Span<T> output, Span<T> logSumExp,
        AttentionPath path)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Forward(q, k, v, mask, shape, output, logSumExp, WorkerPool.Current, path);

    internal static void Forward<T>(ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, ReadOnlySpan<T> mask, in AttentionShape shape, Span<T> output, Span<T> logSumExp,
        WorkerPool pool, AttentionPath path = AttentionPath.Auto)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ValidateInputs(q.Length, k.Length, v.Length, mask.Length, shape);
        AttentionRows.Expect(nameof(output), output.Length, (long)shape.Batch * shape.Tokens * shape.Heads * shape.VHeadDim, "B·T·H·Dv", exact: true);
        AttentionRows.Expect(nameof(logSumExp), logSumExp.Length, (long)shape.Batch * shape.Heads * shape.Tokens, "B·H·T", exact: true);
        if (Resolve(path, shape) == AttentionPath.Materialized)
        {
            ForwardMaterialized(q, k, v, mask, shape, output, logSumExp, pool);
            return;
        }
        var queryBlocks = (shape.Tokens + (BlockRows * ForwardGroup) - 1) / (BlockRows * ForwardGroup);
        var count = shape.Batch * shape.Heads * queryBlocks;
        if (count == 0) { return; }
        fixed (T* pq = q, pk = k, pv = v, pm = mask, po = output, pl = logSumExp)
        {
            var work = new ForwardItem<T> { Q = pq, K = pk, V = pv, Mask = pm, O = po, Lse = pl, Shape = shape, QueryBlocks = queryBlocks };
            work.Scratch = Scratch<T>.ForWorkers(pool.Threads, ForwardScratch(shape), out work.ScratchStride);
            pool.For(count, ref work);
        }
    }

    /// <summary>Backward without an additive mask; see the overload with <c>mask</c>.</summary>
    public static void Backward<T>(ReadOnlySpan<T> dOutput, ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, ReadOnlySpan<T> output, ReadOnlySpan<T> logSumExp,
        in AttentionShape shape, Span<T> dq, Span<T> dk, Span<T> dv)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Backward(dOutput, q, k, v, ReadOnlySpan<T>.Empty, output, logSumExp, shape, dq, dk, dv, WorkerPool.Current);

    /// <summary>
    /// Gradients of <see cref="Forward{T}(ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, in AttentionShape, Span{T}, Span{T})"/>
    /// given dOutput and the forward's output and logSumExp: dv = Pᵀ·dO, ds = P∘(dO·Vᵀ − rowsum(dO∘O)),
    /// dq = scale·ds·K, dk = scale·dsᵀ·Q. dq, dk and dv are overwritten.
    /// </summary>
    public static void Backward<T>(ReadOnlySpan<T> dOutput, ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, ReadOnlySpan<T> mask, ReadOnlySpan<T> output,
        ReadOnlySpan<T> logSumExp, in AttentionShape shape, Span<T> dq, Span<T> dk, Span<T> dv)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Backward(dOutput, q, k, v, mask, output, logSumExp, shape, dq, dk, dv, WorkerPool.Current);

    /// <summary>The backward on the kernel <paramref name="path"/> names (<see cref="AttentionPath.Auto"/>: <see cref="Choose"/>).</summary>
    public static void Backward<T>(ReadOnlySpan<T> dOutput, ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, ReadOnlySpan<T> mask, ReadOnlySpan<T> output,
        ReadOnlySpan<T> logSumExp, in AttentionShape shape, Span<T> dq, Span<T> dk, Span<T> dv, AttentionPath path)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Backward(dOutput, q, k, v, mask, output, logSumExp, shape, dq, dk, dv, WorkerPool.Current, path);

    internal static void Backward<T>(ReadOnlySpan<T> dOutput, ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, ReadOnlySpan<T> mask, ReadOnlySpan<T> output,
        ReadOnlySpan<T> logSumExp, in AttentionShape shape, Span<T> dq, Span<T> dk, Span<T> dv, WorkerPool pool, AttentionPath path = AttentionPath.Auto)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ValidateInputs(q.Length, k.Length, v.Length, mask.Length, shape);
        var outputLength = (long)shape.Batch * shape.Tokens * shape.Heads * shape.VHeadDim;
        AttentionRows.Expect(nameof(dOutput), dOutput.Length, outputLength, "B·T·H·Dv", exact: true);
        AttentionRows.Expect(nameof(output), output.Length, outputLength, "B·T·H·Dv", exact: true);
        AttentionRows.Expect(nameof(logSumExp), logSumExp.Length, (long)shape.Batch * shape.Heads * shape.Tokens, "B·H·T", exact: true);
        AttentionRows.Expect(nameof(dq), dq.Length, q.Length, "B·T·H·Dqk", exact: true);
        AttentionRows.Expect(nameof(dk), dk.Length, k.Length, "B·Tk·H·Dqk", exact: true);
        AttentionRows.Expect(nameof(dv), dv.Length, v.Length, "B·Tk·H·Dv", exact: true);
        if (Resolve(path, shape) == AttentionPath.Materialized)
        {
            BackwardMaterialized(dOutput, q, k, v, mask, output, logSumExp, shape, dq, dk, dv, pool);
            return;
        }
        var count = shape.Batch * shape.Heads;
        if (count == 0) { return; }
        fixed (T* pdo = dOutput, pq = q, pk = k, pv = v, pm = mask, po = output, pl = logSumExp, pdq = dq, pdk = dk, pdv = dv)
        {
            var work = new BackwardItem<T>
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
            };
            work.Scratch = Scratch<T>.ForWorkers(pool.Threads, BackwardScratch(shape), out work.ScratchStride);
            pool.For(count, ref work);
        }
    }

    // Query blocks per forward item: each packed key tile serves this many 64-row blocks (packing is ~15% of the work otherwise).
    private const int ForwardGroup = 4;

    // One item per (b, h, group of ForwardGroup query blocks), the heaviest (last) causal groups first.
    private struct ForwardItem<T> : IWorkItem where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T* Q, K, V, Mask, O, Lse, Scratch;
        public AttentionShape Shape;
        public int QueryBlocks;
        public int ScratchStride;

        public readonly void Execute(int index, int worker)
        {
            var heads = Shape.Batch * Shape.Heads;
            var group = QueryBlocks - 1 - (index / heads);
            var bh = index % heads;
            ForwardGroupOfBlocks(this, bh / Shape.Heads, bh % Shape.Heads, group * BlockRows * ForwardGroup, Scratch + ((nint)worker * ScratchStride));
        }
    }

    // Scratch elements of one forward item: the transposed key tile, then per query block p, acc, m and l.
    private static int ForwardScratch(in AttentionShape s)
        => (s.QkHeadDim * BlockKeys) + (ForwardGroup * ((BlockRows * BlockKeys) + (BlockRows * s.VHeadDim) + (2 * BlockRows)));

    private static void ForwardGroupOfBlocks<T>(in ForwardItem<T> w, int b, int h, int first, T* scratch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var s = w.Shape;
        int tq = s.Tokens, tk = s.KeyTokens, dqk = s.QkHeadDim, dvh = s.VHeadDim;
        var blocks = Math.Min(ForwardGroup, (tq - first + BlockRows - 1) / BlockRows);
        nint qRow = (nint)s.Heads * dqk, vRow = (nint)s.Heads * dvh;
        var scale = T.CreateTruncating(s.Scale);
        var perBlock = (BlockRows * BlockKeys) + (BlockRows * dvh) + (2 * BlockRows);
        // kt: (Dqk, Bc) transposed key tile; per query block: p (Br, Bc) scores then probabilities, acc (Br, Dv), m and l (Br)
        var kt = scratch;
        new Span<T>(kt + (dqk * BlockKeys), blocks * perBlock).Clear();
        for (var g = 0; g < blocks; g++)
        {
            new Span<T>(kt + (dqk * BlockKeys) + (g * perBlock) + (BlockRows * BlockKeys) + (BlockRows * dvh), BlockRows).Fill(T.NegativeInfinity);
        }
        var lastRow = Math.Min(tq, first + (blocks * BlockRows));
        var keyEnd = s.Causal ? Math.Min(tk, s.StartPos + lastRow) : tk;
        for (var j0 = 0; j0 < keyEnd; j0 += BlockKeys)
        {
            var kBlock = w.K + ((((nint)b * tk) + j0) * qRow) + ((nint)h * dqk);
            PackTransposed(kBlock, qRow, Math.Min(BlockKeys, keyEnd - j0), dqk, kt, BlockKeys);
            for (var g = 0; g < blocks; g++)
            {
                var i0 = first + (g * BlockRows);
                var mb = Math.Min(BlockRows, tq - i0);
                var blockKeyEnd = s.Causal ? Math.Min(tk, s.StartPos + i0 + mb) : tk;
                if (j0 >= blockKeyEnd) { continue; } // fully masked causal tile
                var p = kt + (dqk * BlockKeys) + (g * perBlock);
                var acc = p + (BlockRows * BlockKeys);
                var m = acc + (BlockRows * dvh);
                ForwardTile(w, b, h, i0, mb, j0, Math.Min(BlockKeys, blockKeyEnd - j0), scale, kt, p, acc, m, m + BlockRows);
            }
        }
        for (var g = 0; g < blocks; g++)
        {
            var i0 = first + (g * BlockRows);
            var acc = kt + (dqk * BlockKeys) + (g * perBlock) + (BlockRows * BlockKeys);
            var m = acc + (BlockRows * dvh);
            var l = m + BlockRows;
            for (var r = 0; r < Math.Min(BlockRows, tq - i0); r++)
            {
                var outRow = w.O + ((((nint)b * tq) + i0 + r) * vRow) + ((nint)h * dvh);
                var attended = l[r] > T.Zero;
                var inverse = attended ? T.One / l[r] : T.Zero;
                for (var d = 0; d < dvh; d++) { outRow[d] = acc[(r * dvh) + d] * inverse; }
                w.Lse[((((nint)b * s.Heads) + h) * tq) + i0 + r] = attended ? m[r] + T.Log(l[r]) : T.NegativeInfinity;
            }
        }
    }

    // Rows i0..i0+mb against keys j0..j0+nb (kt holds them transposed), folded into the running m, l, acc.
    private static void ForwardTile<T>(in ForwardItem<T> w, int b, int h, int i0, int mb, int j0, int nb, T scale, T* kt, T* p, T* acc, T* m, T* l)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var s = w.Shape;
        int tq = s.Tokens, tk = s.KeyTokens, dqk = s.QkHeadDim, dvh = s.VHeadDim;
        nint qRow = (nint)s.Heads * dqk, vRow = (nint)s.Heads * dvh;
        var qBlock = w.Q + ((((nint)b * tq) + i0) * qRow) + ((nint)h * dqk);
        var vBlock = w.V + ((((nint)b * tk) + j0) * vRow) + ((nint)h * dvh);
        TileMath.Gemm(qBlock, qRow, 1, kt, BlockKeys, mb, nb, dqk, false, p, BlockKeys);
        for (var r = 0; r < mb; r++)
        {
            // online softmax: m' = max(m, rowmax), l' = l·e^(m−m') + Σ e^(s−m'), acc' = acc·e^(m−m') + P·V
            var row = p + (r * BlockKeys);
            var attended = s.Causal ? Math.Clamp(s.StartPos + i0 + r + 1 - j0, 0, nb) : nb;
            var maskRow = w.Mask == null ? null : w.Mask + ((nint)(i0 + r) * tk) + j0;
            var rowMax = TileMath.ScaleMaskMax(row, maskRow, attended, scale);
            var mOld = m[r];
            var mNew = T.Max(mOld, rowMax);
            var shift = T.IsNegativeInfinity(mNew) ? T.Zero : mNew;
            var sum = TileMath.ExpShiftSum(row, attended, shift);
            new Span<T>(row + attended, nb - attended).Clear();
            var alpha = T.IsNegativeInfinity(mOld) ? T.Zero : T.Exp(mOld - shift);
            l[r] = (l[r] * alpha) + sum;
            m[r] = mNew;
            if (alpha != T.One) { TileMath.Scale(acc + (r * dvh), dvh, alpha); }
        }
        TileMath.Gemm(p, BlockKeys, 1, vBlock, vRow, mb, dvh, nb, true, acc, dvh);
    }

    // One item per (b, h): key blocks in order, each accumulating its dK, dV tile over the query blocks that see it,
    // and adding its share to dQ rows in the same fixed order, so no two items write the same output.
    private struct BackwardItem<T> : IWorkItem where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T* DO, Q, K, V, Mask, O, Lse, DQ, DK, DV, Scratch;
        public AttentionShape Shape;
        public int ScratchStride;

        public readonly void Execute(int index, int worker)
            => BackwardHead(this, index / Shape.Heads, index % Shape.Heads, Scratch + ((nint)worker * ScratchStride));
    }

    // Scratch elements of one backward item: kt, vt, p, ds, dkAcc, dvAcc and rowDot.
    private static int BackwardScratch(in AttentionShape s) => ((s.QkHeadDim + s.VHeadDim) * BlockKeys * 2) + (2 * BlockRows * BlockKeys) + s.Tokens;

    private static void BackwardHead<T>(in BackwardItem<T> w, int b, int h, T* scratch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var s = w.Shape;
        int tq = s.Tokens, tk = s.KeyTokens, dqk = s.QkHeadDim, dvh = s.VHeadDim;
        nint qRow = (nint)s.Heads * dqk, vRow = (nint)s.Heads * dvh;
        var scale = T.CreateTruncating(s.Scale);
        var tile = BlockRows * BlockKeys;
        // kt: (Dqk, Bc)  vt: (Dv, Bc)  p: (Br, Bc)  ds: (Br, Bc)  dkAcc: (Bc, Dqk)  dvAcc: (Bc, Dv)  rowDot: (T)
        var kt = scratch;
        var vt = kt + (dqk * BlockKeys);
        var p = vt + (dvh * BlockKeys);
        var ds = p + tile;
        var dkAcc = ds + tile;
        var dvAcc = dkAcc + (BlockKeys * dqk);
        var rowDot = dvAcc + (BlockKeys * dvh);
        var qHead = w.Q + ((nint)b * tq * qRow) + ((nint)h * dqk);
        var dqHead = w.DQ + ((nint)b * tq * qRow) + ((nint)h * dqk);
        var doHead = w.DO + ((nint)b * tq * vRow) + ((nint)h * dvh);
        var oHead = w.O + ((nint)b * tq * vRow) + ((nint)h * dvh);
        var kHead = w.K + ((nint)b * tk * qRow) + ((nint)h * dqk);
        var dkHead = w.DK + ((nint)b * tk * qRow) + ((nint)h * dqk);
        var vHead = w.V + ((nint)b * tk * vRow) + ((nint)h * dvh);
        var dvHead = w.DV + ((nint)b * tk * vRow) + ((nint)h * dvh);
        var lseHead = w.Lse + ((((nint)b * s.Heads) + h) * tq);
        for (var i = 0; i < tq; i++)
        {
            // D_i = rowsum(dO_i ∘ O_i)
            new Span<T>(dqHead + (i * qRow), dqk).Clear();
            var dot = T.Zero;
            for (var d = 0; d < dvh; d++) { dot += doHead[(i * vRow) + d] * oHead[(i * vRow) + d]; }
            rowDot[i] = dot;
        }
        for (var j0 = 0; j0 < tk; j0 += BlockKeys)
        {
            var nb = Math.Min(BlockKeys, tk - j0);
            var kBlock = kHead + (j0 * qRow);
            PackTransposed(kBlock, qRow, nb, dqk, kt, BlockKeys);
            PackTransposed(vHead + (j0 * vRow), vRow, nb, dvh, vt, BlockKeys);
            new Span<T>(dkAcc, nb * dqk).Clear();
            new Span<T>(dvAcc, nb * dvh).Clear();
            var firstQuery = s.Causal ? Math.Max(0, j0 - s.StartPos) : 0;
            for (var i0 = firstQuery; i0 < tq; i0 += BlockRows)
            {
                var mb = Math.Min(BlockRows, tq - i0);
                var qBlock = qHead + (i0 * qRow);
                var doBlock = doHead + (i0 * vRow);
                TileMath.Gemm(qBlock, qRow, 1, kt, BlockKeys, mb, nb, dqk, false, p, BlockKeys);
                TileMath.Gemm(doBlock, vRow, 1, vt, BlockKeys, mb, nb, dvh, false, ds, BlockKeys);
                for (var r = 0; r < mb; r++)
                {
                    var attended = s.Causal ? Math.Clamp(s.StartPos + i0 + r + 1 - j0, 0, nb) : nb;
                    var maskRow = w.Mask == null ? null : w.Mask + ((nint)(i0 + r) * tk) + j0;
                    var lse = lseHead[i0 + r];
                    if (T.IsNegativeInfinity(lse)) { lse = T.PositiveInfinity; } // a row with no attended key: P = 0
                    TileMath.SoftmaxGradRow(p + (r * BlockKeys), maskRow, attended, scale, lse, rowDot[i0 + r], ds + (r * BlockKeys));
                    new Span<T>(p + (r * BlockKeys) + attended, nb - attended).Clear();
                    new Span<T>(ds + (r * BlockKeys) + attended, nb - attended).Clear();
                }
                // ds already carries the scale: dV += Pᵀ·dO, dK += dSᵀ·Q, dQ += dS·K
                TileMath.Gemm(p, 1, BlockKeys, doBlock, vRow, nb, dvh, mb, true, dvAcc, dvh);
                TileMath.Gemm(ds, 1, BlockKeys, qBlock, qRow, nb, dqk, mb, true, dkAcc, dqk);
                TileMath.Gemm(ds, BlockKeys, 1, kBlock, qRow, mb, dqk, nb, true, dqHead + (i0 * qRow), qRow);
            }
            for (var jj = 0; jj < nb; jj++)
            {
                new ReadOnlySpan<T>(dkAcc + (jj * dqk), dqk).CopyTo(new Span<T>(dkHead + ((j0 + jj) * qRow), dqk));
                new ReadOnlySpan<T>(dvAcc + (jj * dvh), dvh).CopyTo(new Span<T>(dvHead + ((j0 + jj) * vRow), dvh));
            }
        }
    }

    // dst[c·dstRow + r] = src[r·srcRow + c] for r < rows, c < cols.
    private static void PackTransposed<T>(T* src, nint srcRow, int rows, int cols, T* dst, nint dstRow) where T : unmanaged
    {
        for (var r = 0; r < rows; r++)
        {
            var from = src + (r * srcRow);
            var to = dst + r;
            for (var c = 0; c < cols; c++) { to[c * dstRow] = from[c]; }
        }
    }

    // Per-worker tile scratch owned by the calling thread: one slice per pool thread, grown on the caller before its loop
    // (as MatmulDriver's worker buffers are), never on whichever worker first claims an item, so after warm-up a call
    // allocates nothing on any thread whatever the claiming order.
    private static class Scratch<T> where T : unmanaged
    {
        [ThreadStatic]
        private static T[]? s_buffer;

        /// <summary>The base of <paramref name="threads"/> slices of at least <paramref name="length"/> elements, worker w's
        /// at w·<paramref name="stride"/> (whole cache lines apart); valid until this thread asks for more.</summary>
        public static T* ForWorkers(int threads, int length, out int stride)
        {
            var line = 64 / sizeof(T);
            stride = (length + line - 1) / line * line;
            var need = checked(threads * stride);
            var buffer = s_buffer;
            if (buffer is null || buffer.Length < need)
            {
                buffer = GC.AllocateUninitializedArray<T>(need, pinned: true);
                s_buffer = buffer;
            }
            return (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer)); // pinned: it never moves
        }
    }

    /// <summary>The oracle: scores materialized per row, double accumulation. Same contract as Forward.</summary>
    public static void Naive<T>(ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, ReadOnlySpan<T> mask, in AttentionShape shape, Span<T> output, Span<T> logSumExp)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ValidateInputs(q.Length, k.Length, v.Length, mask.Length, shape);
        AttentionRows.Expect(nameof(output), output.Length, (long)shape.Batch * shape.Tokens * shape.Heads * shape.VHeadDim, "B·T·H·Dv", exact: true);
        AttentionRows.Expect(nameof(logSumExp), logSumExp.Length, (long)shape.Batch * shape.Heads * shape.Tokens, "B·H·T", exact: true);
        int tq = shape.Tokens, tk = shape.KeyTokens, heads = shape.Heads, dqk = shape.QkHeadDim, dvh = shape.VHeadDim;
        var scores = new double[tk];
        var o = new double[dvh];
        for (var b = 0; b < shape.Batch; b++)
        {
            for (var h = 0; h < heads; h++)
            {
                for (var i = 0; i < tq; i++)
                {
                    var max = NaiveScores(q, k, mask, shape, b, h, i, scores);
                    var sum = 0.0;
                    Array.Clear(o);
                    for (var j = 0; j < tk; j++)
                    {
                        if (double.IsNegativeInfinity(scores[j])) { continue; }
                        var e = Math.Exp(scores[j] - max);
                        sum += e;
                        for (var d = 0; d < dvh; d++) { o[d] += e * double.CreateTruncating(v[(((b * tk) + j) * heads + h) * dvh + d]); }
                    }
                    for (var d = 0; d < dvh; d++)
                    {
                        output[(((b * tq) + i) * heads + h) * dvh + d] = T.CreateTruncating(sum > 0 ? o[d] / sum : 0.0);
                    }
                    logSumExp[((b * heads) + h) * tq + i] = T.CreateTruncating(sum > 0 ? max + Math.Log(sum) : double.NegativeInfinity);
                }
            }
        }
    }

    /// <summary>The backward oracle: P materialized per (b, h) in double, gradients from the forward's definition.</summary>
    public static void NaiveBackward<T>(ReadOnlySpan<T> dOutput, ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, ReadOnlySpan<T> mask, in AttentionShape shape,
        Span<T> dq, Span<T> dk, Span<T> dv)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ValidateInputs(q.Length, k.Length, v.Length, mask.Length, shape);
        AttentionRows.Expect(nameof(dOutput), dOutput.Length, (long)shape.Batch * shape.Tokens * shape.Heads * shape.VHeadDim, "B·T·H·Dv", exact: true);
        AttentionRows.Expect(nameof(dq), dq.Length, q.Length, "B·T·H·Dqk", exact: true);
        AttentionRows.Expect(nameof(dk), dk.Length, k.Length, "B·Tk·H·Dqk", exact: true);
        AttentionRows.Expect(nameof(dv), dv.Length, v.Length, "B·Tk·H·Dv", exact: true);
        int tq = shape.Tokens, tk = shape.KeyTokens, heads = shape.Heads, dqk = shape.QkHeadDim, dvh = shape.VHeadDim;
        var scores = new double[tk];
        var prob = new double[tq, tk];
        var dS = new double[tq, tk];
        for (var b = 0; b < shape.Batch; b++)
        {
            for (var h = 0; h < heads; h++)
            {
                for (var i = 0; i < tq; i++)
                {
                    var max = NaiveScores(q, k, mask, shape, b, h, i, scores);
                    var sum = 0.0;
                    for (var j = 0; j < tk; j++) { sum += double.IsNegativeInfinity(scores[j]) ? 0 : Math.Exp(scores[j] - max); }
                    for (var j = 0; j < tk; j++) { prob[i, j] = double.IsNegativeInfinity(scores[j]) ? 0 : Math.Exp(scores[j] - max) / sum; }
                    // dP_ij = dO_i·v_j;  ds_ij = P_ij (dP_ij − Σ_l P_il dP_il)
                    var dP = new double[tk];
                    var weighted = 0.0;
                    for (var j = 0; j < tk; j++)
                    {
                        var dot = 0.0;
                        for (var d = 0; d < dvh; d++)
                        {
                            dot += double.CreateTruncating(dOutput[(((b * tq) + i) * heads + h) * dvh + d]) * double.CreateTruncating(v[(((b * tk) + j) * heads + h) * dvh + d]);
                        }
                        dP[j] = dot;
                        weighted += prob[i, j] * dot;
                    }
                    for (var j = 0; j < tk; j++) { dS[i, j] = prob[i, j] * (dP[j] - weighted); }
                }
                for (var i = 0; i < tq; i++)
                {
                    for (var d = 0; d < dqk; d++)
                    {
                        var acc = 0.0;
                        for (var j = 0; j < tk; j++) { acc += dS[i, j] * double.CreateTruncating(k[(((b * tk) + j) * heads + h) * dqk + d]); }
                        dq[(((b * tq) + i) * heads + h) * dqk + d] = T.CreateTruncating(shape.Scale * acc);
                    }
                }
                for (var j = 0; j < tk; j++)
                {
                    for (var d = 0; d < dqk; d++)
                    {
                        var acc = 0.0;
                        for (var i = 0; i < tq; i++) { acc += dS[i, j] * double.CreateTruncating(q[(((b * tq) + i) * heads + h) * dqk + d]); }
                        dk[(((b * tk) + j) * heads + h) * dqk + d] = T.CreateTruncating(shape.Scale * acc);
                    }
                    for (var d = 0; d < dvh; d++)
                    {
                        var acc = 0.0;
                        for (var i = 0; i < tq; i++) { acc += prob[i, j] * double.CreateTruncating(dOutput[(((b * tq) + i) * heads + h) * dvh + d]); }
                        dv[(((b * tk) + j) * heads + h) * dvh + d] = T.CreateTruncating(acc);
                    }
                }
            }
        }
    }

    // scores[j] = scale·q_i·k_j + mask_ij, −∞ where masked; returns the max (0 when every key is masked).
    private static double NaiveScores<T>(ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> mask, in AttentionShape shape, int b, int h, int i, double[] scores)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int tq = shape.Tokens, tk = shape.KeyTokens, heads = shape.Heads, dqk = shape.QkHeadDim;
        var max = double.NegativeInfinity;
        for (var j = 0; j < tk; j++)
        {
            if (shape.Causal && j > shape.StartPos + i)
            {
                scores[j] = double.NegativeInfinity;
                continue;
            }
            var dot = 0.0;
            for (var d = 0; d < dqk; d++)
            {
                dot += double.CreateTruncating(q[(((b * tq) + i) * heads + h) * dqk + d]) * double.CreateTruncating(k[(((b * tk) + j) * heads + h) * dqk + d]);
            }
            var score = shape.Scale * dot;
            if (!mask.IsEmpty) { score += double.CreateTruncating(mask[(i * tk) + j]); }
            scores[j] = score;
            max = Math.Max(max, score);
        }
        return double.IsNegativeInfinity(max) ? 0 : max;
    }

    private static void ValidateInputs(int qLength, int kLength, int vLength, int maskLength, in AttentionShape shape)
    {
        if (shape.Batch < 0 || shape.Tokens < 0 || shape.KeyTokens < 0 || shape.Heads < 1 || shape.QkHeadDim < 1 || shape.VHeadDim < 1 || shape.StartPos < 0)
        {
            throw new ArgumentException($"shape: sizes must be non-negative (heads and head dims positive), got {shape}", nameof(shape));
        }
        if (shape.Causal && shape.StartPos + shape.Tokens > shape.KeyTokens)
        {
            throw new ArgumentException(
                $"shape: causal attention needs KeyTokens >= StartPos + Tokens = {shape.StartPos + shape.Tokens}, got {shape.KeyTokens}", nameof(shape));
        }
        if (!double.IsFinite(shape.Scale))
        {
            throw new ArgumentException($"shape: Scale must be finite, got {shape.Scale}", nameof(shape));
        }
        AttentionRows.Expect("q", qLength, (long)shape.Batch * shape.Tokens * shape.Heads * shape.QkHeadDim, "B·T·H·Dqk", exact: true);
        AttentionRows.Expect("k", kLength, (long)shape.Batch * shape.KeyTokens * shape.Heads * shape.QkHeadDim, "B·Tk·H·Dqk", exact: true);
        AttentionRows.Expect("v", vLength, (long)shape.Batch * shape.KeyTokens * shape.Heads * shape.VHeadDim, "B·Tk·H·Dv", exact: true);
        if (maskLength != 0) { AttentionRows.Expect("mask", maskLength, (long)shape.Tokens * shape.KeyTokens, "T·Tk, or empty", exact: true); }
    }
}
