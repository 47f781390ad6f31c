// RmsNorm.cs: y = x·rsqrt(mean(x²) + eps)·w over the last axis (Zhang & Sennrich 2019; deepseek-ai/DeepSeek-V3:inference/model.py, RMSNorm). The latent norms q_a_layernorm/kv_a_layernorm
// use 1e-6 whatever rms_norm_eps says, as HF builds them without an eps. Forward is the op on the tape; Apply the same
// kernel without it (a cached inference step). Tested through TransformerTests and ModelRunnerTests.
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Model.Layers;

public sealed class RmsNorm
{
    /// <summary>The eps of the latent norms (HF's default argument).</summary>
    public const double LatentEps = 1e-6;

    public required Parameter Weight { get; init; }

    public required double Eps { get; init; }

    // x: (..., D) → (..., D)
    public Var Forward(Tape tape, Var x) => RmsNormOp.Apply(tape, x, Weight.Bind(tape), Eps);

    /// <summary>Tape-free: y (rows, D) = norm(x (rows, D)), rstd (rows) per row; y may be x. The op's arithmetic.</summary>
    public void Apply(ReadOnlySpan<float> x, Span<float> y, Span<float> rstd) =>
        Tensors.Kernels.RmsNorm.Forward<float>(x, Weight.Value.AsSpan<float>(), (float)Eps, y, rstd);
}
