// GqaAttention.cs: grouped-query attention of a chunk of new rows straight over one sequence's KV cache (cached decode
// and prefill of Qwen2/Llama: `huggingface/transformers:src/transformers/models/qwen2/modeling_qwen2.py`, the causal
// softmax(scale·q·kᵀ)·v with repeat_kv, query head h reading kv head h / G). One work item per (kv head, tile of up to 16
// (row, query head) pairs of its group): every query keeps an online softmax over 16-key blocks, and the tile's queries
// take each block in turn, so its keys and values (16 KiB at d = 128) are read from memory once per tile and stay in L1
// for the rest (64-key blocks, whose 64 KiB spill to L2 between queries, took 1.6x as long for a 512-row prefill). With AVX2 and FMA a block's scores come eight keys at a time with one
// horizontal-add tree (AVX-512: sums over 16 lanes, folded to eight), and its max, exp and sum run eight wide; elsewhere
// four keys at a time (Vector128 or scalar). A query's arithmetic depends only on its own position, so each row of a
// chunk is bitwise the row computed alone, whatever the thread count. Naive (double accumulation) is the test oracle.
// Not here: the projections, RoPE and cache writes (Inference/Runtime/ModelRunner.Dense.cs). Tested by GqaAttentionTests.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpSeek.Tensors.Kernels;

/// <summary>
/// Grouped-query attention for a chunk of T rows over a KV cache, per row i and query head h, with g = h / (H / H_kv):
/// s_j = scale·q_{i,h}·k_{j,g} for j ≤ Start + i, p = softmax(s), o_{i,h} = Σ_j p_j v_{j,g}. Layouts (row-major):
/// q (T, H, d), keys and values (≥ Tk, H_kv·d) (one layer and slot of the cache), output (T, H, d).
/// </summary>
[SkipLocalsInit] // the stack scratch is written before it is read
public static unsafe class GqaAttention
{
    /// <summary>Cache positions per softmax block: a block's keys and values stay in L1 while a tile's queries take it.</summary>
    public const int BlockKeys = 16;

    /// <summary>The widest head the kernel takes (its per-query accumulators live on the stack).</summary>
    public const int MaxHeadDim = 256;

    // (row, query head) pairs per work item: they share every block of keys and values the item reads.
    private const int Tile = 16;

    // Multiply-adds (T·Tk·H·d) below which a call runs on the calling thread: a pool loop costs about a microsecond.
    private const long ParallelWork = 1 << 15;

    /// <summary>Attention for every head: inline when <paramref name="pool"/> is null (or the call is small), else one
    /// pool item per (kv head, tile of queries).</summary>
    public static void Forward(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, ReadOnlySpan<float> values, in GqaAttentionShape shape, Span<float> output,
        WorkerPool? pool = null)
    {
        Validate(q.Length, keys.Length, values.Length, output.Length, shape);
        if (shape.Tokens == 0) { return; }
        fixed (float* pq = q, pk = keys, pv = values, po = output)
        {
            var work = new TileItem { Q = pq, K = pk, V = pv, O = po, Shape = shape, Tiles = ((shape.Tokens * shape.Groups) + Tile - 1) / Tile };
            var items = shape.KvHeads * work.Tiles;
            if (pool is null || items == 1 || (long)shape.Tokens * shape.KeyTokens * shape.Heads * shape.HeadDim < ParallelWork)
            {
                for (var i = 0; i < items; i++) { work.Execute(i, 0); }
            }
            else
            {
                pool.For(items, ref work);
            }
        }
    }

    /// <summary>The same attention with every sum in double and the scores materialized: the test oracle.</summary>
    public static void Naive(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, ReadOnlySpan<float> values, in GqaAttentionShape shape, Span<float> output)
    {
        Validate(q.Length, keys.Length, values.Length, output.Length, shape);
        var s = shape;
        int d = s.HeadDim, width = s.KvWidth;
        var scores = new double[s.KeyTokens];
        var o = new double[d];
        for (var i = 0; i < s.Tokens; i++)
        {
            for (var h = 0; h < s.Heads; h++)
            {
                var kv = h / s.Groups * d;
                var query = q.Slice(((i * s.Heads) + h) * d, d);
                var visible = s.Start + i + 1;
                var max = double.NegativeInfinity;
                for (var j = 0; j < visible; j++)
                {
                    var dot = 0.0;
                    for (var k = 0; k < d; k++) { dot += (double)query[k] * keys[(j * width) + kv + k]; }
                    scores[j] = s.Scale * dot;
                    max = Math.Max(max, scores[j]);
                }
                var sum = 0.0;
                for (var j = 0; j < visible; j++) { sum += scores[j] = Math.Exp(scores[j] - max); }
                Array.Clear(o);
                for (var j = 0; j < visible; j++)
                {
                    for (var k = 0; k < d; k++) { o[k] += scores[j] / sum * values[(j * width) + kv + k]; }
                }
                for (var k = 0; k < d; k++) { output[(((i * s.Heads) + h) * d) + k] = (float)o[k]; }
            }
        }
    }

