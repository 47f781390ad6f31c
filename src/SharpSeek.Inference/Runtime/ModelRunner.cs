// ModelRunner.cs: the forward over the KV cache: one ragged batched step for several sequences, each
// appending a chunk of new tokens at its slot's length. Every row of every chunk goes through the dense parts together
// (projections, MoE, head: each weight read once per step); attention runs per sequence over its cache (ModelRunner.
// Attention.cs), the MoE routes rows to experts (ModelRunner.Moe.cs). DraftStep runs the MTP block on its own cache
// layer. For DeepSeek it is tape-free over the latent cache; a dense GQA model's step runs its own layer objects
// (ModelRunner.Dense.cs). Scratch comes from a step arena that resets, so steady-state DeepSeek steps allocate nothing. Not here: sampling,
// scheduling (Engine), the speculative loop (SpeculativeDecoder). Tested by ModelRunnerTests.
using SharpSeek.Model.Layers;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Kernels;
using KernelNorm = SharpSeek.Tensors.Kernels.RmsNorm;

namespace SharpSeek.Inference.Runtime;

/// <summary>Runs <see cref="InferenceWeights"/> over a <see cref="KvCache"/>; results stay valid until the next step.</summary>
public sealed partial class ModelRunner : IDisposable
{
    private readonly Arena _constants = new("runner-rope");
    private readonly Arena _step = new("runner-step");
    private readonly RopeTables _rope;
    private readonly StepResult _result = new();
    private readonly float _scale;
    private int[] _slots = [];
    private int[] _starts = [];
    private int[] _counts = [];
    private int _chunks;

