// DenseInferBenchResult.cs: what `sharpseek bench infer` reports for a dense model: per (side, format, threads, batch)
// load time and resident memory (ours), prefill and decode tokens/s, and the decode roofline. Not here: the measuring
// (DenseInferBench.cs). Tested through BenchInferCommandTests (the JSON).
using System.Text.Json.Serialization;

namespace SharpSeek.Bench;

/// <summary>One row: ours (side "sharpseek", a weight format we hold) or llama.cpp's (side "llama.cpp", the type of its
/// GGUF file, batch 1). Load and memory are ours only; speeds are null when the row did not run (see why). The
/// roofline is the decode step's bytes (weights in the row's format plus the KV cache) over the copy bandwidth measured
/// around the row.</summary>
public sealed record DenseInferBenchRow
{
    [JsonPropertyName("side")] public string Side { get; init; } = "";
    [JsonPropertyName("format")] public string Format { get; init; } = "";
    [JsonPropertyName("threads")] public int Threads { get; init; }
    [JsonPropertyName("batch")] public int Batch { get; init; }

    /// <summary>Seconds InferenceWeights.Load took (checkpoint to weights in memory).</summary>
    [JsonPropertyName("load_s")] public double? LoadSeconds { get; init; }

    /// <summary>The process's resident set once the format's first row ran (every weight read once, a mapped BF16
    /// checkpoint's pages included) and after a full collection, MiB.</summary>
    [JsonPropertyName("resident_mib")] public double? ResidentMiB { get; init; }
    [JsonPropertyName("prefill_tokens_per_s")] public double? PrefillTokensPerSecond { get; init; }
    [JsonPropertyName("decode_tokens_per_s")] public double? DecodeTokensPerSecond { get; init; }
    [JsonPropertyName("weight_bytes_per_step")] public long WeightBytes { get; init; }
    [JsonPropertyName("cache_bytes_per_step")] public long CacheBytes { get; init; }
    [JsonPropertyName("copy_gbps")] public double CopyGBps { get; init; }
    [JsonPropertyName("roofline_tokens_per_s")] public double? RooflineTokensPerSecond => WeightBytes > 0 ? Batch * CopyGBps * 1e9 / (WeightBytes + CacheBytes) : null;
    [JsonPropertyName("roofline_fraction")] public double? RooflineFraction => DecodeTokensPerSecond / RooflineTokensPerSecond;

    /// <summary>Shares of a profiled decode step (ours): the projections (GEMM) and attention over the cache; the rest is
    /// norms, RoPE, residual adds, the embedding and the profiler's own cost.</summary>
    [JsonPropertyName("decode_gemm")] public double DecodeGemm { get; init; }
    [JsonPropertyName("decode_attention")] public double DecodeAttention { get; init; }

    /// <summary>llama.cpp's GGUF file.</summary>
    [JsonPropertyName("file")] public string? File { get; init; }

    /// <summary>Why this row has no figures (llama-bench failed on the file, or the runtime cannot hold the model in this
    /// format yet), else null.</summary>
    [JsonPropertyName("why")] public string? Why { get; init; }
}

/// <summary>The whole dense `sharpseek bench infer` run.</summary>
public sealed record DenseInferBenchReport
{
    [JsonPropertyName("model")] public string Model { get; init; } = "";
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = "";
    [JsonPropertyName("parameters")] public long Parameters { get; init; }
    [JsonPropertyName("prompt")] public int Prompt { get; init; }
    [JsonPropertyName("decode")] public int Decode { get; init; }
    [JsonPropertyName("copy_gbps")] public double CopyGBps { get; init; }

    /// <summary>The llama-bench executable run, or "n/a: why".</summary>
    [JsonPropertyName("llama_bench")] public string LlamaBench { get; init; } = "";
    [JsonPropertyName("results")] public IReadOnlyList<DenseInferBenchRow> Results { get; init; } = [];
}
