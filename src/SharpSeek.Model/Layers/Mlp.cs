// Mlp.cs: the SwiGLU feed-forward, down(silu(gate(x)) ⊙ up(x)) (Shazeer 2020, "GLU Variants Improve Transformer"; deepseek-ai/DeepSeek-V3:inference/model.py, MLP): the dense MLP of the first layers, each routed
// expert and the fused shared experts. Tested through TransformerTests.
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Model.Layers;

public sealed class Mlp
{
    /// <summary>gate_proj (inter, D).</summary>
    public required Parameter Gate { get; init; }

    /// <summary>up_proj (inter, D).</summary>
    public required Parameter Up { get; init; }

    /// <summary>down_proj (D, inter).</summary>
    public required Parameter Down { get; init; }

    // x: (..., D) → (..., D)
    public Var Forward(Tape tape, Var x)
    {
        var hidden = SwiGluOp.Apply(tape, Linear.Forward(tape, x, Gate), Linear.Forward(tape, x, Up)); // (..., inter)
        return Linear.Forward(tape, hidden, Down);
    }
}