    public ModelRunner(InferenceWeights weights, KvCache cache, AttentionMode mode = AttentionMode.Absorbed)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(cache);
        var (w, c) = (weights.Config, cache.Config);
        if (w.IsDense != c.IsDense || w.TotalLayers != c.TotalLayers || (w.IsDense
            ? w.NumKeyValueHeads * w.AttentionHeadDim != c.NumKeyValueHeads * c.AttentionHeadDim
            : w.KvLoraRank != c.KvLoraRank || w.QkRopeHeadDim != c.QkRopeHeadDim))
        {
            throw new ArgumentException(w.IsDense || c.IsDense
                ? $"the cache was built for a {c.ModelType} model of {c.TotalLayers} layers; the model is {w.ModelType} with {w.TotalLayers} layers of {w.NumKeyValueHeads} × {w.AttentionHeadDim} cached keys"
                : $"the cache was built for {c.TotalLayers} layers × (c {c.KvLoraRank} + d_r {c.QkRopeHeadDim}); the model has {w.TotalLayers} × ({w.KvLoraRank} + {w.QkRopeHeadDim})", nameof(cache));
        }
        (Weights, Cache, Mode) = (weights, cache, mode);
        _rope = new RopeTables(w, cache.MaxContext, DType.F32, _constants);
        _scale = (float)RopeTables.SoftmaxScale(w);
    }

    public InferenceWeights Weights { get; }

    public KvCache Cache { get; }

    public AttentionMode Mode { get; set; }

    /// <summary>Bytes of step scratch at the high-water mark.</summary>
    public long ScratchBytes => _step.HighWaterBytes;

    /// <summary>
    /// One forward over the main model for every chunk (distinct slots), writing each chunk's latents and rope keys into
    /// its slot at positions Length .. Length + T − 1 and advancing the slot. Returns logits (all rows or each chunk's
    /// last) and the final normed hidden state of every row.
    /// </summary>
    public StepResult Step(ReadOnlySpan<SequenceChunk> chunks, LogitRows logits = LogitRows.All)
    {
        if (Weights.Model is { } dense) { return DenseStep(dense, chunks, logits); }
        var w = Weights;
        int d = w.Config.HiddenSize;
        using var hot = WorkerPool.Current.Hot(); // hundreds of short loops: keep the workers spinning between them
        _step.Reset();
        Reserve(chunks.Length);
        for (var i = 0; i < chunks.Length; i++) { (_slots[i], _counts[i]) = (chunks[i].Slot, chunks[i].Tokens.Length); }
        var rows = Prepare(chunks.Length, draft: false);
        var ids = _step.Allocate(DType.I32, new Shape(rows));
        for (int i = 0, r = 0; i < chunks.Length; r += _counts[i], i++) { CheckTokens(i, chunks[i].Tokens.Span, ids.AsSpan<int>().Slice(r, _counts[i])); }
        var x = _step.Allocate(DType.F32, new Shape(rows, d));                                 // x: (R, D)
        Embedding.Forward<float>(w.Embedding, ids.AsSpan<int>(), d, x.AsSpan<float>());
        for (var l = 0; l < w.Layers.Count; l++) { Layer(w.Layers[l], l, x, draft: false); }
        return Finish(x, w.FinalNorm!, logits, draft: false);
    }

    /// <summary>
    /// One forward of the depth-1 MTP block: x = eh_proj([enorm(emb(t_{i+1})), hnorm(h_i)]) at positions DraftLength ..,
    /// its decoder layer over the MTP cache layer, shared_head.norm, then the head: row i's logits draft token i + 2.
    /// </summary>
    public StepResult DraftStep(ReadOnlySpan<DraftChunk> chunks, LogitRows logits = LogitRows.Last)
    {
        var w = Weights;
        if (w.Mtp.Count == 0) { throw new InvalidOperationException("the model has no MTP module (num_nextn_predict_layers is 0)"); }
        var mtp = w.Mtp[0];
        int d = w.Config.HiddenSize;
        using var hot = WorkerPool.Current.Hot();
        _step.Reset();
        Reserve(chunks.Length);
        for (var i = 0; i < chunks.Length; i++) { (_slots[i], _counts[i]) = (chunks[i].Slot, chunks[i].Tokens.Length); }
        var rows = Prepare(chunks.Length, draft: true);
        var ids = _step.Allocate(DType.I32, new Shape(rows));
        var previous = _step.Allocate(DType.F32, new Shape(rows, d));                          // h: (R, D)
        for (int i = 0, r = 0; i < chunks.Length; r += _counts[i], i++)
        {
            CheckTokens(i, chunks[i].Tokens.Span, ids.AsSpan<int>().Slice(r, _counts[i]));
            if (chunks[i].Hidden.Length != _counts[i] * d)
            {
                throw new ArgumentException($"draft chunk {i}: {_counts[i]} tokens need {_counts[i] * d} hidden values ({_counts[i]} × {d}); got {chunks[i].Hidden.Length}", nameof(chunks));
            }
            chunks[i].Hidden.Span.CopyTo(previous.AsSpan<float>().Slice(r * d, _counts[i] * d));
        }
        var embedded = _step.Allocate(DType.F32, new Shape(rows, d));
        Embedding.Forward<float>(w.Embedding, ids.AsSpan<int>(), d, embedded.AsSpan<float>());
        var joined = _step.Allocate(DType.F32, new Shape(rows, 2 * d));                        // (R, 2D) = [enorm(e) | hnorm(h)]
        Norm(embedded, mtp.EmbeddingNorm, embedded);
        Norm(previous, mtp.HiddenNorm, previous);
        for (var r = 0; r < rows; r++)
        {
            embedded.Row<float>(r).CopyTo(joined.Row<float>(r));
            previous.Row<float>(r).CopyTo(joined.Row<float>(r)[d..]);
        }
        var x = _step.Allocate(DType.F32, new Shape(rows, d));
        mtp.EhProj.Apply(joined.AsSpan<float>(), x.AsSpan<float>(), rows);
        Layer(mtp.Layer, w.Config.NumHiddenLayers, x, draft: true);
        return Finish(x, mtp.HeadNorm, logits, draft: true);
    }

    public void Dispose()
    {
        _step.Dispose();
        _constants.Dispose();
    }

    private void Reserve(int n)
    {
        if (n == 0) { throw new ArgumentException("a step needs at least one chunk", nameof(n)); }
        if (_slots.Length < n) { (_slots, _starts, _counts) = (new int[n], new int[n], new int[n]); }
    }

    // Validates the chunks in _slots/_counts and fills _starts; returns the total rows R.
    private int Prepare(int n, bool draft)
    {
        var rows = 0;
        for (var i = 0; i < n; i++)
        {
            var (slot, count) = (_slots[i], _counts[i]);
            Cache.Check(slot);
            if (count == 0) { throw new ArgumentException($"chunk {i} (slot {slot}) has no tokens", nameof(n)); }
            for (var j = 0; j < i; j++)
            {
                if (_slots[j] == slot) { throw new ArgumentException($"chunks {j} and {i} both write slot {slot}; one chunk per sequence per step", nameof(n)); }
            }
            var start = Cache.Length(slot, draft);
            if (start + count > Cache.MaxContext)
            {
                throw new InvalidOperationException($"chunk {i} (slot {slot}): positions {start} .. {start + count - 1} overflow the cache's {Cache.MaxContext}-position context");
            }
            _starts[i] = start;
            rows += count;
        }
        _chunks = n;
        return rows;
    }

    private void CheckTokens(int chunk, ReadOnlySpan<int> tokens, Span<int> destination)
    {
        var vocab = Weights.Config.VocabSize;
        for (var t = 0; t < tokens.Length; t++)
        {
            if ((uint)tokens[t] >= (uint)vocab) { throw new ArgumentOutOfRangeException(nameof(tokens), $"token {t} of chunk {chunk} is {tokens[t]}, outside the vocabulary [0, {vocab})"); }
        }
        tokens.CopyTo(destination);
    }

    // h += MLA(input_layernorm(h)); h += FFN(post_attention_layernorm(h)).  x: (R, D), updated in place.
    private void Layer(LayerWeights layer, int cacheLayer, Tensor x, bool draft)
    {
        var rows = (int)x.Size(0);
        var a = _step.Allocate(DType.F32, x.Shape);
        var y = _step.Allocate(DType.F32, x.Shape);
        Norm(x, layer.InputNorm, a);
        Attend(layer.Attention, cacheLayer, a, y, draft);
        Elementwise.Add<float>(x.AsSpan<float>(), y.AsSpan<float>(), x.AsSpan<float>());
        Norm(x, layer.PostAttentionNorm, a);
        y.AsSpan<float>().Clear();
        if (layer.Moe is { } moe) { MixtureOfExperts(moe, a, y); } else { SwiGlu(layer.Mlp!, a.AsSpan<float>(), y.AsSpan<float>(), rows); }
        Elementwise.Add<float>(x.AsSpan<float>(), y.AsSpan<float>(), x.AsSpan<float>());
    }

    // y (rows, D) += down(silu(gate(x)) ⊙ up(x)).
    private void SwiGlu(SwiGluWeights mlp, ReadOnlySpan<float> x, Span<float> y, int rows)
    {
        var inter = mlp.Gate.Rows;
        var g = _step.Allocate(DType.F32, new Shape(rows, inter)).AsSpan<float>();
        var u = _step.Allocate(DType.F32, new Shape(rows, inter)).AsSpan<float>();
        mlp.Gate.Apply(x, g, rows);
        mlp.Up.Apply(x, u, rows);
        Tensors.Kernels.SwiGlu.Forward<float>(g, u, g);
        mlp.Down.Apply(g, y, rows, accumulate: true);
    }

    // The final norm, the head on the requested rows, then the cache lengths advance.
    private StepResult Finish(Tensor x, NormWeights norm, LogitRows logitRows, bool draft)
    {
        var w = Weights;
        int rows = (int)x.Size(0), d = (int)x.Size(1), chunks = _chunks;
        var normed = _step.Allocate(DType.F32, x.Shape);                                       // (R, D)
        Norm(x, norm, normed);
        Tensor logits;
        if (logitRows == LogitRows.All)
        {
            logits = _step.Allocate(DType.F32, new Shape(rows, w.Config.VocabSize));           // (R, V)
            w.Head!.Apply(normed.AsSpan<float>(), logits.AsSpan<float>(), rows);
        }
        else
        {
            var last = _step.Allocate(DType.F32, new Shape(chunks, d));                        // (chunks, D)
            for (int i = 0, r = 0; i < chunks; r += _counts[i], i++) { normed.Row<float>(r + _counts[i] - 1).CopyTo(last.Row<float>(i)); }
            logits = _step.Allocate(DType.F32, new Shape(chunks, w.Config.VocabSize));         // (chunks, V)
            w.Head!.Apply(last.AsSpan<float>(), logits.AsSpan<float>(), chunks);
        }
        for (var i = 0; i < chunks; i++) { Cache.Advance(_slots[i], _counts[i], draft); }
        _result.Set(_counts.AsSpan(0, chunks), logitRows, logits, normed);
        return _result;
    }

    // y = rmsnorm(x)·w over the last axis; y may be x.
    private void Norm(Tensor x, NormWeights norm, Tensor y)
    {
        var rstd = _step.Allocate(DType.F32, new Shape(x.ElementCount / norm.Weight.Length));
        KernelNorm.Forward<float>(x.AsSpan<float>(), norm.Weight, norm.Eps, y.AsSpan<float>(), rstd.AsSpan<float>());
    }
}
