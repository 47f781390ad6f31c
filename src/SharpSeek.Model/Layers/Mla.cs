// Mla.cs: Multi-head Latent Attention (DeepSeek-V3 technical report §2.1.1; DeepSeek-V2 paper §2.1.2–2.1.3;
// deepseek-ai/DeepSeek-V3:inference/model.py, MLA), its three forms in one class as model.py switches on attn_impl.
// Naive, on the tape (training, the uncached forward): queries through the low-rank q path (or q_proj), the joint KV
// latent c_kv and one shared rope key k_pe, per-head k_nope and v from kv_b_proj, RoPE (interleaved pairs) on q_pe and
// k_pe only, fused causal attention with scale d_qk^−0.5·mscale², o_proj. Over a latent cache (a no-gradient step, the
// Linear views): every new row's kv_norm(c_kv) and rotated k_pe go into its sequence's cache rows (IAttentionCache), then
// each sequence attends over its cached positions, causally inside its chunk. Absorbed (default), per head h:
//   q_abs = q_nope·W_UK_h (c),  s_j = scale·(q_abs·c_j + q_pe·k_pe_j),  o_lat = Σ_j softmax(s)_j c_j,  o_h = W_UV_h·o_lat,
// by the LatentAttention kernel for decode and verify chunks (T ≤ 4), by five GEMMs per tile of at most 256 queries for
// longer (prefill) ones, so the scores of a long prompt take H·256·T_k floats (a tail tile of ≤ 4 rows takes the kernel).
// Naive over the cache: k_nope, v = kv_b_proj(c_j) re-expanded for every cached j (again per tile), then the attention kernel (fused or
// materialized, as Attention.Choose picks by size), kept for checking. Not here: the cache's slots and lengths (the
// inference runtime). Tested by MlaTests and ModelRunnerTests.
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Model.Layers;

public sealed class Mla : IAttention
{
    // Chunks of at most this many rows attend in parallel, one chunk per work item (decode and verify batches); longer
    // chunks run one after another, each using the whole pool inside its GEMMs.
    private const int ParallelChunkRows = 4;

    // Queries per attention tile of a prefill chunk (see Cached).
    private const int QueryTile = 256;

    public required ModelConfig Config { get; init; }

    /// <summary>The checkpoint layer index: which cache layer this attention reads and writes (MTP modules count on from
    /// num_hidden_layers).</summary>
    public required int Layer { get; init; }

    /// <summary>q_a_proj (c_q, D); null on the q_proj path.</summary>
    public Linear? WqA { get; init; }

    /// <summary>q_a_layernorm (c_q), eps 1e-6.</summary>
    public RmsNorm? QNorm { get; init; }

    /// <summary>q_b_proj (H·d_qk, c_q).</summary>
    public Linear? WqB { get; init; }

    /// <summary>q_proj (H·d_qk, D), only when q_lora_rank is null or 0.</summary>
    public Linear? Wq { get; init; }

    /// <summary>kv_a_proj_with_mqa (c + d_r, D): rows [0, c) are c_kv, rows [c, c + d_r) the shared k_pe.</summary>
    public required Linear WkvA { get; init; }

    /// <summary>kv_a_layernorm (c), eps 1e-6.</summary>
    public required RmsNorm KvNorm { get; init; }

    /// <summary>kv_b_proj (H·(d_n + d_v), c): per head d_n rows of k_nope then d_v rows of v. The absorbed form slices its
    /// view per head (W_UK_h: rows h·(d_n + d_v) .., W_UV_h: the d_v rows after), slices that FP8 blocks of 128 rows do
    /// not align with, so it reads the view's f32 widening.</summary>
    public required Linear WkvB { get; init; }

    /// <summary>o_proj (D, H·d_v).</summary>
    public required Linear Wo { get; init; }

