// LatentAttention.cs: absorbed MLA attention straight over the latent cache for decode-sized chunks, one work item per
// head: q_abs = q_nope·W_UK_h, an online softmax over 64-key blocks of the cache (each block read once per head for all
// rows), o_lat = Σ_j p_j c_j, o_h = W_UV_h·o_lat. With AVX2 and FMA the scores and W_UV_h·o_lat take eight dot products at
// a time with one horizontal-add tree (Dot8), and a block's max, exp and sum run eight wide; elsewhere four at a time with
// a horizontal sum each. Every row is computed by the same arithmetic whatever the chunk size.
// Naive (double accumulation) is the test oracle. Not here: the projections, RoPE and cache writes, the GEMM path for
// long chunks (both in Model's Mla). Tested by LatentAttentionTests.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpSeek.Tensors.Kernels;

/// <summary>
/// Absorbed multi-head latent attention for a chunk of T rows over a latent cache, per head h and row i:
/// q_abs = q_nope·W_UK_h, s_j = scale·(q_abs·c_j + q_pe·k_pe_j) for j ≤ Start + i, p = softmax(s), o_lat = Σ_j p_j c_j,
/// o = W_UV_h·o_lat, where W_UK_h (d_n, c) and W_UV_h (d_v, c) are kv_b_proj's rows h·(d_n + d_v) .. and the d_v after.
/// Layouts (row-major): q (T, H, d_n + d_r) of which each head's first d_n are read, qPe (T, H, d_r) rotated, kvB
/// (H·(d_n + d_v), c), latent (≥ Tk, c), ropeKeys (≥ Tk, d_r), output (T, H, d_v). Each row's result is bitwise the same
/// as when it is computed alone (T = 1 at its position), and results do not depend on the thread count.
/// </summary>
[SkipLocalsInit] // the stack scratch is written before it is read; zeroing it per head and block was pure cost
public static unsafe class LatentAttention
{
    /// <summary>Cache positions per softmax block.</summary>
    public const int BlockKeys = 64;

    /// <summary>The widest latent the kernel takes (its per-head buffers live on the stack).</summary>
    public const int MaxRank = 1024;

    // Rows sharing one sweep of the cache; longer chunks take several sweeps.
    private const int RowGroup = 4;

    /// <summary>
    /// Attention for every head: inline on the calling thread when <paramref name="pool"/> is null, else one pool item
    /// per head.
    /// </summary>
    public static void Forward(ReadOnlySpan<float> q, ReadOnlySpan<float> qPe, ReadOnlySpan<float> kvB, ReadOnlySpan<float> latent, ReadOnlySpan<float> ropeKeys,
        in LatentAttentionShape shape, Span<float> output, WorkerPool? pool = null)
    {
        Validate(q.Length, qPe.Length, kvB.Length, latent.Length, ropeKeys.Length, output.Length, shape);
        if (shape.Tokens == 0) { return; }
        fixed (float* pq = q, pqPe = qPe, pkvB = kvB, platent = latent, prope = ropeKeys, po = output)
        {
            var work = new HeadItem { Q = pq, QPe = pqPe, KvB = pkvB, Latent = platent, Rope = prope, O = po, Shape = shape };
            if (pool is null)
            {
                for (var head = 0; head < shape.Heads; head++) { work.Execute(head, 0); }
            }
            else
            {
                pool.For(shape.Heads, ref work);
            }
        }
    }

