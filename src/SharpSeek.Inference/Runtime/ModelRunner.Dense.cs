// ModelRunner.Dense.cs: a step of a dense GQA model (qwen2, llama) runs the model's own layer objects (Block, Gqa, Mlp:
// the forward training uses, written once) with gradients off over this runner's step arena; the runner is their
// IAttentionCache: it writes each new row's rotated key and value at its sequence's position and attends each row over
// its own sequence, causally (query head h reads kv head h / (H / H_kv), as HF's repeat_kv). The weights are the
// model's F32 masters, read in place. Not here: BF16/FP8 views, MTP (the dense families have none), a fused GQA kernel
// (the attention below is a per-row loop over the Dot, Softmax and Axpy kernels). Tested by DenseRunnerTests.
using SharpSeek.Model;
using SharpSeek.Model.Layers;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Inference.Runtime;

public sealed partial class ModelRunner : IAttentionCache
{
    private Tape? _tape;
    private float[] _scores = [];

    private StepResult DenseStep(ModelWeights model, ReadOnlySpan<SequenceChunk> chunks, LogitRows logits)
    {
        var c = model.Config;
        _step.Reset();
        _tape ??= new Tape(_step) { GradEnabled = false };
        _tape.Reset();
        Reserve(chunks.Length);
        for (var i = 0; i < chunks.Length; i++) { (_slots[i], _counts[i]) = (chunks[i].Slot, chunks[i].Tokens.Length); }
        var rows = Prepare(chunks.Length, draft: false);
        var ids = _step.Allocate(DType.I32, new Shape(1, rows));
        var positions = _step.Allocate(DType.I32, new Shape(rows));
        for (int i = 0, r = 0; i < chunks.Length; r += _counts[i], i++)
        {
            CheckTokens(i, chunks[i].Tokens.Span, ids.AsSpan<int>().Slice(r, _counts[i]));
            for (var t = 0; t < _counts[i]; t++) { positions.AsSpan<int>()[r + t] = _starts[i] + t; }
        }
        var tape = _tape;
        var h = EmbeddingOp.Apply(tape, model.Embedding.Bind(tape), ids);                          // (1, R, D)
        for (var l = 0; l < model.Layers.Count; l++) { h = model.Layers[l].Forward(tape, h, _rope, positions, this); }
        var normed = model.FinalNorm.Forward(tape, h);                                              // (1, R, D)
        var hidden = tape.Value(normed).Reshape(rows, c.HiddenSize);                                // (R, D)
        Var headIn = normed;
        if (logits == LogitRows.Last)
        {
            var last = _step.Allocate(DType.I32, new Shape(chunks.Length));
            for (int i = 0, r = 0; i < chunks.Length; r += _counts[i], i++) { last.AsSpan<int>()[i] = r + _counts[i] - 1; }
            headIn = GatherRowsOp.Apply(tape, ReshapeOp.Apply(tape, normed, rows, c.HiddenSize), last);   // (chunks, D)
        }
        var output = tape.Value(Linear.Apply(tape, headIn, model.Head));                           // (R or chunks, V)
        for (var i = 0; i < chunks.Length; i++) { Cache.Advance(_slots[i], _counts[i], draft: false); }
        _result.Set(_counts.AsSpan(0, chunks.Length), logits, output.Reshape(output.ElementCount / c.VocabSize, c.VocabSize), hidden);
        return _result;
    }

    void IAttentionCache.Attend(int layer, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int heads, int kvHeads, int headDim,
        float scale, Span<float> output)
    {
        var width = kvHeads * headDim;
        var groups = heads / kvHeads;
        if (_scores.Length < Cache.MaxContext) { _scores = new float[Cache.MaxContext]; }
        var cacheLayer = layer; // the checkpoint layer; a dense model has no MTP layers after it
        for (int i = 0, r0 = 0; i < _chunks; r0 += _counts[i], i++)
        {
            var (start, count) = (_starts[i], _counts[i]);
            var keys = Cache.Keys(cacheLayer, _slots[i]);                                              // (context, H_kv·d)
            var values = Cache.Values(cacheLayer, _slots[i]);
            k.Slice(r0 * width, count * width).CopyTo(keys.Slice(start * width));
            v.Slice(r0 * width, count * width).CopyTo(values.Slice(start * width));
            for (var t = 0; t < count; t++)
            {
                var visible = start + t + 1;                                                           // causal: positions 0 .. start + t
                var scores = _scores.AsSpan(0, visible);
                for (var head = 0; head < heads; head++)
                {
                    var query = q.Slice(((r0 + t) * heads + head) * headDim, headDim);
                    var kvOffset = head / groups * headDim;
                    // s_j = scale·q·k_j;  p = softmax(s);  o = Σ_j p_j·v_j
                    for (var j = 0; j < visible; j++) { scores[j] = scale * Elementwise.Dot<float>(query, keys.Slice((j * width) + kvOffset, headDim)); }
                    Softmax.Forward<float>(scores, 1, visible, scores);
                    var o = output.Slice(((r0 + t) * heads + head) * headDim, headDim);
                    o.Clear();
                    for (var j = 0; j < visible; j++) { Elementwise.Axpy<float>(values.Slice((j * width) + kvOffset, headDim), scores[j], o); }
                }
            }
        }
    }
}