    /// <summary>x: (B, T, D) normed input; positions: I32 (B·T) absolute positions; returns (B, T, D). With a cache, the
    /// rows are the cache's chunks and attend over their sequences (gradients off).</summary>
    public Var Forward(Tape tape, Var x, RopeTables rope, Tensor positions, IAttentionCache? cache = null)
    {
        if (cache is not null) { return Cached(tape, x, rope, cache); }
        var c = Config;
        var xv = tape.Value(x);
        long b = xv.Size(0), t = xv.Size(1);
        int h = c.NumAttentionHeads, dn = c.QkNopeHeadDim, dr = c.QkRopeHeadDim, dv = c.VHeadDim, rank = c.KvLoraRank;

        // q: (B, T, H, d_qk) = [q_nope | q_pe] per head
        var q = WqA is not null ? WqB!.Forward(tape, QNorm!.Forward(tape, WqA.Forward(tape, x))) : Wq!.Forward(tape, x);
        q = ReshapeOp.Apply(tape, q, b, t, h, c.QkHeadDim);
        var query = RopeOp.Apply(tape, q, rope.Cos, rope.Sin, positions, leading: dn);    // (B, T, H, d_qk): q_nope as is, q_pe rotated

        // kv: (B, T, c + d_r) = [c_kv | k_pe]; one rotated k_pe per token, shared by every head
        var kv = WkvA.Forward(tape, x);
        var cKv = NarrowOp.Apply(tape, kv, -1, 0, rank);                                     // (B, T, c)
        var kPe = ReshapeOp.Apply(tape, NarrowOp.Apply(tape, kv, -1, rank, dr), b, t, 1, dr); // (B, T, 1, d_r)
        kPe = ExpandOp.Apply(tape, RopeOp.Apply(tape, kPe, rope.Cos, rope.Sin, positions), 2, h); // (B, T, H, d_r)

        // kvb: (B, T, H, d_n + d_v) = [k_nope | v] per head, from the normalized latent
        var kvb = ReshapeOp.Apply(tape, WkvB.Forward(tape, KvNorm.Forward(tape, cKv)), b, t, h, dn + dv);
        var kNope = NarrowOp.Apply(tape, kvb, -1, 0, dn);                                    // (B, T, H, d_n)
        var v = NarrowOp.Apply(tape, kvb, -1, dn, dv);                                       // (B, T, H, d_v)

        var key = ConcatOp.Apply(tape, [kNope, kPe], -1);                                    // (B, T, H, d_qk)
        var o = AttentionOp.Apply(tape, query, key, v, RopeTables.SoftmaxScale(c));          // (B, T, H, d_v)
        return Wo.Forward(tape, ReshapeOp.Apply(tape, o, b, t, (long)h * dv));             // (B, T, D)
    }

    // x: (..., D) normed input, the rows of the cache's chunks in order → (..., D), a constant to the tape.
    private Var Cached(Tape tape, Var x, RopeTables rope, IAttentionCache cache)
    {
        if (tape.GradEnabled) { throw new InvalidOperationException("a forward over a KV cache computes no gradients; set tape.GradEnabled = false"); }
        var c = Config;
        var arena = tape.Arena;
        var xv = tape.Value(x);
        var a = xv.AsSpan<float>();
        int rows = (int)xv.Shape.Rows, h = c.NumAttentionHeads, dqk = c.QkHeadDim, dn = c.QkNopeHeadDim, dr = c.QkRopeHeadDim;
        int dv = c.VHeadDim, rank = c.KvLoraRank, chunks = cache.Chunks;
        var q = arena.Allocate(DType.F32, new Shape(rows, h * dqk));                           // q: (R, H·d_qk)
        if (WqA is not null)
        {
            var cq = arena.Allocate(DType.F32, new Shape(rows, WqA.View.Rows)).AsSpan<float>();  // (R, c_q)
            WqA.Apply(a, cq, rows);
            QNorm!.Apply(cq, cq, arena.Allocate(DType.F32, new Shape(rows)).AsSpan<float>());
            WqB!.Apply(cq, q.AsSpan<float>(), rows);
        }
        else
        {
            Wq!.Apply(a, q.AsSpan<float>(), rows);
        }
        var kv = arena.Allocate(DType.F32, new Shape(rows, rank + dr));                        // kv: (R, c + d_r)
        WkvA.Apply(a, kv.AsSpan<float>(), rows);
        var qPe = arena.Allocate(DType.F32, new Shape(rows, h, dr));                           // (R, H, d_r), rotated below
        var qs = q.AsSpan<float>();
        var qPes = qPe.AsSpan<float>();
        for (var r = 0; r < rows; r++)
        {
            for (var head = 0; head < h; head++) { qs.Slice((((r * h) + head) * dqk) + dn, dr).CopyTo(qPes.Slice(((r * h) + head) * dr, dr)); }
        }

        // The cache entries of the new rows: kv_norm(c_kv) and RoPE(k_pe) at their absolute positions.
        using var region = Profiler.Region(ProfileCategory.Attention);                            // o_proj below is GEMM inside it
        Span<float> rstd = stackalloc float[1];
        var cos = rope.Cos.AsSpan<float>();
        var sin = rope.Sin.AsSpan<float>();
        for (int i = 0, r0 = 0; i < chunks; r0 += cache.Chunk(i).Count, i++)
        {
            var (slot, start, count) = cache.Chunk(i);
            var latent = cache.Latent(Layer, slot);
            var ropeKeys = cache.RopeKey(Layer, slot);
            for (var t = 0; t < count; t++)
            {
                var row = kv.Row<float>(r0 + t);
                KvNorm.Apply(row[..rank], latent.Slice((start + t) * rank, rank), rstd);
                row.Slice(rank, dr).CopyTo(ropeKeys.Slice((start + t) * dr, dr));
            }
            var newKeys = ropeKeys.Slice(start * dr, count * dr);
            Rope.Forward<float>(newKeys, cos, sin, start, 1, dr, newKeys);
            var newQ = qPes.Slice(r0 * h * dr, count * h * dr);
            Rope.Forward<float>(newQ, cos, sin, start, h, dr, newQ);
        }

        // Per sequence: scratch carved once (the arena is not thread-safe), then the chunks attend, each in tiles of at
        // most QueryTile queries, so a long prefill's scores take H·QueryTile·T_k floats: linear in the context.
        var o = arena.Allocate(DType.F32, new Shape(rows, h * dv));                            // o: (R, H·d_v)
        var mode = cache.Mode;
        var (small, scratch) = (true, 0L);
        for (var i = 0; i < chunks; i++)
        {
            var (_, start, count) = cache.Chunk(i);
            small &= count <= ParallelChunkRows;
            scratch += ChunkScratchFloats(mode, count, start);
        }
        if (scratch > Array.MaxLength)
        {
            throw new InvalidOperationException($"MLA attention scratch of {scratch} floats for this step ({chunks} chunks, {h} heads, up to {QueryTile} queries per tile) exceeds one array ({Array.MaxLength}); run fewer or shorter sequences per step");
        }
        var work = new ChunkAttention
        {
            Mla = this,
            Cache = cache,
            Mode = mode,
            Q = q,
            QPe = qPe,
            O = o,
            Scratch = arena.Allocate(DType.F32, new Shape(Math.Max(scratch, 1))),
            Scale = (float)RopeTables.SoftmaxScale(c),
        };
        if (small && chunks > 1) { WorkerPool.Current.For(chunks, ref work); }
        else
        {
            for (var i = 0; i < chunks; i++) { work.Execute(i, 0); }
        }
        var y = arena.Allocate(DType.F32, xv.Shape);                                            // (..., D)
        Wo.Apply(o.AsSpan<float>(), y.AsSpan<float>(), rows);
        return tape.Constant(y);
    }

