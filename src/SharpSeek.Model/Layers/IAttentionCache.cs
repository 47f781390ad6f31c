// IAttentionCache.cs: the seam between an attention layer and a runtime's KV cache during a no-gradient step. The
// runtime owns the slots and the ragged batch: the step's rows are chunks, each a run of new tokens of one sequence at
// consecutive positions after what its slot has cached. Attention owns what is cached and how it attends: grouped-query
// attention hands its rotated keys and values to Attend (the runtime stores them and attends each row over its own
// sequence); MLA writes its normalized latent c_kv and rotated k_pe into the rows Latent and RopeKey give it and attends
// over them itself, in the form Mode asks for. Not here: slots, lengths, scheduling (the inference runtime implements
// this). Tested by DenseRunnerTests and ModelRunnerTests.
namespace SharpSeek.Model.Layers;

/// <summary>A KV cache an attention layer reads and appends to during a no-gradient forward over a ragged batch.</summary>
public interface IAttentionCache
{
    /// <summary>Chunks in this step, in row order.</summary>
    int Chunks { get; }

    /// <summary>MLA's form for this step (deepseek-ai/DeepSeek-V3:inference/model.py's attn_impl).</summary>
    AttentionMode Mode { get; }

    /// <summary>Chunk <paramref name="index"/>: its cache slot, the position of its first new row (positions before it are
    /// cached) and its number of new rows.</summary>
    (int Slot, int Start, int Count) Chunk(int index);

    /// <summary>MLA: the normalized latents (context, kv_lora_rank) of cache layer <paramref name="layer"/> at <paramref name="slot"/>.</summary>
    Span<float> Latent(int layer, int slot);

    /// <summary>MLA: the rotated rope keys (context, qk_rope_head_dim) of cache layer <paramref name="layer"/> at <paramref name="slot"/>.</summary>
    Span<float> RopeKey(int layer, int slot);

    /// <summary>
    /// GQA: q: (R, H, d), k and v: (R, H_kv, d), one row per new token of this step, row-aligned with the step's rows.
    /// Stores k and v for <paramref name="layer"/> at each row's sequence and position, then writes o: (R, H, d), each
    /// row's softmax(scale·q·kᵀ)·v over its sequence's positions up to its own (query head h reads kv head h / (H / H_kv)).
    /// </summary>
    void Attend(int layer, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int heads, int kvHeads, int headDim, float scale, Span<float> output);
}
