// IFeedForward.cs: the feed-forward part of a decoder block, a dense SwiGLU (Mlp.cs) or a mixture of experts (Moe.cs),
// interchangeable behind one call. Tested through TransformerTests and DenseFamilyTests.
using SharpSeek.Tensors.Autograd;

namespace SharpSeek.Model.Layers;

/// <summary>A position-wise feed-forward over a (B, T, D) block of normed tokens.</summary>
public interface IFeedForward
{
    /// <summary>
    /// x: (B, T, D) → (B, T, D). A MoE returns its <paramref name="routing"/> (scores, chosen experts, loads) and, when
    /// <paramref name="replay"/> is a routing of this layer over the same tokens, sends each token to those experts
    /// instead of choosing (routing held fixed). A dense feed-forward ignores <paramref name="replay"/> and returns
    /// <c>default</c>.
    /// </summary>
    Var Forward(Tape tape, Var x, in MoeRouting replay, out MoeRouting routing);
}