    // One chunk's attention over its sequence: the latent kernel, the absorbed GEMMs or the naive re-expansion.
    private struct ChunkAttention : IWorkItem
    {
        public Mla Mla;
        public IAttentionCache Cache;
        public AttentionMode Mode;
        public Tensor Q;
        public Tensor QPe;
        public Tensor O;
        public Tensor Scratch;
        public float Scale;

        public readonly void Execute(int index, int worker)
        {
            var (r0, offset) = (0, 0L);                                                           // this chunk's first row and scratch
            for (var j = 0; j < index; j++)
            {
                var (_, start, count) = Cache.Chunk(j);
                r0 += count;
                offset += Mla.ChunkScratchFloats(Mode, count, start);
            }
            var chunk = Cache.Chunk(index);
            var scratch = Scratch.AsSpan<float>().Slice((int)offset, (int)Mla.ChunkScratchFloats(Mode, chunk.Count, chunk.Start));
            for (var s = 0; s < chunk.Count; s += QueryTile)                                     // a tile attends as a chunk of its own
            {
                var tile = (chunk.Slot, chunk.Start + s, Math.Min(QueryTile, chunk.Count - s));
                if (Mla.Direct(Mode, tile.Item3)) { Mla.AbsorbedDirect(this, tile, r0 + s); }
                else if (Mode == AttentionMode.Absorbed) { Mla.Absorbed(this, tile, r0 + s, scratch); }
                else { Mla.Naive(this, tile, r0 + s, scratch); }
            }
        }
    }

    // Absorbed decode and verify chunks (T ≤ ParallelChunkRows) take the latent kernel; longer ones the GEMMs below.
    private bool Direct(AttentionMode mode, int rows) => mode == AttentionMode.Absorbed && rows <= ParallelChunkRows && Config.KvLoraRank <= LatentAttention.MaxRank;

    // The scratch of a chunk of count rows after start cached positions: its largest tile's.
    private long ChunkScratchFloats(AttentionMode mode, int count, int start) => ScratchFloats(mode, Math.Min(count, QueryTile), start + count);

