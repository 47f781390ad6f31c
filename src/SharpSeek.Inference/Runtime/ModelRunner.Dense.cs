// ModelRunner.Dense.cs: a step of a dense GQA model (qwen2, llama) runs the model's own layer objects (Block, Gqa, Mlp:
// the forward training uses, written once) with gradients off over this runner's step arena; the runner is their
// IAttentionCache: it writes each new row's rotated key and value at its sequence's position and attends each row over
// its own sequence, causally (query head h reads kv head h / (H / H_kv), as HF's repeat_kv) with the fused GqaAttention
// kernel. The weights are the model's F32 masters, read in place. Not here: BF16/FP8 views, MTP (the dense families have
// none). Tested by DenseRunnerTests.
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

    private StepResult DenseStep(ModelWeights model, ReadOnlySpan<SequenceChunk> chunks, LogitRows logits)
    {
        var c = model.Config;
        using var hot = WorkerPool.Current.Hot(); // hundreds of short loops: keep the workers spinning between them
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
        using var region = Profiler.Region(ProfileCategory.Attention);
        var width = kvHeads * headDim;
        for (int i = 0, r0 = 0; i < _chunks; r0 += _counts[i], i++)
        {
            var (start, count) = (_starts[i], _counts[i]);
            var keys = Cache.Keys(layer, _slots[i]);                                                   // (context, H_kv·d); a dense model has no MTP layers
            var values = Cache.Values(layer, _slots[i]);
            k.Slice(r0 * width, count * width).CopyTo(keys.Slice(start * width));
            v.Slice(r0 * width, count * width).CopyTo(values.Slice(start * width));
            // Each row attends positions 0 .. its own over the sequence's cache (causal; query head h reads kv head h / G).
            GqaAttention.Forward(q.Slice(r0 * heads * headDim, count * heads * headDim), keys, values,
                new GqaAttentionShape(count, start, heads, kvHeads, headDim, scale), output.Slice(r0 * heads * headDim, count * heads * headDim), WorkerPool.Current);
        }
    }
}
