// Mlp.cs: the SwiGLU feed-forward, down(silu(gate(x)) ⊙ up(x)) (DeepSeek-V3 technical report §2.1.2; Llama and Qwen2 use
// the same MLP, with Llama's optional mlp_bias): the dense MLP of the first layers and of the dense families, each routed
// expert and the fused shared experts; under FP8 with the swiglu-cache recipe, one Fp8SwiGluOp (the SwiGLU inputs
// cached in FP8, the output recomputed in backward). As a block's IFeedForward it routes nothing. Forward runs the masters on the
// tape (training); Infer and Apply run the Linear views with gradients off (a cached inference step, the MoE's
// experts). Tested through TransformerTests, DenseFamilyTests, ModelRunnerTests and DenseRunnerTests.
using SharpSeek.Tensors;
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
        if (Gate.Precision == LinearPrecision.Fp8 && Gate.Fp8Recipe.CacheSwiGlu && Up.Precision == LinearPrecision.Fp8 && Down.Precision == LinearPrecision.Fp8
            && Gate.Bias is null && Up.Bias is null && Down.Bias is null && tape.Value(x).DType == DType.F32)
        {
            var recipe = Gate.Fp8Recipe with { PowerOfTwoGradient = Down.Fp8Recipe.PowerOfTwoGradient };       // a routed expert's down dY may cross in FP8
            return Fp8SwiGluOp.Apply(tape, x, Gate.Weight.Bind(tape), Up.Weight.Bind(tape), Down.Weight.Bind(tape), recipe); // SwiGLU inputs cached in FP8
        }
        var hidden = SwiGluOp.Apply(tape, Gate.Forward(tape, x), Up.Forward(tape, x)); // (..., inter)
        return Down.Forward(tape, hidden);
    }

    Var IFeedForward.Forward(Tape tape, Var x, in MoeRouting replay, out MoeRouting routing)
    {
        routing = default;
        return Forward(tape, x);
    }

    /// <summary>x: (..., D) → (..., D) through the views, gradients off.</summary>
    public Var Infer(Tape tape, Var x)
    {
        if (tape.GradEnabled) { throw new InvalidOperationException("Infer reads the inference views and computes no gradients; set tape.GradEnabled = false"); }
        var xv = tape.Value(x);
        var y = tape.Arena.Allocate(DType.F32, xv.Shape);
        Apply(xv.AsSpan<float>(), y.AsSpan<float>(), (int)xv.Shape.Rows, tape.Arena);
        return tape.Constant(y);
    }

    /// <summary>y (rows, D) += down(silu(gate(x)) ⊙ up(x)), x: (rows, D), through the views; scratch from <paramref name="scratch"/>.</summary>
    public void Apply(ReadOnlySpan<float> x, Span<float> y, int rows, Arena scratch)
    {
        ArgumentNullException.ThrowIfNull(scratch);
        var inter = Gate.View.Rows;
        var g = scratch.Allocate(DType.F32, new Shape(rows, inter)).AsSpan<float>();
        var u = scratch.Allocate(DType.F32, new Shape(rows, inter)).AsSpan<float>();
        Gate.Apply(x, g, rows);
        Up.Apply(x, u, rows);
        Tensors.Kernels.SwiGlu.Forward<float>(g, u, g);
        Down.Apply(g, y, rows, accumulate: true);
    }
}
