// WeightFormat.cs: the storage of the projection matrices in memory, chosen at load. Tested by InferenceWeightsTests.
namespace SharpSeek.Inference.Runtime;

/// <summary>How <see cref="InferenceWeights"/> holds every projection matrix; norms, router and embedding stay F32.</summary>
public enum WeightFormat
{
    /// <summary>4 bytes per weight.</summary>
    F32,

    /// <summary>2 bytes per weight, widened to f32 while the GEMM packs its panels.</summary>
    BF16,

    /// <summary>E4M3 codes with one F32 scale per 128×128 block (deepseek-ai/DeepSeek-V3:README_WEIGHTS.md), dequantized while packing.</summary>
    Fp8,
}
