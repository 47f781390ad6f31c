// KvCacheSize.cs: per-token KV-cache size of MLA against an MHA cache with the same heads. Not here: the cache (Inference/KvCache.cs).
// Tested by ParameterShapesTests.
namespace SharpSeek.Model;

/// <summary>Cached elements per token over the main model's layers. MLA caches the latent c_kv and the shared rope key
/// k_pe: L·(kv_lora_rank + qk_rope_head_dim). Plain MHA with the same heads caches k and v of every head:
/// L·H·(qk_nope_head_dim + qk_rope_head_dim + v_head_dim).</summary>
public sealed record KvCacheSize(long MlaElementsPerToken, long MhaElementsPerToken)
{
    public long MlaBytesPerToken(int elementSize) => MlaElementsPerToken * elementSize;

    public long MhaBytesPerToken(int elementSize) => MhaElementsPerToken * elementSize;

    /// <summary>How many times smaller the MLA cache is (71.1 for V3).</summary>
    public double Ratio => (double)MhaElementsPerToken / MlaElementsPerToken;

    /// <summary>For a dense (GQA) model the "MLA" figure is its own cache, L·2·H_kv·head_dim, against MHA's L·2·H·head_dim.</summary>
    public static KvCacheSize For(ModelConfig config) => config?.IsDense == true
        ? new((long)config.NumHiddenLayers * 2 * config.NumKeyValueHeads * config.AttentionHeadDim, (long)config.NumHiddenLayers * 2 * config.NumAttentionHeads * config.AttentionHeadDim)
        : new(
        (long)config!.NumHiddenLayers * (config.KvLoraRank + config.QkRopeHeadDim),
        (long)config.NumHiddenLayers * config.NumAttentionHeads * (config.QkHeadDim + config.VHeadDim));
}
