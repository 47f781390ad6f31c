// Mlp.cs: the SwiGLU feed-forward, down(silu(gate(x)) ⊙ up(x)) (DeepSeek-V3 technical report §2.1.2; Llama and Qwen2 use
// the same MLP, with Llama's optional mlp_bias): the dense MLP of the first layers and of the dense families, each routed
// expert and the fused shared experts. As a block's IFeedForward it routes nothing. Tested through TransformerTests and
// DenseFamilyTests.
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Model.Layers;

public sealed class Mlp : IFeedForward
{
    /// <summary>gate_proj (inter, D).</summary>
    public required Linear Gate { get; init; }

    /// <summary>up_proj (inter, D).</summary>
    public required Linear Up { get; init; }

    /// <summary>down_proj (D, inter).</summary>
    public required Linear Down { get; init; }

    // x: (..., D) → (..., D)
    public Var Forward(Tape tape, Var x)
    {
        var hidden = SwiGluOp.Apply(tape, Gate.Forward(tape, x), Up.Forward(tape, x)); // (..., inter)
        return Down.Forward(tape, hidden);
    }

    Var IFeedForward.Forward(Tape tape, Var x, in MoeRouting replay, out MoeRouting routing)
    {
        routing = default;
        return Forward(tape, x);
    }
}
