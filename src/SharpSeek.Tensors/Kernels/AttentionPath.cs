// AttentionPath.cs: which attention kernel runs a call. Not here: the kernels and the rule Auto applies (Attention.cs,
// AttentionMaterialized.cs). Tested by AttentionTests.
namespace SharpSeek.Tensors.Kernels;

/// <summary>Which kernel computes <see cref="Attention"/>; both give the same results to f32 rounding.</summary>
public enum AttentionPath
{
    /// <summary><see cref="Attention.Choose"/> picks by shape: materialized for short key ranges, fused otherwise.</summary>
    Auto,

    /// <summary>FlashAttention-2 style 64×64 tiles with an online softmax; memory independent of T·Tk.</summary>
    Fused,

    /// <summary>The scores of 64 query rows against every key at once per (batch, head): fewer, larger tile products.</summary>
    Materialized,
}
