// ProfileCategory.cs: the buckets a training step's time is attributed to by the Profiler. Not here: the timing
// (Profiler.cs). Tested by ProfilerTests.
namespace SharpSeek.Tensors.Autograd;

/// <summary>Where a region of a training step spends its time. <see cref="Other"/> is everything outside the others.</summary>
public enum ProfileCategory : byte
{
    Other,
    Gemm,
    Attention,
    Routing,
    Optimizer,

    /// <summary>Low-precision data movement: FP8 and BF16 quantization, dequantization and transposes of the Linears'
    /// operands.</summary>
    Quantize,
}
