// LatentAttentionShape.cs: the sizes and softmax scale of one absorbed-MLA call over a latent cache. Not here: the kernel
// (LatentAttention.cs). Tested by LatentAttentionTests.
namespace SharpSeek.Tensors.Kernels;

/// <summary>
/// Sizes of <see cref="LatentAttention"/>: T query rows at absolute positions Start .. Start + T − 1, each attending the
/// cached positions 0 .. its own (so the cache holds Tk = Start + T positions), H heads, latent rank c, d_n, d_r, d_v.
/// </summary>
/// <param name="Tokens">T, query rows of the chunk.</param>
/// <param name="Start">absolute position of row 0.</param>
/// <param name="Heads">H.</param>
/// <param name="KvLoraRank">c, the latent width (512 for DeepSeek-V3).</param>
/// <param name="QkNopeHeadDim">d_n (128 for DeepSeek-V3).</param>
/// <param name="QkRopeHeadDim">d_r (64 for DeepSeek-V3).</param>
/// <param name="VHeadDim">d_v (128 for DeepSeek-V3).</param>
/// <param name="Scale">softmax scale: d_qk^-0.5, times mscale² when YaRN is active.</param>
public readonly record struct LatentAttentionShape(
    int Tokens, int Start, int Heads, int KvLoraRank, int QkNopeHeadDim, int QkRopeHeadDim, int VHeadDim, float Scale)
{
    /// <summary>Tk = Start + T, the cached positions the last row attends.</summary>
    public int KeyTokens => Start + Tokens;

    /// <summary>d_qk = d_n + d_r, the per-head width of the query rows.</summary>
    public int QkHeadDim => QkNopeHeadDim + QkRopeHeadDim;
}