    // The scratch of a chunk of t rows over tk positions: four parts, each rounded to 64 bytes (none for the kernel).
    private long ScratchFloats(AttentionMode mode, int t, int tk)
    {
        var (p0, p1, p2, p3) = ScratchParts(mode, t, tk);
        return Direct(mode, t) ? 0 : p0 + p1 + p2 + p3;
    }

    // The four parts in floats, in long (a long prefill at many heads passes 2³¹); callers slice with them as ints once
    // the whole scratch is known to fit one array.
    private (long, long, long, long) ScratchParts(AttentionMode mode, int t, int tk)
    {
        var c = Config;
        long h = c.NumAttentionHeads, dn = c.QkNopeHeadDim, dr = c.QkRopeHeadDim, dv = c.VHeadDim, dqk = c.QkHeadDim;
        static long Round(long n) => (n + 15) & ~15L;
        return mode == AttentionMode.Absorbed
            ? (Round(h * t * Math.Max(dn, dr)), Round(h * t * c.KvLoraRank), Round(h * t * tk), Round(h * t * dv))  // q_nope then q_pe; q_abs then o_lat; scores; o per head
            : (Round(tk * h * (dn + dv)), Round(tk * h * dqk), Round(tk * h * dv), Round(t * h * (dqk + 1)));       // kv_b_proj(c_j); keys; values; queries then logSumExp
    }

    // The first three parts as ints, the offsets a chunk slices its scratch at (which fits one array: Cached checks).
    private static (int, int, int) IntParts((long P0, long P1, long P2, long P3) parts) => ((int)parts.P0, (int)parts.P1, (int)parts.P2);

    // The latent kernel on this chunk, a pool item per head (inline when the chunks already run in parallel). It rounds
    // every row alike whatever T is, so a verify step's rows equal the decode steps they replace bit for bit (greedy
    // identity under speculation rests on it).
    private void AbsorbedDirect(in ChunkAttention work, (int Slot, int Start, int Count) chunk, int r0)
    {
        var c = Config;
        int h = c.NumAttentionHeads, dqk = c.QkHeadDim, dr = c.QkRopeHeadDim, dv = c.VHeadDim, rank = c.KvLoraRank, t = chunk.Count;
        var shape = new LatentAttentionShape(t, chunk.Start, h, rank, c.QkNopeHeadDim, dr, dv, work.Scale);
        var latent = work.Cache.Latent(Layer, chunk.Slot)[..(shape.KeyTokens * rank)];       // (Tk, c)
        var rope = work.Cache.RopeKey(Layer, chunk.Slot)[..(shape.KeyTokens * dr)];          // (Tk, d_r)
        LatentAttention.Forward(work.Q.AsSpan<float>().Slice(r0 * h * dqk, t * h * dqk), work.QPe.AsSpan<float>().Slice(r0 * h * dr, t * h * dr), WkvB.View.Widened,
            latent, rope, shape, work.O.AsSpan<float>().Slice(r0 * h * dv, t * h * dv), WorkerPool.Current);
    }

