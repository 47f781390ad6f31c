// WeightFormat.cs: the storage of a Linear's inference view (its Projection), chosen at load: the F32 master itself,
// BF16, or E4M3 with 128×128 block scales. Tested by InferenceWeightsTests.
namespace SharpSeek.Model;

/// <summary>How the inference view of every projection matrix is held; norms, router and embedding stay F32.</summary>
public enum WeightFormat
{
    /// <summary>4 bytes per weight: the F32 master, read in place.</summary>
    F32,

    /// <summary>2 bytes per weight, widened to f32 while the GEMM packs its panels.</summary>
    BF16,

    /// <summary>E4M3 codes with one F32 scale per 128×128 block (deepseek-ai/DeepSeek-V3:README_WEIGHTS.md), dequantized while packing.</summary>
    Fp8,
}
