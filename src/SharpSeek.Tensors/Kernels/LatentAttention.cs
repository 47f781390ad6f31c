// LatentAttention.cs: absorbed MLA attention straight over the latent cache for decode-sized chunks, one work item per
// head: q_abs = q_nope·W_UK_h, an online softmax over 64-key blocks of the cache (each block read once per head for all
// rows), o_lat = Σ_j p_j c_j, o_h = W_UV_h·o_lat. Every row is computed by the same arithmetic whatever the chunk size.
// Naive (double accumulation) is the test oracle. Not here: the projections, RoPE and cache writes (ModelRunner), the
// GEMM path for long chunks (ModelRunner.Attention.cs). Tested by LatentAttentionTests.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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
        for (var r0 = 0; r0 < s.Tokens; r0 += RowGroup)
        {
            var rows = Math.Min(RowGroup, s.Tokens - r0);
            for (var r = 0; r < rows; r++)
            {
                // q_abs = Σ_n q_nope[n]·W_UK_h[n, :]
                var qNope = w.Q + ((((nint)(r0 + r) * h) + head) * s.QkHeadDim);
                new Span<float>(qAbs + (r * c), c).Clear();
                Accumulate(qNope, wUk, dn, c, 1f, qAbs + (r * c));
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
        Accumulate(p, keys, n, c, alpha, oLat);
    }

    // o = α·o + Σ_j p[j]·x_j over n rows x_j (length c, contiguous): o in register chunks of 32, then 8 (or 4), then
    // scalars; every element of o takes the same multiply, then the same adds in j order, whichever chunk holds it.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Accumulate(float* p, float* x, int n, int c, float alpha, float* o)
    {
        var k = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var a = Vector256.Create(alpha);
            for (; k <= c - 32; k += 32)
            {
                Vector256<float> o0 = Vector256.Load(o + k) * a, o1 = Vector256.Load(o + k + 8) * a;
                Vector256<float> o2 = Vector256.Load(o + k + 16) * a, o3 = Vector256.Load(o + k + 24) * a;
                var row = x + k;
                for (var j = 0; j < n; j++, row += c)
                {
                    var pj = Vector256.Create(p[j]);
                    o0 = Vector256.MultiplyAddEstimate(pj, Vector256.Load(row), o0);
                    o1 = Vector256.MultiplyAddEstimate(pj, Vector256.Load(row + 8), o1);
                    o2 = Vector256.MultiplyAddEstimate(pj, Vector256.Load(row + 16), o2);
                    o3 = Vector256.MultiplyAddEstimate(pj, Vector256.Load(row + 24), o3);
                }
                o0.Store(o + k);
                o1.Store(o + k + 8);
                o2.Store(o + k + 16);
                o3.Store(o + k + 24);
            }
            for (; k <= c - 8; k += 8)
            {
                var o0 = Vector256.Load(o + k) * a;
                var row = x + k;
                for (var j = 0; j < n; j++, row += c) { o0 = Vector256.MultiplyAddEstimate(Vector256.Create(p[j]), Vector256.Load(row), o0); }
                o0.Store(o + k);
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var a = Vector128.Create(alpha);
            for (; k <= c - 4; k += 4)
            {
                var o0 = Vector128.Load(o + k) * a;
                var row = x + k;
                for (var j = 0; j < n; j++, row += c) { o0 = Vector128.MultiplyAddEstimate(Vector128.Create(p[j]), Vector128.Load(row), o0); }
                o0.Store(o + k);
            }
        }
        for (; k < c; k++)
        {
            var acc = o[k] * alpha;
            for (var j = 0; j < n; j++) { acc += p[j] * x[((nint)j * c) + k]; }
            o[k] = acc;
        }
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
        Expect("q", q, (long)s.Tokens * s.Heads * s.QkHeadDim, "T·H·(d_n + d_r)", exact: true);
        Expect("qPe", qPe, (long)s.Tokens * s.Heads * s.QkRopeHeadDim, "T·H·d_r", exact: true);
        Expect("kvB", kvB, (long)s.Heads * (s.QkNopeHeadDim + s.VHeadDim) * s.KvLoraRank, "H·(d_n + d_v)·c", exact: true);
        Expect("latent", latent, (long)s.KeyTokens * s.KvLoraRank, "(Start + T)·c", exact: false);
        Expect("ropeKeys", rope, (long)s.KeyTokens * s.QkRopeHeadDim, "(Start + T)·d_r", exact: false);
        Expect("output", output, (long)s.Tokens * s.Heads * s.VHeadDim, "T·H·d_v", exact: true);
    }

    private static void Expect(string name, int actual, long expected, string formula, bool exact)
    {
        if (exact ? actual != expected : actual < expected)
        {
            throw new ArgumentException($"{name}: expected {(exact ? "" : "at least ")}{expected} elements ({formula}), got {actual}", name);
        }
    }
}
