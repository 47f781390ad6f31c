// AttentionShape.cs: the sizes and softmax arguments of one fused attention call. Not here: the kernels (Attention.cs). Tested by AttentionTests.
namespace SharpSeek.Tensors.Kernels;

/// <summary>
/// Sizes of <see cref="Attention"/>: q (B, T, H, Dqk), k (B, Tk, H, Dqk), v (B, Tk, H, Dv), output (B, T, H, Dv),
/// logSumExp (B, H, T). With <see cref="Causal"/>, query i sits at absolute position StartPos + i and attends keys
/// 0..StartPos + i (so chunked prefill has Tk = StartPos + T); without it every key is attended. An additive mask
/// (T, Tk), when given to the kernels, is added to the scaled scores in both cases.
/// </summary>
/// <param name="Batch">B.</param>
/// <param name="Tokens">T, query tokens.</param>
/// <param name="KeyTokens">Tk, key and value tokens.</param>
/// <param name="Heads">H.</param>
/// <param name="QkHeadDim">Dqk (192 for DeepSeek-V3: 128 nope + 64 rope).</param>
/// <param name="VHeadDim">Dv (128 for DeepSeek-V3).</param>
/// <param name="Scale">softmax scale: Dqk^-0.5, times mscale² when YaRN is active.</param>
/// <param name="StartPos">absolute position of query 0 (causal only).</param>
/// <param name="Causal">whether query i attends only keys up to StartPos + i.</param>
public readonly record struct AttentionShape(
    int Batch, int Tokens, int KeyTokens, int Heads, int QkHeadDim, int VHeadDim, double Scale, int StartPos = 0, bool Causal = true)
{
    /// <summary>Causal self-attention over T tokens from position 0, scale Dqk^-0.5.</summary>
    public static AttentionShape SelfCausal(int batch, int tokens, int heads, int qkHeadDim, int vHeadDim)
        => new(batch, tokens, tokens, heads, qkHeadDim, vHeadDim, 1.0 / Math.Sqrt(qkHeadDim));

    /// <summary>Query/key pairs the causal rule leaves unmasked, summed over batch and heads (for FLOP counts).</summary>
    public long AttendedPairs
    {
        get
        {
            long perHead = 0;
            if (Causal)
            {
                for (var i = 0; i < Tokens; i++) { perHead += Math.Min(KeyTokens, StartPos + i + 1); }
            }
            else
            {
                perHead = (long)Tokens * KeyTokens;
            }
            return perHead * Batch * Heads;
        }
    }
}
