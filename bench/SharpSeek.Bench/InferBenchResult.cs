// InferBenchResult.cs: what `sharpseek bench infer` reports: per (format, batch) prefill and decode tokens/s beside
// PyTorch's, the decode roofline, and the MTP speculation figures. Not here: the measuring (InferBench.cs). Tested through
// BenchInferCommandTests (the JSON).
using System.Text.Json.Serialization;

namespace SharpSeek.Bench;

/// <summary>One (weight format, batch) of the inference benchmark. PyTorch figures are null when it did not run (no
/// python3/torch, --no-reference, or FP8, which the reference has no CPU path for). The roofline is the decode step's
/// bytes (weights read at the median cached length, plus each sequence's KV cache) over the copy bandwidth measured
/// around this row's timing.</summary>
public sealed record InferBenchRow
{
    [JsonPropertyName("format")] public string Format { get; init; } = "";
    [JsonPropertyName("batch")] public int Batch { get; init; }
    [JsonPropertyName("prefill_tokens_per_s")] public double PrefillTokensPerSecond { get; init; }
    [JsonPropertyName("decode_tokens_per_s")] public double DecodeTokensPerSecond { get; init; }
    [JsonPropertyName("pytorch_prefill_tokens_per_s")] public double? PyTorchPrefill { get; init; }
    [JsonPropertyName("pytorch_decode_tokens_per_s")] public double? PyTorchDecode { get; init; }
    [JsonPropertyName("prefill_ratio")] public double? PrefillRatio => PyTorchPrefill is { } p ? PrefillTokensPerSecond / p : null;
    [JsonPropertyName("decode_ratio")] public double? DecodeRatio => PyTorchDecode is { } p ? DecodeTokensPerSecond / p : null;
    [JsonPropertyName("weight_bytes_per_step")] public long WeightBytes { get; init; }
    [JsonPropertyName("cache_bytes_per_step")] public long CacheBytes { get; init; }
    /// <summary>The copy bandwidth (GB/s, read + write) measured just before this row's warm-up and just after its timed and
    /// profiled steps, averaged.</summary>
    [JsonPropertyName("copy_gbps")] public double CopyGBps { get; init; }
    [JsonPropertyName("roofline_tokens_per_s")] public double RooflineTokensPerSecond { get; init; }
    [JsonPropertyName("roofline_fraction")] public double RooflineFraction => DecodeTokensPerSecond / RooflineTokensPerSecond;

    /// <summary>Shares of a profiled decode step, as the calling thread sees it: the projections it runs (GEMM), attention
    /// over the cache (with the cache writes and RoPE), MoE routing (gate, choice, gather, combine, and its waits for the
    /// pool's workers, which run experts together at decode); the rest is norms, residual adds, the embedding and the
    /// profiler's own cost.</summary>
    [JsonPropertyName("decode_gemm")] public double DecodeGemm { get; init; }
    [JsonPropertyName("decode_attention")] public double DecodeAttention { get; init; }
    [JsonPropertyName("decode_routing")] public double DecodeRouting { get; init; }
}

/// <summary>Greedy decoding with and without MTP speculation over the same prompts (F32 weights, batch 1).</summary>
public sealed record SpeculationResult
{
    [JsonPropertyName("prompts")] public int Prompts { get; init; }
    [JsonPropertyName("new_tokens")] public int NewTokens { get; init; }
    [JsonPropertyName("drafted")] public int Drafted { get; init; }
    [JsonPropertyName("accepted")] public int Accepted { get; init; }
    [JsonPropertyName("acceptance")] public double Acceptance => Drafted == 0 ? 0 : (double)Accepted / Drafted;

    /// <summary>Tokens after the prefill's first, over the verify steps that produced them.</summary>
    [JsonPropertyName("tokens_per_main_step")] public double TokensPerMainStep { get; init; }
    [JsonPropertyName("plain_s")] public double PlainSeconds { get; init; }
    [JsonPropertyName("speculative_s")] public double SpeculativeSeconds { get; init; }
    [JsonPropertyName("speedup")] public double Speedup => PlainSeconds / SpeculativeSeconds;

    /// <summary>Whether the speculative output equals plain greedy decoding on every prompt.</summary>
    [JsonPropertyName("same_output")] public bool SameOutput { get; init; }
    [JsonPropertyName("prompt_source")] public string PromptSource { get; init; } = "";
}

/// <summary>The whole `sharpseek bench infer` run.</summary>
public sealed record InferBenchReport
{
    [JsonPropertyName("model")] public string Model { get; init; } = "";
    [JsonPropertyName("threads")] public int Threads { get; init; }
    [JsonPropertyName("prompt")] public int Prompt { get; init; }
    [JsonPropertyName("decode")] public int Decode { get; init; }
    [JsonPropertyName("copy_gbps")] public double CopyGBps { get; init; }
    [JsonPropertyName("pytorch")] public string PyTorch { get; init; } = "";
    [JsonPropertyName("results")] public IReadOnlyList<InferBenchRow> Results { get; init; } = [];
    [JsonPropertyName("speculative")] public SpeculationResult? Speculative { get; init; }
}
