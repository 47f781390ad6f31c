// ModelRunner.Cache.cs: the runner as the layers' IAttentionCache during a step: the ragged batch's chunks (slot, first
// position, rows) and the cache rows of a layer and slot, which MLA writes and attends over itself (Mla.cs); for grouped-
// query attention it stores each new row's rotated key and value at its sequence's position and attends each row over
// its own sequence, causally (query head h reads kv head h / (H / H_kv), as HF's repeat_kv). Not here: a fused GQA
// kernel (the attention below is a per-row loop over the Dot, Softmax and Axpy kernels). Tested by ModelRunnerTests and
// DenseRunnerTests.
using SharpSeek.Model.Layers;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Inference.Runtime;

public sealed partial class ModelRunner : IAttentionCache
{
    private float[] _scores = [];

    int IAttentionCache.Chunks => _chunks;

    (int Slot, int Start, int Count) IAttentionCache.Chunk(int index) => (uint)index < (uint)_chunks ? (_slots[index], _starts[index], _counts[index])
        : throw new ArgumentOutOfRangeException(nameof(index), $"the step has {_chunks} chunks; asked for chunk {index}");

    Span<float> IAttentionCache.Latent(int layer, int slot) => Cache.Latent(layer, slot);

    Span<float> IAttentionCache.RopeKey(int layer, int slot) => Cache.RopeKey(layer, slot);

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
