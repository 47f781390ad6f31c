// ModelRunner.cs: the forward over the KV cache: one ragged batched step for several sequences, each appending a chunk
// of new tokens at its slot's length. A step runs the model's own layer objects (embedding, each Block's attention and
// Mlp or Moe, final norm, head: the classes training runs, written once) with gradients off over this runner's step
// arena, every projection through its Linear view (F32 in place, BF16 or FP8), for every model family. Every row of every
// chunk goes through the projections, MoE and head together (each weight read once per step); attention runs per
// sequence over its cache, the runner telling it which rows belong to which slot at which positions (ModelRunner.Cache.cs,
// IAttentionCache). DraftStep runs the MTP block on its own cache layer. Scratch comes from a step arena that resets, so
// steady-state steps allocate nothing. Not here: the layers' math (Model/Layers), sampling, scheduling (Engine), the
// speculative loop (SpeculativeDecoder). Tested by ModelRunnerTests and DenseRunnerTests.
using SharpSeek.Model;
using SharpSeek.Model.Layers;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Inference.Runtime;

/// <summary>Runs <see cref="InferenceWeights"/> over a <see cref="KvCache"/>; results stay valid until the next step.</summary>
public sealed partial class ModelRunner : IDisposable
{
    private readonly Arena _constants = new("runner-rope");
    private readonly Arena _step = new("runner-step");
    private readonly Tape _tape;
    private readonly RopeTables _rope;
    private readonly StepResult _result = new();
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
        _tape = new Tape(_step) { GradEnabled = false };
    }

    public InferenceWeights Weights { get; }

    public KvCache Cache { get; }

    /// <summary>MLA's form over the latent cache (a dense model's attention has one form).</summary>
    public AttentionMode Mode { get; set; }

    /// <summary>Bytes of step scratch at the high-water mark.</summary>
    public long ScratchBytes => _step.HighWaterBytes;

    /// <summary>
    /// One forward over the main model for every chunk (distinct slots), writing each chunk's cache entries into its slot
    /// at positions Length .. Length + T − 1 and advancing the slot. Returns logits (all rows or each chunk's last) and
    /// the final normed hidden state of every row.
    /// </summary>
    public StepResult Step(ReadOnlySpan<SequenceChunk> chunks, LogitRows logits = LogitRows.All)
    {
        var model = Model();
        using var hot = WorkerPool.Current.Hot(); // hundreds of short loops: keep the workers spinning between them
        _tape.Reset();
        Reserve(chunks.Length);
        for (var i = 0; i < chunks.Length; i++) { (_slots[i], _counts[i]) = (chunks[i].Slot, chunks[i].Tokens.Length); }
        var rows = Prepare(chunks.Length, draft: false);
        var (ids, positions) = (_step.Allocate(DType.I32, new Shape(1, rows)), Positions(rows));
        for (int i = 0, r = 0; i < chunks.Length; r += _counts[i], i++) { CheckTokens(i, chunks[i].Tokens.Span, ids.AsSpan<int>().Slice(r, _counts[i])); }
        var h = EmbeddingOp.Apply(_tape, model.Embedding.Bind(_tape), ids);                       // (1, R, D)
        for (var l = 0; l < model.Layers.Count; l++) { h = model.Layers[l].Forward(_tape, h, _rope, positions, this); }
        return Finish(model.FinalNorm.Forward(_tape, h), logits, draft: false);
    }

    /// <summary>
    /// One forward of the depth-1 MTP block: x = eh_proj([enorm(emb(t_{i+1})), hnorm(h_i)]) at positions DraftLength ..,
    /// its decoder layer over the MTP cache layer, shared_head.norm, then the head: row i's logits draft token i + 2.
    /// </summary>
    public StepResult DraftStep(ReadOnlySpan<DraftChunk> chunks, LogitRows logits = LogitRows.Last)
    {
        var model = Model();
        if (model.Mtp.Count == 0) { throw new InvalidOperationException("the model has no MTP module (num_nextn_predict_layers is 0)"); }
        int d = model.Config.HiddenSize;
        using var hot = WorkerPool.Current.Hot();
        _tape.Reset();
        Reserve(chunks.Length);
        for (var i = 0; i < chunks.Length; i++) { (_slots[i], _counts[i]) = (chunks[i].Slot, chunks[i].Tokens.Length); }
        var rows = Prepare(chunks.Length, draft: true);
        var (ids, positions) = (_step.Allocate(DType.I32, new Shape(1, rows)), Positions(rows));
        var previous = _step.Allocate(DType.F32, new Shape(1, rows, d));                          // h: (1, R, D)
        for (int i = 0, r = 0; i < chunks.Length; r += _counts[i], i++)
        {
            CheckTokens(i, chunks[i].Tokens.Span, ids.AsSpan<int>().Slice(r, _counts[i]));
            if (chunks[i].Hidden.Length != _counts[i] * d)
            {
                throw new ArgumentException($"draft chunk {i}: {_counts[i]} tokens need {_counts[i] * d} hidden values ({_counts[i]} × {d}); got {chunks[i].Hidden.Length}", nameof(chunks));
            }
            chunks[i].Hidden.Span.CopyTo(previous.AsSpan<float>().Slice(r * d, _counts[i] * d));
        }
        var embedded = EmbeddingOp.Apply(_tape, model.Embedding.Bind(_tape), ids);                // (1, R, D)
        var (_, normed) = model.Mtp[0].Forward(_tape, embedded, _tape.Constant(previous), _rope, positions, this);
        return Finish(normed, logits, draft: true);
    }

    public void Dispose()
    {
        _step.Dispose();
        _constants.Dispose();
    }

    // The model, once its views are still the ones these inference weights were built with.
    private ModelWeights Model()
    {
        var (model, format) = (Weights.Model, Weights.Format);
        if (model.Format != format)
        {
            throw new InvalidOperationException($"the model's views were rebuilt in {model.Format} after these inference weights were built in {format}; one format per model at a time");
        }
        return model;
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

    // I32 (R): each row's absolute position, its chunk's start onwards.
    private Tensor Positions(int rows)
    {
        var positions = _step.Allocate(DType.I32, new Shape(rows));
        for (int i = 0, r = 0; i < _chunks; r += _counts[i], i++)
        {
            for (var t = 0; t < _counts[i]; t++) { positions.AsSpan<int>()[r + t] = _starts[i] + t; }
        }
        return positions;
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

    // normed: (1, R, D) after the final norm → the head on the requested rows; then the cache lengths advance.
    private StepResult Finish(Var normed, LogitRows logitRows, bool draft)
    {
        var model = Weights.Model;
        int d = model.Config.HiddenSize, v = model.Config.VocabSize, chunks = _chunks;
        var hidden = _tape.Value(normed);
        var rows = (int)hidden.Shape.Rows;
        hidden = hidden.Reshape(rows, d);                                                         // (R, D)
        Tensor logits;
        if (logitRows == LogitRows.All)
        {
            logits = _step.Allocate(DType.F32, new Shape(rows, v));                               // (R, V)
            model.Head.Apply(hidden.AsSpan<float>(), logits.AsSpan<float>(), rows);
        }
        else
        {
            var last = _step.Allocate(DType.F32, new Shape(chunks, d));                           // (chunks, D)
            for (int i = 0, r = 0; i < chunks; r += _counts[i], i++) { hidden.Row<float>(r + _counts[i] - 1).CopyTo(last.Row<float>(i)); }
            logits = _step.Allocate(DType.F32, new Shape(chunks, v));                             // (chunks, V)
            model.Head.Apply(last.AsSpan<float>(), logits.AsSpan<float>(), chunks);
        }
        for (var i = 0; i < chunks; i++) { Cache.Advance(_slots[i], _counts[i], draft); }
        _result.Set(_counts.AsSpan(0, chunks), logitRows, logits, hidden);
        return _result;
    }
}