    /// <summary>The same attention with every sum in double and the scores materialized: the test oracle.</summary>
    public static void Naive(ReadOnlySpan<float> q, ReadOnlySpan<float> qPe, ReadOnlySpan<float> kvB, ReadOnlySpan<float> latent, ReadOnlySpan<float> ropeKeys,
        in LatentAttentionShape shape, Span<float> output)
    {
        Validate(q.Length, qPe.Length, kvB.Length, latent.Length, ropeKeys.Length, output.Length, shape);
        var s = shape;
        int c = s.KvLoraRank, dn = s.QkNopeHeadDim, dr = s.QkRopeHeadDim, dv = s.VHeadDim, h = s.Heads;
        var qAbs = new double[c];
        var oLat = new double[c];
        var scores = new double[s.KeyTokens];
        for (var i = 0; i < s.Tokens; i++)
        {
            for (var head = 0; head < h; head++)
            {
                var wUk = (head * (dn + dv)) * c;
                var wUv = wUk + (dn * c);
                var qRow = ((i * h) + head) * s.QkHeadDim;
                for (var k = 0; k < c; k++)
                {
                    var acc = 0.0;
                    for (var n = 0; n < dn; n++) { acc += (double)q[qRow + n] * kvB[wUk + (n * c) + k]; }
                    qAbs[k] = acc;
                }
                var attended = s.Start + i + 1;
                var max = double.NegativeInfinity;
                for (var j = 0; j < attended; j++)
                {
                    var dot = 0.0;
                    for (var k = 0; k < c; k++) { dot += qAbs[k] * latent[(j * c) + k]; }
                    for (var k = 0; k < dr; k++) { dot += (double)qPe[(((i * h) + head) * dr) + k] * ropeKeys[(j * dr) + k]; }
                    scores[j] = s.Scale * dot;
                    max = Math.Max(max, scores[j]);
                }
                var sum = 0.0;
                for (var j = 0; j < attended; j++) { sum += scores[j] = Math.Exp(scores[j] - max); }
                Array.Clear(oLat);
                for (var j = 0; j < attended; j++)
                {
                    for (var k = 0; k < c; k++) { oLat[k] += scores[j] / sum * latent[(j * c) + k]; }
                }
                for (var v = 0; v < dv; v++)
                {
                    var acc = 0.0;
                    for (var k = 0; k < c; k++) { acc += (double)kvB[wUv + (v * c) + k] * oLat[k]; }
                    output[(((i * h) + head) * dv) + v] = (float)acc;
                }
            }
        }
    }

    private struct HeadItem : IWorkItem
    {
        public float* Q, QPe, KvB, Latent, Rope, O;
        public LatentAttentionShape Shape;

        public readonly void Execute(int index, int worker) => Head(this, index);
    }

    // One head for all rows, RowGroup rows per sweep of the cache; per row: its q_abs and o_lat (c each) on the stack,
    // the running max and sum of the online softmax, then o = W_UV_h·o_lat / sum.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Head(in HeadItem w, int head)
    {
        var s = w.Shape;
        int c = s.KvLoraRank, dn = s.QkNopeHeadDim, dr = s.QkRopeHeadDim, dv = s.VHeadDim, h = s.Heads;
        var wUk = w.KvB + ((nint)head * (dn + dv) * c);                                      // W_UK_h: (d_n, c)
        var wUv = wUk + ((nint)dn * c);                                                      // W_UV_h: (d_v, c)
        var qAbs = stackalloc float[RowGroup * c];
        var oLat = stackalloc float[RowGroup * c];
        var p = stackalloc float[BlockKeys];
        var max = stackalloc float[RowGroup];
        var sum = stackalloc float[RowGroup];
        var dot = stackalloc float[4];
        var dot8 = stackalloc float[8];
        for (var r0 = 0; r0 < s.Tokens; r0 += RowGroup)
        {
            var rows = Math.Min(RowGroup, s.Tokens - r0);
            for (var r = 0; r < rows; r++)
            {
                // q_abs = Σ_n q_nope[n]·W_UK_h[n, :]
                var qNope = w.Q + ((((nint)(r0 + r) * h) + head) * s.QkHeadDim);
                new Span<float>(qAbs + (r * c), c).Clear();
                AttentionRows.Accumulate(qNope, wUk, c, dn, c, 1f, qAbs + (r * c));
                new Span<float>(oLat + (r * c), c).Clear();
                (max[r], sum[r]) = (float.NegativeInfinity, 0f);
            }
            // Blocks sit at fixed positions 0, 64, …, so a row meets the same blocks whichever rows share its sweep.
            var keys = s.Start + r0 + rows;
            for (var j0 = 0; j0 < keys; j0 += BlockKeys)
            {
                for (var r = 0; r < rows; r++)
                {
                    var n = Math.Min(BlockKeys, s.Start + r0 + r + 1 - j0);
                    if (n <= 0) { continue; }
                    var qPe = w.QPe + ((((nint)(r0 + r) * h) + head) * dr);
                    Block(qAbs + (r * c), qPe, w.Latent + ((nint)j0 * c), w.Rope + ((nint)j0 * dr), n, c, dr, s.Scale, p, ref max[r], ref sum[r], oLat + (r * c));
                }
            }
            for (var r = 0; r < rows; r++)
            {
                var o = w.O + ((((nint)(r0 + r) * h) + head) * dv);
                var inverse = 1f / sum[r];
                if (Eight)
                {
                    for (var v = 0; v < dv; v += 8)
                    {
                        var count = Math.Min(8, dv - v);
                        var values = Dot8(oLat + (r * c), wUv + ((nint)v * c), c, null, null, 0, count) * Vector256.Create(inverse);
                        if (count == 8) { values.Store(o + v); }
                        else
                        {
                            values.Store(dot8);
                            for (var i = 0; i < count; i++) { o[v + i] = dot8[i]; }
                        }
                    }
                    continue;
                }
                for (var v = 0; v < dv; v += 4)
                {
                    var row = wUv + ((nint)v * c);
                    Dot4(oLat + (r * c), row, row + (Math.Min(1, dv - v - 1) * c), row + (Math.Min(2, dv - v - 1) * c), row + (Math.Min(3, dv - v - 1) * c), c, dot);
                    for (var i = 0; i < Math.Min(4, dv - v); i++) { o[v + i] = dot[i] * inverse; }
                }
            }
        }
    }

