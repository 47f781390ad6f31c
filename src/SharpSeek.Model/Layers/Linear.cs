// Linear.cs: y = x·Wᵀ with W in the checkpoint's (out, in) layout; no bias anywhere in DeepSeek-V3 (deepseek-ai/DeepSeek-V3:inference/model.py, Linear).
// Tested through MlaTests and TransformerTests.
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Model.Layers;

public static class Linear
{
    /// <summary>x: (..., in), weight: (out, in) → (..., out).</summary>
    public static Var Forward(Tape tape, Var x, Parameter weight) => MatmulOp.Apply(tape, x, weight.Bind(tape), transposeB: true);
}