    private struct TileItem : IWorkItem
    {
        public float* Q, K, V, O;
        public GqaAttentionShape Shape;
        public int Tiles;

        public readonly void Execute(int index, int worker) => Run(this, index);
    }

    // Item index = tile · H_kv + kv head. The tile's queries are (row, head-in-group) pairs first .. first + count − 1 of
    // this kv head, row-major; per query its o (d), running max and sum on the stack, then o / sum at the end.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run(in TileItem w, int index)
    {
        var s = w.Shape;
        int d = s.HeadDim, g = s.Groups, width = s.KvWidth, kvHead = index % s.KvHeads;
        var first = index / s.KvHeads * Tile;
        var count = Math.Min(Tile, (s.Tokens * g) - first);
        var keys = w.K + ((nint)kvHead * d);                                                 // key j of this head at keys + j·width
        var values = w.V + ((nint)kvHead * d);
        var o = stackalloc float[Tile * d];
        var max = stackalloc float[Tile];
        var sum = stackalloc float[Tile];
        var p = stackalloc float[BlockKeys];
        new Span<float>(o, count * d).Clear();
        for (var i = 0; i < count; i++) { (max[i], sum[i]) = (float.NegativeInfinity, 0f); }
        // Blocks sit at fixed positions 0, 16, …, so a query meets the same blocks whichever queries share its tile.
        var keyCount = s.Start + ((first + count - 1) / g) + 1;
        for (var j0 = 0; j0 < keyCount; j0 += BlockKeys)
        {
            for (var i = 0; i < count; i++)
            {
                var (row, head) = ((first + i) / g, (kvHead * g) + ((first + i) % g));
                var n = Math.Min(BlockKeys, s.Start + row + 1 - j0);
                if (n <= 0) { continue; }
                var query = w.Q + ((((nint)row * s.Heads) + head) * d);
                Block(query, keys + ((nint)j0 * width), values + ((nint)j0 * width), width, n, d, s.Scale, p, ref max[i], ref sum[i], o + (i * d));
            }
        }
        for (var i = 0; i < count; i++)
        {
            var (row, head) = ((first + i) / g, (kvHead * g) + ((first + i) % g));
            var target = w.O + ((((nint)row * s.Heads) + head) * d);
            var inverse = 1f / sum[i];
            for (var k = 0; k < d; k++) { target[k] = o[(i * d) + k] * inverse; }
        }
    }

