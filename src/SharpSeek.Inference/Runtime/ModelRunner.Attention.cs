// ModelRunner.Attention.cs: MLA over the latent cache (the absorbed form: DeepSeek-V2 paper §2.1.2–2.1.3; deepseek-ai/DeepSeek-V3:inference/model.py, attn_impl "absorb"). The rows of all chunks go through the projections
// together; each new row's kv_norm(c_kv) and rotated k_pe are written into its slot; then each sequence attends over its
// cached positions with a causal mask inside its chunk. Absorbed (default), per head h:
//   q_abs = q_nope·W_UK_h (c),  s_j = scale·(q_abs·c_j + q_pe·k_pe_j),  o_lat = Σ_j softmax(s)_j c_j,  o_h = W_UV_h·o_lat,
// by the LatentAttention kernel for decode and verify chunks (T ≤ 4), by five GEMMs per chunk for longer (prefill) ones.
// Naive: k_nope, v = kv_b_proj(c_j) re-expanded for every cached j, then the attention kernel (fused or materialized, as
// Attention.Choose picks by size). Tested by ModelRunnerTests.
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;
using KernelNorm = SharpSeek.Tensors.Kernels.RmsNorm;

namespace SharpSeek.Inference.Runtime;

public sealed partial class ModelRunner
{
    // Chunks of at most this many rows attend in parallel, one chunk per work item (decode and verify batches); longer
    // chunks run one after another, each using the whole pool inside its GEMMs.
    private const int ParallelChunkRows = 4;

    private Tensor[] _scratch = [];

    // a: (R, D) normed input → y: (R, D).
    private void Attend(AttentionWeights at, int cacheLayer, Tensor a, Tensor y, bool draft)
    {
        var c = Weights.Config;
        int rows = (int)a.Size(0), h = c.NumAttentionHeads, dqk = c.QkHeadDim, dn = c.QkNopeHeadDim, dr = c.QkRopeHeadDim;
        int dv = c.VHeadDim, rank = c.KvLoraRank;
        var q = _step.Allocate(DType.F32, new Shape(rows, h * dqk));                           // q: (R, H·d_qk)
        if (at.QA is { } qa)
        {
            var cq = _step.Allocate(DType.F32, new Shape(rows, qa.Rows));                      // (R, c_q)
            qa.Apply(a.AsSpan<float>(), cq.AsSpan<float>(), rows);
            Norm(cq, at.QNorm!, cq);
            at.QB!.Apply(cq.AsSpan<float>(), q.AsSpan<float>(), rows);
        }
        else
        {
            at.Q!.Apply(a.AsSpan<float>(), q.AsSpan<float>(), rows);
        }
        var kv = _step.Allocate(DType.F32, new Shape(rows, rank + dr));                        // kv: (R, c + d_r)
        at.KvA.Apply(a.AsSpan<float>(), kv.AsSpan<float>(), rows);
        var qPe = _step.Allocate(DType.F32, new Shape(rows, h, dr));                           // (R, H, d_r), rotated below
        for (var r = 0; r < rows; r++)
        {
            for (var head = 0; head < h; head++) { q.Row<float>(r).Slice((head * dqk) + dn, dr).CopyTo(qPe.AsSpan<float>().Slice(((r * h) + head) * dr, dr)); }
        }

        // The cache entries of the new rows: kv_norm(c_kv) and RoPE(k_pe) at their absolute positions.
        using var region = Profiler.Region(ProfileCategory.Attention);                            // o_proj below is GEMM inside it
        Span<float> rstd = stackalloc float[1];
        for (int i = 0, r0 = 0; i < _chunks; r0 += _counts[i], i++)
        {
            var (start, count) = (_starts[i], _counts[i]);
            var latent = Cache.Latent(cacheLayer, _slots[i]);
            var rope = Cache.RopeKey(cacheLayer, _slots[i]);
            for (var t = 0; t < count; t++)
            {
                var row = kv.Row<float>(r0 + t);
                KernelNorm.Forward<float>(row[..rank], at.KvNorm.Weight, at.KvNorm.Eps, latent.Slice((start + t) * rank, rank), rstd);
                row.Slice(rank, dr).CopyTo(rope.Slice((start + t) * dr, dr));
            }
            var newKeys = rope.Slice(start * dr, count * dr);
            Rope.Forward<float>(newKeys, _rope.Cos.AsSpan<float>(), _rope.Sin.AsSpan<float>(), start, 1, dr, newKeys);
            var newQ = qPe.AsSpan<float>().Slice(r0 * h * dr, count * h * dr);
            Rope.Forward<float>(newQ, _rope.Cos.AsSpan<float>(), _rope.Sin.AsSpan<float>(), start, h, dr, newQ);
        }

        // Per sequence: scratch carved serially (the arena is not thread-safe), then the chunks attend.
        var o = _step.Allocate(DType.F32, new Shape(rows, h * dv));                            // o: (R, H·d_v)
        if (_scratch.Length < _chunks * 4) { _scratch = new Tensor[_chunks * 4]; }
        var work = new ChunkAttention { Runner = this, Weights = at, CacheLayer = cacheLayer, Q = q, QPe = qPe, O = o, Scratch = _scratch };
        var small = true;
        for (int i = 0, r0 = 0; i < _chunks; r0 += _counts[i], i++)
        {
            small &= _counts[i] <= ParallelChunkRows;
            int t = _counts[i], tk = _starts[i] + t;
            if (Direct(t)) { continue; }                                                         // no scratch: the latent kernel keeps it on the stack
            if (Mode == AttentionMode.Absorbed)
            {
                work.Scratch[4 * i] = _step.Allocate(DType.F32, new Shape(h, t, Math.Max(dn, dr)));   // q_nope, then q_pe, head-major
                work.Scratch[(4 * i) + 1] = _step.Allocate(DType.F32, new Shape(h * t, rank));        // q_abs, then o_lat
                work.Scratch[(4 * i) + 2] = _step.Allocate(DType.F32, new Shape(h * t, tk));          // scores → probabilities
                work.Scratch[(4 * i) + 3] = _step.Allocate(DType.F32, new Shape(h, t, dv));            // o per head
            }
            else
            {
                work.Scratch[4 * i] = _step.Allocate(DType.F32, new Shape(tk, h * (dn + dv)));       // kv_b_proj(c_j)
                work.Scratch[(4 * i) + 1] = _step.Allocate(DType.F32, new Shape(tk, h, dqk));        // keys
                work.Scratch[(4 * i) + 2] = _step.Allocate(DType.F32, new Shape(tk, h, dv));         // values
                work.Scratch[(4 * i) + 3] = _step.Allocate(DType.F32, new Shape(t, h, dqk + 1));     // queries, then logSumExp
            }
        }
        work.RowStart = _step.Allocate(DType.I32, new Shape(_chunks));
        for (int i = 0, r0 = 0; i < _chunks; r0 += _counts[i], i++) { work.RowStart.AsSpan<int>()[i] = r0; }
        if (small && _chunks > 1) { WorkerPool.Current.For(_chunks, ref work); }
        else
        {
            for (var i = 0; i < _chunks; i++) { work.Execute(i, 0); }
        }
        at.O.Apply(o.AsSpan<float>(), y.AsSpan<float>(), rows);
    }

