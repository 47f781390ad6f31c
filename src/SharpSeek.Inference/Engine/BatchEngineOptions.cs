// BatchEngineOptions.cs: how BatchEngine.Load builds an engine: weight format, KV slots, queue depth, context length and
// the prefill chunk. Not here: per-request settings (GenerationRequest). Tested by BatchEngineTests.
using SharpSeek.Model;

namespace SharpSeek.Inference.Engine;

/// <summary>Engine sizing. Every field has a default; <see cref="Validate"/> names the first bad one.</summary>
public sealed record BatchEngineOptions
{
    /// <summary>Weights in memory: F32, BF16 or FP8.</summary>
    public WeightFormat Format { get; init; } = WeightFormat.F32;

    /// <summary>Sequences decoding together (KV-cache slots).</summary>
    public int MaxConcurrency { get; init; } = 4;

    /// <summary>Requests waiting for a slot before <see cref="QueueFullException"/>.</summary>
    public int QueueCapacity { get; init; } = 64;

    /// <summary>Positions per sequence, prompt plus output; null: the config's max_position_embeddings.</summary>
    public int? MaxContext { get; init; }

    /// <summary>Prompt tokens of one sequence per step: a longer prompt is prefilled over several steps, so running
    /// decodes keep getting a token every step.</summary>
    public int PrefillChunk { get; init; } = 256;

    public void Validate()
    {
        if (MaxConcurrency < 1) { throw new ArgumentOutOfRangeException(nameof(MaxConcurrency), MaxConcurrency, $"max concurrency must be at least 1; got {MaxConcurrency}"); }
        if (QueueCapacity < 1) { throw new ArgumentOutOfRangeException(nameof(QueueCapacity), QueueCapacity, $"the queue capacity must be at least 1; got {QueueCapacity}"); }
        if (MaxContext is < 2) { throw new ArgumentOutOfRangeException(nameof(MaxContext), MaxContext, $"the context must hold at least 2 positions; got {MaxContext}"); }
        if (PrefillChunk < 1) { throw new ArgumentOutOfRangeException(nameof(PrefillChunk), PrefillChunk, $"the prefill chunk must be at least 1 token; got {PrefillChunk}"); }
    }
}
