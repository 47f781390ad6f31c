// TrainBenchResult.cs: one side of a `sharpseek bench train` comparison for one preset: step times, tokens/s, peak
// memory and, for SharpSeek, the step profile. Not here: the measuring (TrainBench.cs). Never run in CI.
using System.Text.Json.Serialization;

namespace SharpSeek.Bench;

/// <summary>Training throughput of one preset at one shape. Fractions are of the profiled steps' wall time; PyTorch
/// results leave them at 0. Memory is the process's peak resident set (VmHWM / ru_maxrss) and its resident set before
/// the model was built; SharpSeek also gives its parameter, gradient and AdamW arenas (state) and the step arena's
/// high-water mark.</summary>
public sealed record TrainBenchResult
{
    [JsonPropertyName("preset")] public string Preset { get; init; } = "";
    [JsonPropertyName("batch")] public int Batch { get; init; }
    [JsonPropertyName("seq")] public int Seq { get; init; }
    [JsonPropertyName("threads")] public int Threads { get; init; }
    [JsonPropertyName("steps")] public int Steps { get; init; }
    [JsonPropertyName("precision")] public string Precision { get; init; } = "fp32";
    [JsonPropertyName("best_s")] public double BestSeconds { get; init; }
    [JsonPropertyName("median_s")] public double MedianSeconds { get; init; }
    [JsonPropertyName("tokens_per_s")] public double TokensPerSecond { get; init; }
    [JsonPropertyName("loss")] public double Loss { get; init; }
    [JsonPropertyName("peak_rss_mib")] public double PeakMiB { get; init; }
    [JsonPropertyName("baseline_rss_mib")] public double BaselineMiB { get; init; }
    [JsonPropertyName("state_mib")] public double StateMiB { get; init; }
    [JsonPropertyName("step_arena_mib")] public double StepArenaMiB { get; init; }
    [JsonPropertyName("gemm")] public double Gemm { get; init; }
    [JsonPropertyName("attention")] public double Attention { get; init; }
    [JsonPropertyName("routing")] public double Routing { get; init; }
    [JsonPropertyName("optimizer")] public double Optimizer { get; init; }
    [JsonPropertyName("quantize")] public double Quantize { get; init; }

    /// <summary>The share of the profiled step time outside the five categories.</summary>
    [JsonIgnore] public double Other => 1 - Gemm - Attention - Routing - Optimizer - Quantize;
}