    private struct ChunkAttention : IWorkItem
    {
        public ModelRunner Runner;
        public AttentionWeights Weights;
        public int CacheLayer;
        public Tensor Q;
        public Tensor QPe;
        public Tensor O;
        public Tensor RowStart;
        public Tensor[] Scratch;

        public readonly void Execute(int index, int worker)
        {
            var s = Scratch.AsSpan(4 * index, 4);
            if (Runner.Direct(Runner._counts[index])) { Runner.AbsorbedDirect(this, index); }
            else if (Runner.Mode == AttentionMode.Absorbed) { Runner.Absorbed(this, index, s); }
            else { Runner.Naive(this, index, s); }
        }
    }

    // Absorbed decode and verify chunks (T ≤ ParallelChunkRows) take the latent kernel; longer ones the GEMMs below.
    private bool Direct(int rows) => Mode == AttentionMode.Absorbed && rows <= ParallelChunkRows && Weights.Config.KvLoraRank <= LatentAttention.MaxRank;

    // The latent kernel on this chunk, a pool item per head (inline when the chunks already run in parallel). It rounds
    // every row alike whatever T is, so a verify step's rows equal the decode steps they replace bit for bit (greedy
    // identity under speculation rests on it).
    private void AbsorbedDirect(in ChunkAttention work, int i)
    {
        var c = Weights.Config;
        int h = c.NumAttentionHeads, dqk = c.QkHeadDim, dr = c.QkRopeHeadDim, dv = c.VHeadDim, rank = c.KvLoraRank;
        int t = _counts[i], r0 = work.RowStart.AsSpan<int>()[i];
        var shape = new LatentAttentionShape(t, _starts[i], h, rank, c.QkNopeHeadDim, dr, dv, _scale);
        var latent = Cache.Latent(work.CacheLayer, _slots[i])[..(shape.KeyTokens * rank)];   // (Tk, c)
        var rope = Cache.RopeKey(work.CacheLayer, _slots[i])[..(shape.KeyTokens * dr)];      // (Tk, d_r)
        LatentAttention.Forward(work.Q.AsSpan<float>().Slice(r0 * h * dqk, t * h * dqk), work.QPe.AsSpan<float>().Slice(r0 * h * dr, t * h * dr), work.Weights.KvBDense,
            latent, rope, shape, work.O.AsSpan<float>().Slice(r0 * h * dv, t * h * dv), WorkerPool.Current);
    }

