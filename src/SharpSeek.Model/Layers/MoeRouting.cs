// MoeRouting.cs: what one MoE layer's forward routed, returned by the forward (a value, never kept in the layer), so
// that several forwards can be alive at once: the router scores the balance losses differentiate (DeepSeek-V3
// technical report §2.1.2, eq. 17–20), the chosen experts, and the tokens each expert received, which the bias update
// sums over a step. Not here: the losses and the bias rule (training). Tested by TransformerTests and ObjectiveTests.
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;

namespace SharpSeek.Model.Layers;

/// <summary>
/// One MoE layer's routing of N tokens: <see cref="Scores"/> (N, E) the unbiased router scores on the forward's tape,
/// <see cref="Experts"/> I32 (N, K) the chosen experts, <see cref="Load"/> I32 (E) tokens per expert; the tensors live
/// in the tape's arena, valid until it is reset. <c>default</c> for a dense feed-forward.
/// </summary>
public readonly record struct MoeRouting(int Layer, Var Scores, Tensor Experts, Tensor Load)
{
    /// <summary>False for <c>default</c> (a dense layer routes nothing).</summary>
    public bool IsRouted => Experts.IsValid;
}
