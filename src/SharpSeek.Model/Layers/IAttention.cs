// IAttention.cs: the attention part of a decoder block, MLA (Mla.cs) or grouped-query attention (Gqa.cs).
// Tested through TransformerTests and DenseFamilyTests.
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;

namespace SharpSeek.Model.Layers;

/// <summary>Self-attention over a (B, T, D) block of tokens at given absolute positions, causal within the block.</summary>
public interface IAttention
{
    /// <summary>x: (B, T, D) normed input; positions: I32 (B·T) absolute positions; returns (B, T, D). With a
    /// <paramref name="cache"/> (gradients off), the new rows' keys and values go into it and each row attends over its
    /// own sequence's cached positions instead of the block's rows.</summary>
    Var Forward(Tape tape, Var x, RopeTables rope, Tensor positions, IAttentionCache? cache = null);
}