    private void Absorbed(in ChunkAttention work, int i, ReadOnlySpan<Tensor> scratch)
    {
        var c = Weights.Config;
        int h = c.NumAttentionHeads, dqk = c.QkHeadDim, dn = c.QkNopeHeadDim, dr = c.QkRopeHeadDim, dv = c.VHeadDim, rank = c.KvLoraRank;
        int start = _starts[i], t = _counts[i], tk = start + t, r0 = work.RowStart.AsSpan<int>()[i];
        var latent = Cache.Latent(work.CacheLayer, _slots[i])[..(tk * rank)];                 // (Tk, c)
        var rope = Cache.RopeKey(work.CacheLayer, _slots[i])[..(tk * dr)];                    // (Tk, d_r)
        var perHead = scratch[0].AsSpan<float>();
        var wide = scratch[1].AsSpan<float>();
        var scores = scratch[2].AsSpan<float>();
        var oh = scratch[3].AsSpan<float>();
        var q = work.Q.AsSpan<float>();
        var qPe = work.QPe.AsSpan<float>();
        var kvB = work.Weights.KvBDense;

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
            Elementwise.Scale(p[..attended], _scale, p[..attended]);
            Softmax.Row<float>(p[..attended], p[..attended]);
            p[attended..].Clear();
        }

        // o_lat (H·T, c) = P · latent;  o_h (H, T, d_v) = o_lat_h · W_UV_hᵀ, W_UV_h = the d_v rows after W_UK_h
        Matmul.Gemm<float>(scores, latent, wide, h * t, rank, tk);
        Matmul.GemmBatched<float>(wide, kvB.AsSpan(dn * rank), oh, t, dv, rank, h, t * rank, (dn + dv) * rank, t * dv, transposeB: true);
        var o = work.O.AsSpan<float>();
        for (var head = 0; head < h; head++)
        {
            for (var j = 0; j < t; j++) { oh.Slice(((head * t) + j) * dv, dv).CopyTo(o.Slice(((r0 + j) * h * dv) + (head * dv), dv)); }
        }
    }

    private void Naive(in ChunkAttention work, int i, ReadOnlySpan<Tensor> scratch)
    {
        var c = Weights.Config;
        int h = c.NumAttentionHeads, dqk = c.QkHeadDim, dn = c.QkNopeHeadDim, dr = c.QkRopeHeadDim, dv = c.VHeadDim, rank = c.KvLoraRank;
        int start = _starts[i], t = _counts[i], tk = start + t, r0 = work.RowStart.AsSpan<int>()[i];
        var latent = Cache.Latent(work.CacheLayer, _slots[i])[..(tk * rank)];
        var rope = Cache.RopeKey(work.CacheLayer, _slots[i])[..(tk * dr)];
        var kvb = scratch[0].AsSpan<float>();                                                  // (Tk, H·(d_n + d_v))
        var keys = scratch[1].AsSpan<float>();                                                 // (Tk, H, d_qk)
        var values = scratch[2].AsSpan<float>();                                               // (Tk, H, d_v)
        var queries = scratch[3].AsSpan<float>()[..(t * h * dqk)];                             // (T, H, d_qk)
        var lse = scratch[3].AsSpan<float>().Slice(t * h * dqk, h * t);                        // (H, T)
        work.Weights.KvB.Apply(latent, kvb, tk);
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
        var shape = new AttentionShape(1, t, tk, h, dqk, dv, _scale, start, Causal: true);
        Attention.Forward<float>(queries, keys, values, shape, work.O.AsSpan<float>().Slice(r0 * h * dv, t * h * dv), lse);
    }
}
