// LinearPrecision.cs: the GEMM inputs of a Linear's training forward and backward (DeepSeek-V3 technical report §3.3:
// BF16 baseline, FP8 recipe). Master weights and gradients stay F32 in every mode. Tested through LinearPrecisionTests.
namespace SharpSeek.Model.Layers;

/// <summary>How a Linear's three training GEMMs (Fprop, Dgrad, Wgrad) see their inputs.</summary>
public enum LinearPrecision
{
    /// <summary>F32 inputs, F32 accumulation.</summary>
    Fp32,

    /// <summary>Inputs rounded to BF16 (nearest even), F32 accumulation: the usual mixed precision.</summary>
    Bf16,

    /// <summary>DeepSeek-V3's recipe: E4M3 inputs with 1×128 / 128×128 scales, exact 128-block sums promoted to F32
    /// (Fp8LinearOp).</summary>
    Fp8,
}

/// <summary>The command-line spelling of a <see cref="LinearPrecision"/>.</summary>
public static class LinearPrecisionNames
{
    /// <summary>"fp32", "bf16" or "fp8", as --precision takes it.</summary>
    public static string OptionName(this LinearPrecision precision) => precision.ToString().ToLowerInvariant();
}
