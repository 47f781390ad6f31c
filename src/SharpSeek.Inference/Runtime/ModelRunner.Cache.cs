// ModelRunner.Cache.cs: the runner as the layers' IAttentionCache during a step: the ragged batch's chunks (slot, first
// position, rows) and the cache rows of a layer and slot, which MLA writes and attends over itself (Mla.cs); for grouped-
// query attention it stores each new row's rotated key and value at its sequence's position and attends each row over
// its own sequence, causally (query head h reads kv head h / (H / H_kv), as HF's repeat_kv), with the fused GqaAttention
// kernel. Tested by ModelRunnerTests and DenseRunnerTests.
using SharpSeek.Model.Layers;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Inference.Runtime;

public sealed partial class ModelRunner : IAttentionCache
{
    int IAttentionCache.Chunks => _chunks;

    (int Slot, int Start, int Count) IAttentionCache.Chunk(int index) => (uint)index < (uint)_chunks ? (_slots[index], _starts[index], _counts[index])
        : throw new ArgumentOutOfRangeException(nameof(index), $"the step has {_chunks} chunks; asked for chunk {index}");

    Span<float> IAttentionCache.Latent(int layer, int slot) => Cache.Latent(layer, slot);

    Span<float> IAttentionCache.RopeKey(int layer, int slot) => Cache.RopeKey(layer, slot);

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
