// IAttentionCache.cs: the seam between an attention layer and a runtime's KV cache. The layer computes its new rows'
// queries, keys and values (projections, bias, RoPE: its own math, written once); the cache, which knows which sequence
// and position each row belongs to, stores the keys and values and attends each row over its own sequence's cached
// positions. Not here: slots, ragged-batch metadata (the inference runtime implements this). Tested by DenseRunnerTests.
namespace SharpSeek.Model.Layers;

/// <summary>A KV cache a grouped-query attention layer reads and appends to during a no-gradient forward.</summary>
public interface IAttentionCache
{
    /// <summary>
    /// q: (R, H, d), k and v: (R, H_kv, d), one row per new token of this step, row-aligned with the step's rows. Stores
    /// k and v for <paramref name="layer"/> at each row's sequence and position, then writes o: (R, H, d), each row's
    /// softmax(scale·q·kᵀ)·v over its sequence's positions up to its own (query head h reads kv head h / (H / H_kv)).
    /// </summary>
    void Attend(int layer, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int heads, int kvHeads, int headDim, float scale, Span<float> output);
}
