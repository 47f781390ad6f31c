// GqaAttentionShape.cs: the sizes and softmax scale of one grouped-query attention call over a KV cache. Not here: the
// kernel (GqaAttention.cs). Tested by GqaAttentionTests.
namespace SharpSeek.Tensors.Kernels;

/// <summary>
/// Sizes of <see cref="GqaAttention"/>: T query rows at absolute positions Start .. Start + T − 1, each attending the
/// cached positions 0 .. its own (so the cache holds Tk = Start + T positions), H query heads sharing H_kv key/value
/// heads in groups of G = H / H_kv, head dimension d.
/// </summary>
/// <param name="Tokens">T, query rows of the chunk.</param>
/// <param name="Start">absolute position of row 0.</param>
/// <param name="Heads">H (12 for DeepSeek-R1-Distill-Qwen-1.5B).</param>
/// <param name="KvHeads">H_kv, a divisor of H (2 for R1-Distill-Qwen-1.5B).</param>
/// <param name="HeadDim">d (128 for R1-Distill-Qwen-1.5B).</param>
/// <param name="Scale">softmax scale, d^-0.5.</param>
public readonly record struct GqaAttentionShape(int Tokens, int Start, int Heads, int KvHeads, int HeadDim, float Scale)
{
    /// <summary>Tk = Start + T, the cached positions the last row attends.</summary>
    public int KeyTokens => Start + Tokens;

    /// <summary>G = H / H_kv, the query heads that read one key/value head.</summary>
    public int Groups => Heads / KvHeads;

    /// <summary>H_kv·d, the width of one cached position's keys (and of its values).</summary>
    public int KvWidth => KvHeads * HeadDim;
}
