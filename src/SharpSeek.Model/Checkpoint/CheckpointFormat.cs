// CheckpointFormat.cs: the storage choices of CheckpointWriter. Not here: which tensor gets which dtype
// (CheckpointWriter.StoredDType). Tested by CheckpointWriterTests.
namespace SharpSeek.Model.Checkpoint;

/// <summary>How <see cref="CheckpointWriter"/> stores weights.</summary>
public enum CheckpointFormat
{
    /// <summary>Every tensor F32; reloads bit-identically.</summary>
    F32,

    /// <summary>Every tensor BF16 except the router's F32 <c>e_score_correction_bias</c>.</summary>
    BF16,

    /// <summary>The release layout (deepseek-ai/DeepSeek-V3:README_WEIGHTS.md): Linear projections E4M3 with F32 128×128 <c>weight_scale_inv</c>, the
    /// correction bias F32, everything else BF16.</summary>
    Fp8,
}