    // One row over the n keys of a block: scores, then the online-softmax update
    //   m' = max(m, max_j s_j),  α = exp(m − m'),  p_j = exp(s_j − m'),  sum = α·sum + Σ_j p_j,  o_lat = α·o_lat + Σ_j p_j c_j.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block(float* qAbs, float* qPe, float* keys, float* rope, int n, int c, int dr, float scale, float* p, ref float max, ref float sum, float* oLat)
    {
        if (Eight)
        {
            BlockEight(qAbs, qPe, keys, rope, n, c, dr, scale, p, ref max, ref sum, oLat);
            return;
        }
        var dot = stackalloc float[8];
        for (var j = 0; j < n; j += 4)
        {
            // keys past the block's end repeat its last one; their sums are dropped
            int j1 = Math.Min(j + 1, n - 1), j2 = Math.Min(j + 2, n - 1), j3 = Math.Min(j + 3, n - 1);
            Dot4(qAbs, keys + ((nint)j * c), keys + ((nint)j1 * c), keys + ((nint)j2 * c), keys + ((nint)j3 * c), c, dot);
            Dot4(qPe, rope + ((nint)j * dr), rope + ((nint)j1 * dr), rope + ((nint)j2 * dr), rope + ((nint)j3 * dr), dr, dot + 4);
            for (var i = 0; i < Math.Min(4, n - j); i++) { p[j + i] = scale * (dot[i] + dot[4 + i]); }
        }
        var next = max;
        for (var j = 0; j < n; j++) { next = MathF.Max(next, p[j]); }
        var alpha = MathF.Exp(max - next);                                                   // 0 at the first block (m = −∞)
        var e = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var shift = Vector256.Create(next);
            for (; e <= n - 8; e += 8) { TileMath.Exp(Vector256.Load(p + e) - shift).Store(p + e); }
        }
        for (; e < n; e++) { p[e] = MathF.Exp(p[e] - next); }
        var total = 0f;
        for (var j = 0; j < n; j++) { total += p[j]; }
        (max, sum) = (next, (alpha * sum) + total);
        AttentionRows.Accumulate(p, keys, c, n, c, alpha, oLat);
    }

    // Block with AVX2 and FMA: the scores of eight keys at a time (Dot8: one horizontal-add tree for the eight instead of
    // a horizontal sum per key), and the max, exp and sum over the block eight wide. p holds BlockKeys floats, so the
    // last group's slots past n (scores of the last key again, which are at most the max) are computed and dropped.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BlockEight(float* qAbs, float* qPe, float* keys, float* rope, int n, int c, int dr, float scale, float* p, ref float max, ref float sum, float* oLat)
    {
        var scaled = Vector256.Create(scale);
        var top = Vector256.Create(float.NegativeInfinity);
        for (var j = 0; j < n; j += 8)
        {
            var count = Math.Min(8, n - j);
            var scores = Dot8(qAbs, keys + ((nint)j * c), c, qPe, rope + ((nint)j * dr), dr, count) * scaled;
            scores.Store(p + j);
            top = Vector256.Max(top, scores);                                                // slots past n repeat a score of the block
        }
        var next = MathF.Max(max, Max8(top));
        var alpha = MathF.Exp(max - next);                                                   // 0 at the first block (m = −∞)
        var shift = Vector256.Create(next);
        var totals = Vector256<float>.Zero;
        int e = 0, whole = n & ~7;
        for (; e < whole; e += 8)
        {
            var v = TileMath.Exp(Vector256.Load(p + e) - shift);
            v.Store(p + e);
            totals += v;
        }
        if (e < n)
        {
            TileMath.Exp(Vector256.Load(p + e) - shift).Store(p + e);
        }
        var total = Vector256.Sum(totals);
        for (; e < n; e++) { total += p[e]; }
        (max, sum) = (next, (alpha * sum) + total);
        AttentionRows.Accumulate(p, keys, c, n, c, alpha, oLat);
    }

    // Whether the eight-key paths run (AVX2 and FMA); otherwise the four-key ones. Fixed per machine, so every row is
    // computed by the same code whatever the chunk.
    private static bool Eight => Avx2.IsSupported && Fma.IsSupported;

    private static float Max8(Vector256<float> v)
    {
        var four = Vector128.Max(v.GetLower(), v.GetUpper());
        var two = Vector128.Max(four, Vector128.Shuffle(four, Vector128.Create(2, 3, 0, 1)));
        return MathF.Max(two.ToScalar(), two.GetElement(1));
    }

    // s[i] = a·b_i + a2·b2_i for the eight rows b_i = b + i·stride (length n) and b2_i = b2 + i·stride2 (length n2, none
    // when a2 is null), rows past count repeating row count − 1: eight vector accumulators over a's whole 8-wide part and
    // then a2's, one horizontal-add tree for the eight (every slot's sum is ((l0 + l1) + (l2 + l3)) + ((l4 + l5) +
    // (l6 + l7)) of its lanes), then each row's scalar tails in order. A row's sum does not depend on its slot.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector256<float> Dot8(float* a, float* b, int n, float* a2, float* b2, int n2, int count)
    {
        var last = count - 1;
        float* p0 = b, p1 = b + ((nint)Math.Min(1, last) * n), p2 = b + ((nint)Math.Min(2, last) * n), p3 = b + ((nint)Math.Min(3, last) * n);
        float* p4 = b + ((nint)Math.Min(4, last) * n), p5 = b + ((nint)Math.Min(5, last) * n), p6 = b + ((nint)Math.Min(6, last) * n), p7 = b + ((nint)Math.Min(7, last) * n);
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        int k = 0, whole = n & ~7;
        for (; k < whole; k += 8)
        {
            var x = Vector256.Load(a + k);
            s0 = Fma.MultiplyAdd(x, Vector256.Load(p0 + k), s0);
            s1 = Fma.MultiplyAdd(x, Vector256.Load(p1 + k), s1);
            s2 = Fma.MultiplyAdd(x, Vector256.Load(p2 + k), s2);
            s3 = Fma.MultiplyAdd(x, Vector256.Load(p3 + k), s3);
            s4 = Fma.MultiplyAdd(x, Vector256.Load(p4 + k), s4);
            s5 = Fma.MultiplyAdd(x, Vector256.Load(p5 + k), s5);
            s6 = Fma.MultiplyAdd(x, Vector256.Load(p6 + k), s6);
            s7 = Fma.MultiplyAdd(x, Vector256.Load(p7 + k), s7);
        }
        int k2 = 0, whole2 = n2 & ~7;
        float* q0 = b2, q1 = b2 + ((nint)Math.Min(1, last) * n2), q2 = b2 + ((nint)Math.Min(2, last) * n2), q3 = b2 + ((nint)Math.Min(3, last) * n2);
        float* q4 = b2 + ((nint)Math.Min(4, last) * n2), q5 = b2 + ((nint)Math.Min(5, last) * n2), q6 = b2 + ((nint)Math.Min(6, last) * n2), q7 = b2 + ((nint)Math.Min(7, last) * n2);
        for (; a2 != null && k2 < whole2; k2 += 8)
        {
            var x = Vector256.Load(a2 + k2);
            s0 = Fma.MultiplyAdd(x, Vector256.Load(q0 + k2), s0);
            s1 = Fma.MultiplyAdd(x, Vector256.Load(q1 + k2), s1);
            s2 = Fma.MultiplyAdd(x, Vector256.Load(q2 + k2), s2);
            s3 = Fma.MultiplyAdd(x, Vector256.Load(q3 + k2), s3);
            s4 = Fma.MultiplyAdd(x, Vector256.Load(q4 + k2), s4);
            s5 = Fma.MultiplyAdd(x, Vector256.Load(q5 + k2), s5);
            s6 = Fma.MultiplyAdd(x, Vector256.Load(q6 + k2), s6);
            s7 = Fma.MultiplyAdd(x, Vector256.Load(q7 + k2), s7);
        }
        var low = Avx.HorizontalAdd(Avx.HorizontalAdd(s0, s1), Avx.HorizontalAdd(s2, s3));       // rows 0–3: lanes 0–3 | 4–7
        var high = Avx.HorizontalAdd(Avx.HorizontalAdd(s4, s5), Avx.HorizontalAdd(s6, s7));      // rows 4–7
        var sums = Avx.Permute2x128(low, high, 0x20) + Avx.Permute2x128(low, high, 0x31);
        if (k == n && (a2 == null || k2 == n2)) { return sums; }
        var t = stackalloc float[8];
        sums.Store(t);
        for (var i = 0; i < 8; i++)
        {
            var acc = t[i];
            var row = b + ((nint)Math.Min(i, last) * n);
            for (var kk = k; kk < n; kk++) { acc += a[kk] * row[kk]; }
            var row2 = b2 + ((nint)Math.Min(i, last) * n2);
            for (var kk = k2; a2 != null && kk < n2; kk++) { acc += a2[kk] * row2[kk]; }
            t[i] = acc;
        }
        return Vector256.Load(t);
    }

    // s[i] = a·b_i for four vectors b_i of length n (they may repeat): vector partial sums over the whole length, one
    // horizontal sum, then the scalar tail, so each b_i's sum is the same whichever slot it takes.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4(float* a, float* b0, float* b1, float* b2, float* b3, int n, float* s)
    {
        var k = 0;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; k <= n - 8; k += 8)
            {
                var x = Vector256.Load(a + k);
                a0 = Vector256.MultiplyAddEstimate(x, Vector256.Load(b0 + k), a0);
                a1 = Vector256.MultiplyAddEstimate(x, Vector256.Load(b1 + k), a1);
                a2 = Vector256.MultiplyAddEstimate(x, Vector256.Load(b2 + k), a2);
                a3 = Vector256.MultiplyAddEstimate(x, Vector256.Load(b3 + k), a3);
            }
            (s0, s1, s2, s3) = (Vector256.Sum(a0), Vector256.Sum(a1), Vector256.Sum(a2), Vector256.Sum(a3));
        }
        else if (Vector128.IsHardwareAccelerated && n >= 4)
        {
            Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; k <= n - 4; k += 4)
            {
                var x = Vector128.Load(a + k);
                a0 = Vector128.MultiplyAddEstimate(x, Vector128.Load(b0 + k), a0);
                a1 = Vector128.MultiplyAddEstimate(x, Vector128.Load(b1 + k), a1);
                a2 = Vector128.MultiplyAddEstimate(x, Vector128.Load(b2 + k), a2);
                a3 = Vector128.MultiplyAddEstimate(x, Vector128.Load(b3 + k), a3);
            }
            (s0, s1, s2, s3) = (Vector128.Sum(a0), Vector128.Sum(a1), Vector128.Sum(a2), Vector128.Sum(a3));
        }
        for (; k < n; k++)
        {
            var x = a[k];
            s0 += x * b0[k];
            s1 += x * b1[k];
            s2 += x * b2[k];
            s3 += x * b3[k];
        }
        (s[0], s[1], s[2], s[3]) = (s0, s1, s2, s3);
    }

    private static void Validate(int q, int qPe, int kvB, int latent, int rope, int output, in LatentAttentionShape shape)
    {
        var s = shape;
        if (s.Tokens < 0 || s.Start < 0 || s.Heads < 1 || s.KvLoraRank < 1 || s.QkNopeHeadDim < 1 || s.QkRopeHeadDim < 0 || s.VHeadDim < 1)
        {
            throw new ArgumentException($"shape: sizes must be non-negative (heads, c, d_n and d_v positive), got {s}", nameof(shape));
        }
        if (s.KvLoraRank > MaxRank)
        {
            throw new ArgumentException($"shape: the latent width c = {s.KvLoraRank} exceeds the kernel's {MaxRank}", nameof(shape));
        }
        if (!float.IsFinite(s.Scale)) { throw new ArgumentException($"shape: the softmax scale must be finite, got {s.Scale}", nameof(shape)); }
        AttentionRows.Expect("q", q, (long)s.Tokens * s.Heads * s.QkHeadDim, "T·H·(d_n + d_r)", exact: true);
        AttentionRows.Expect("qPe", qPe, (long)s.Tokens * s.Heads * s.QkRopeHeadDim, "T·H·d_r", exact: true);
        AttentionRows.Expect("kvB", kvB, (long)s.Heads * (s.QkNopeHeadDim + s.VHeadDim) * s.KvLoraRank, "H·(d_n + d_v)·c", exact: true);
        AttentionRows.Expect("latent", latent, (long)s.KeyTokens * s.KvLoraRank, "(Start + T)·c", exact: false);
        AttentionRows.Expect("ropeKeys", rope, (long)s.KeyTokens * s.QkRopeHeadDim, "(Start + T)·d_r", exact: false);
        AttentionRows.Expect("output", output, (long)s.Tokens * s.Heads * s.VHeadDim, "T·H·d_v", exact: true);
    }
}
