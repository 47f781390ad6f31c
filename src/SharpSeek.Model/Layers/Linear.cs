// Linear.cs: y = x·Wᵀ (+ b) with W in the checkpoint's (out, in) layout. A Linear owns its weight and its optional bias
// (Qwen2's q/k/v projections, Llama's attention_bias and mlp_bias); DeepSeek-V3 has no bias anywhere (technical report
// §2; `deepseek-ai/DeepSeek-V3:inference/model.py`, Linear with bias=False). Not here: the low-precision inference views
// (Inference/Runtime/InferenceWeights.cs builds them today). Tested through MlaTests, DenseFamilyTests and TransformerTests.
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Model.Layers;

public sealed class Linear
{
    /// <summary>The weight (out, in).</summary>
    public required Parameter Weight { get; init; }

    /// <summary>The bias (out), or null.</summary>
    public Parameter? Bias { get; init; }

    /// <summary>x: (..., in) → (..., out).</summary>
    public Var Forward(Tape tape, Var x) => Apply(tape, x, Weight, Bias);

    /// <summary>x: (..., in), weight: (out, in), bias: (out) or null → (..., out).</summary>
    public static Var Apply(Tape tape, Var x, Parameter weight, Parameter? bias = null)
    {
        ArgumentNullException.ThrowIfNull(weight);
        var y = MatmulOp.Apply(tape, x, weight.Bind(tape), transposeB: true);
        return bias is null ? y : BiasAddOp.Apply(tape, y, bias.Bind(tape));
    }
}