    // One query over the n keys of a block (rows `stride` floats apart): scores, then the online-softmax update
    //   m' = max(m, max_j s_j),  α = exp(m − m'),  p_j = exp(s_j − m'),  sum = α·sum + Σ_j p_j,  o = α·o + Σ_j p_j v_j.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block(float* q, float* keys, float* values, int stride, int n, int d, float scale, float* p, ref float max, ref float sum, float* o)
    {
        float top;
        if (Eight)
        {
            // p holds BlockKeys floats, so the last group's slots past n (the last key's score again) are written and dropped.
            var scaled = Vector256.Create(scale);
            var tops = Vector256.Create(float.NegativeInfinity);
            for (var j = 0; j < n; j += 8)
            {
                var scores = Dot8(q, keys + ((nint)j * stride), stride, d, Math.Min(8, n - j)) * scaled;
                scores.Store(p + j);
                tops = Vector256.Max(tops, scores);
            }
            var four = Vector128.Max(tops.GetLower(), tops.GetUpper());
            var two = Vector128.Max(four, Vector128.Shuffle(four, Vector128.Create(2, 3, 0, 1)));
            top = MathF.Max(two.ToScalar(), two.GetElement(1));
        }
        else
        {
            var dot = stackalloc float[4];
            for (var j = 0; j < n; j += 4)
            {
                // keys past the block's end repeat its last one; their sums are dropped
                var row = keys + ((nint)j * stride);
                int last = n - 1 - j;
                Dot4(q, row, row + ((nint)Math.Min(1, last) * stride), row + ((nint)Math.Min(2, last) * stride), row + ((nint)Math.Min(3, last) * stride), d, dot);
                for (var i = 0; i < Math.Min(4, n - j); i++) { p[j + i] = scale * dot[i]; }
            }
            top = float.NegativeInfinity;
            for (var j = 0; j < n; j++) { top = MathF.Max(top, p[j]); }
        }
        var next = MathF.Max(max, top);
        var alpha = MathF.Exp(max - next);                                                   // 0 at the first block (m = −∞)
        var total = 0f;
        var e = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var shift = Vector256.Create(next);
            var totals = Vector256<float>.Zero;
            for (; e <= n - 8; e += 8)
            {
                var v = TileMath.Exp(Vector256.Load(p + e) - shift);
                v.Store(p + e);
                totals += v;
            }
            total = Vector256.Sum(totals);
        }
        for (; e < n; e++) { total += p[e] = MathF.Exp(p[e] - next); }
        (max, sum) = (next, (alpha * sum) + total);
        AttentionRows.Accumulate(p, values, stride, n, d, alpha, o);
    }

    // Whether the eight-key paths run (AVX2 and FMA); otherwise the four-key ones. Fixed per machine, so every row is
    // computed by the same code whatever the chunk.
    private static bool Eight => Avx2.IsSupported && Fma.IsSupported;

    // s[i] = a·b_i for the eight rows b_i = b + i·stride (length n), rows past count repeating row count − 1: with AVX-512
    // sixteen-lane accumulators over the 16-wide part, each folded to eight lanes (low + high), then eight-lane ones over
    // what is left of the 8-wide part; one horizontal-add tree for the eight sums, then each row's scalar tail in order.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector256<float> Dot8(float* a, float* b, int stride, int n, int count)
    {
        var last = count - 1;
        float* p0 = b, p1 = b + ((nint)Math.Min(1, last) * stride), p2 = b + ((nint)Math.Min(2, last) * stride), p3 = b + ((nint)Math.Min(3, last) * stride);
        float* p4 = b + ((nint)Math.Min(4, last) * stride), p5 = b + ((nint)Math.Min(5, last) * stride), p6 = b + ((nint)Math.Min(6, last) * stride), p7 = b + ((nint)Math.Min(7, last) * stride);
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        var k = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            Vector512<float> t0 = default, t1 = default, t2 = default, t3 = default, t4 = default, t5 = default, t6 = default, t7 = default;
            for (; k <= n - 16; k += 16)
            {
                var x = Vector512.Load(a + k);
                t0 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p0 + k), t0);
                t1 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p1 + k), t1);
                t2 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p2 + k), t2);
                t3 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p3 + k), t3);
                t4 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p4 + k), t4);
                t5 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p5 + k), t5);
                t6 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p6 + k), t6);
                t7 = Vector512.FusedMultiplyAdd(x, Vector512.Load(p7 + k), t7);
            }
            (s0, s1, s2, s3) = (t0.GetLower() + t0.GetUpper(), t1.GetLower() + t1.GetUpper(), t2.GetLower() + t2.GetUpper(), t3.GetLower() + t3.GetUpper());
            (s4, s5, s6, s7) = (t4.GetLower() + t4.GetUpper(), t5.GetLower() + t5.GetUpper(), t6.GetLower() + t6.GetUpper(), t7.GetLower() + t7.GetUpper());
        }
        for (; k <= n - 8; k += 8)
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
        var low = Avx.HorizontalAdd(Avx.HorizontalAdd(s0, s1), Avx.HorizontalAdd(s2, s3));       // rows 0–3: lanes 0–3 | 4–7
        var high = Avx.HorizontalAdd(Avx.HorizontalAdd(s4, s5), Avx.HorizontalAdd(s6, s7));      // rows 4–7
        var sums = Avx.Permute2x128(low, high, 0x20) + Avx.Permute2x128(low, high, 0x31);
        if (k == n) { return sums; }
        var t = stackalloc float[8];
        sums.Store(t);
        for (var i = 0; i < 8; i++)
        {
            var row = b + ((nint)Math.Min(i, last) * stride);
            for (var kk = k; kk < n; kk++) { t[i] += a[kk] * row[kk]; }
        }
        return Vector256.Load(t);
    }

    // s[i] = a·b_i for four vectors of length n (they may repeat): Vector128 partial sums over the whole length, one
    // horizontal sum each, then the scalar tail, so each b_i's sum is the same whichever slot it takes.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4(float* a, float* b0, float* b1, float* b2, float* b3, int n, float* s)
    {
        var k = 0;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        if (Vector128.IsHardwareAccelerated && n >= 4)
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

    private static void Validate(int q, int keys, int values, int output, in GqaAttentionShape shape)
    {
        var s = shape;
        if (s.Tokens < 0 || s.Start < 0 || s.Heads < 1 || s.KvHeads < 1 || s.HeadDim < 1 || s.Heads % s.KvHeads != 0)
        {
            throw new ArgumentException($"shape: sizes must be non-negative, H, H_kv and d positive, and H_kv must divide H; got {s}", nameof(shape));
        }
        if (s.HeadDim > MaxHeadDim) { throw new ArgumentException($"shape: the head dimension d = {s.HeadDim} exceeds the kernel's {MaxHeadDim}", nameof(shape)); }
        if (!float.IsFinite(s.Scale)) { throw new ArgumentException($"shape: the softmax scale must be finite, got {s.Scale}", nameof(shape)); }
        AttentionRows.Expect("q", q, (long)s.Tokens * s.Heads * s.HeadDim, "T·H·d", exact: true);
        AttentionRows.Expect("keys", keys, (long)s.KeyTokens * s.KvWidth, "(Start + T)·H_kv·d", exact: false);
        AttentionRows.Expect("values", values, (long)s.KeyTokens * s.KvWidth, "(Start + T)·H_kv·d", exact: false);
        AttentionRows.Expect("output", output, (long)s.Tokens * s.Heads * s.HeadDim, "T·H·d", exact: true);
    }
}
