// AttentionMode.cs: which form MLA takes over a latent cache, as deepseek-ai/DeepSeek-V3:inference/model.py's attn_impl
// picks it. Not here: the forms themselves (Mla.cs). Tested by ModelRunnerTests and SpeculativeDecoderTests.
namespace SharpSeek.Model.Layers;

/// <summary>MLA over the latent cache: the absorbed form (W_UK folded into q, scores against the cached latent) or the
/// naive one (k_nope and v re-expanded from the cached latent through kv_b_proj), kept for checking.</summary>
public enum AttentionMode
{
    Absorbed,
    Naive,
}