    private void Absorbed(in ChunkAttention work, (int Slot, int Start, int Count) chunk, int r0, Span<float> scratch)
    {
        var c = Config;
        int h = c.NumAttentionHeads, dqk = c.QkHeadDim, dn = c.QkNopeHeadDim, dr = c.QkRopeHeadDim, dv = c.VHeadDim, rank = c.KvLoraRank;
        int start = chunk.Start, t = chunk.Count, tk = start + t;
        var latent = work.Cache.Latent(Layer, chunk.Slot)[..(tk * rank)];                     // (Tk, c)
        var rope = work.Cache.RopeKey(Layer, chunk.Slot)[..(tk * dr)];                        // (Tk, d_r)
        var (p0, p1, p2) = IntParts(ScratchParts(AttentionMode.Absorbed, t, tk));
        var perHead = scratch[..(h * t * Math.Max(dn, dr))];
        var wide = scratch.Slice(p0, h * t * rank);
        var scores = scratch.Slice(p0 + p1, h * t * tk);
        var oh = scratch.Slice(p0 + p1 + p2, h * t * dv);
        var q = work.Q.AsSpan<float>();
        var qPe = work.QPe.AsSpan<float>();
        var kvB = WkvB.View.Widened;

        // q_abs (H, T, c) = q_nope (H, T, d_n) · W_UK_h (d_n, c), W_UK_h = kv_b_proj rows h·(d_n + d_v) ..
        for (var head = 0; head < h; head++)
        {
            for (var j = 0; j < t; j++) { q.Slice(((r0 + j) * h * dqk) + (head * dqk), dn).CopyTo(perHead.Slice(((head * t) + j) * dn, dn)); }
        }
        Matmul.GemmBatched<float>(perHead, kvB, wide, t, rank, dn, h, t * dn, (dn + dv) * rank, t * rank);

        // scores (H·T, Tk) = q_abs · latentᵀ + q_pe · k_peᵀ
        Matmul.Gemm<float>(wide, latent, scores, h * t, tk, rank, transposeB: true);
        for (var head = 0; head < h; head++)
        {
            for (var j = 0; j < t; j++) { qPe.Slice(((r0 + j) * h * dr) + (head * dr), dr).CopyTo(perHead.Slice(((head * t) + j) * dr, dr)); }
        }
        Matmul.Gemm<float>(perHead[..(h * t * dr)], rope, scores, h * t, tk, dr, transposeB: true, accumulate: true);

        // Row (head, j) attends positions 0 .. start + j: softmax(scale·s) there, 0 beyond.
        for (var row = 0; row < h * t; row++)
        {
            var attended = start + (row % t) + 1;
            var p = scores.Slice(row * tk, tk);
            Elementwise.Scale(p[..attended], work.Scale, p[..attended]);
            Softmax.Row<float>(p[..attended], p[..attended]);
            p[attended..].Clear();
        }

        // o_lat (H·T, c) = P · latent;  o_h (H, T, d_v) = o_lat_h · W_UV_hᵀ, W_UV_h = the d_v rows after W_UK_h
        Matmul.Gemm<float>(scores, latent, wide, h * t, rank, tk);
        Matmul.GemmBatched<float>(wide, kvB[(dn * rank)..], oh, t, dv, rank, h, t * rank, (dn + dv) * rank, t * dv, transposeB: true);
        var o = work.O.AsSpan<float>();
        for (var head = 0; head < h; head++)
        {
            for (var j = 0; j < t; j++) { oh.Slice(((head * t) + j) * dv, dv).CopyTo(o.Slice(((r0 + j) * h * dv) + (head * dv), dv)); }
        }
    }

    private void Naive(in ChunkAttention work, (int Slot, int Start, int Count) chunk, int r0, Span<float> scratch)
    {
        var c = Config;
        int h = c.NumAttentionHeads, dqk = c.QkHeadDim, dn = c.QkNopeHeadDim, dr = c.QkRopeHeadDim, dv = c.VHeadDim, rank = c.KvLoraRank;
        int start = chunk.Start, t = chunk.Count, tk = start + t;
        var latent = work.Cache.Latent(Layer, chunk.Slot)[..(tk * rank)];
        var rope = work.Cache.RopeKey(Layer, chunk.Slot)[..(tk * dr)];
        var (p0, p1, p2) = IntParts(ScratchParts(AttentionMode.Naive, t, tk));
        var kvb = scratch[..(tk * h * (dn + dv))];                                             // (Tk, H·(d_n + d_v))
        var keys = scratch.Slice(p0, tk * h * dqk);                                            // (Tk, H, d_qk)
        var values = scratch.Slice(p0 + p1, tk * h * dv);                                      // (Tk, H, d_v)
        var queries = scratch.Slice(p0 + p1 + p2, t * h * dqk);                                // (T, H, d_qk)
        var lse = scratch.Slice(p0 + p1 + p2 + (t * h * dqk), h * t);                          // (H, T)
        WkvB.Apply(latent, kvb, tk);
        for (var j = 0; j < tk; j++)
        {
            for (var head = 0; head < h; head++)
            {
                var src = kvb.Slice(((j * h) + head) * (dn + dv), dn + dv);
                src[..dn].CopyTo(keys.Slice(((j * h) + head) * dqk, dn));
                rope.Slice(j * dr, dr).CopyTo(keys.Slice((((j * h) + head) * dqk) + dn, dr));
                src[dn..].CopyTo(values.Slice(((j * h) + head) * dv, dv));
            }
        }
        var q = work.Q.AsSpan<float>();
        for (var j = 0; j < t; j++)
        {
            for (var head = 0; head < h; head++)
            {
                var dst = queries.Slice(((j * h) + head) * dqk, dqk);
                q.Slice(((r0 + j) * h * dqk) + (head * dqk), dn).CopyTo(dst);
                work.QPe.AsSpan<float>().Slice(((r0 + j) * h * dr) + (head * dr), dr).CopyTo(dst[dn..]);
            }
        }
        var shape = new AttentionShape(1, t, tk, h, dqk, dv, work.Scale, start, Causal: true);
        Attention.Forward<float>(queries, keys, values, shape, work.O.AsSpan<float>().Slice(r0 * h * dv, t * h * dv), lse);
    }
}
