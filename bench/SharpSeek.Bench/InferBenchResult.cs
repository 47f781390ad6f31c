// InferBenchResult.cs: what `sharpseek bench infer` reports: per (format, batch) prefill and decode tokens/s beside
// PyTorch's, the decode roofline, and per format the MTP speculation figures with their byte bound. Not here: the measuring (InferBench.cs). Tested through
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

/// <summary>Weight bytes of the steps of MTP speculation at batch 1 (InferBench.SpeculationStepBytes): a plain 1-row
/// step, its dense path (everything but the routed experts) and routed experts (K of them), a 2-row verify (up to 2K
/// routed experts per MoE layer), and the draft step (eh_proj, the MTP decoder layer, the head) of 1 and of 2 rows.</summary>
public sealed record SpeculationBytes(
    [property: JsonPropertyName("plain_step")] long Plain,
    [property: JsonPropertyName("dense_path")] long DensePath,
    [property: JsonPropertyName("routed_per_token")] long RoutedPerToken,
    [property: JsonPropertyName("verify_step")] long Verify,
    [property: JsonPropertyName("draft_step_1_row")] long Draft1,
    [property: JsonPropertyName("draft_step_2_rows")] long Draft2);

/// <summary>Greedy decoding with and without MTP speculation over the same prompts, one weight format, batch 1.</summary>
public sealed record SpeculationResult
{
    [JsonPropertyName("format")] public string Format { get; init; } = "";
    [JsonPropertyName("prompts")] public int Prompts { get; init; }
    [JsonPropertyName("passes")] public int Passes { get; init; }
    [JsonPropertyName("new_tokens")] public int NewTokens { get; init; }
    [JsonPropertyName("drafted")] public int Drafted { get; init; }
    [JsonPropertyName("accepted")] public int Accepted { get; init; }
    [JsonPropertyName("acceptance")] public double Acceptance => Drafted == 0 ? 0 : (double)Accepted / Drafted;

    /// <summary>Tokens after the prefill's first, over the verify steps that produced them.</summary>
    [JsonPropertyName("tokens_per_main_step")] public double TokensPerMainStep { get; init; }

    /// <summary>Whole generations, prefill included.</summary>
    [JsonPropertyName("plain_s")] public double PlainSeconds { get; init; }
    [JsonPropertyName("speculative_s")] public double SpeculativeSeconds { get; init; }
    [JsonPropertyName("speedup")] public double Speedup => PlainSeconds / SpeculativeSeconds;

    /// <summary>The same generations without their prefill step: the decode steps the byte bound is about.</summary>
    [JsonPropertyName("plain_decode_s")] public double PlainDecodeSeconds { get; init; }
    [JsonPropertyName("speculative_decode_s")] public double SpeculativeDecodeSeconds { get; init; }

    /// <summary>The median over the (pass, prompt) pairs of plain ÷ speculative decode time, each pair run back to back;
    /// the range is the pairs' lowest and highest.</summary>
    [JsonPropertyName("decode_speedup")] public double DecodeSpeedup { get; init; }
    [JsonPropertyName("decode_speedup_range")] public IReadOnlyList<double> DecodeSpeedupRange { get; init; } = [];

    /// <summary>The weight bytes of each kind of step, and the decode speedup they allow (InferBench.SpeculationBound).</summary>
    [JsonPropertyName("bytes")] public SpeculationBytes? Bytes { get; init; }
    [JsonPropertyName("bound_speedup")] public double BoundSpeedup { get; init; }
    [JsonPropertyName("of_bound")] public double OfBound => DecodeSpeedup / BoundSpeedup;

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
    /// <summary>One entry per weight format with --speculative, else null.</summary>
    [JsonPropertyName("speculative")] public IReadOnlyList<SpeculationResult>? Speculative { get; init; }
}
