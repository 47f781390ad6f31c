// IGenerationEngine.cs: the seam between the decoding engine and its front ends (the HTTP server, SharpSeekChatClient,
// `sharpseek chat`): a request of prompt ids and sampling settings goes in, a stream of token/text updates comes out.
// Implementations own the model, the KV cache and the batching; front ends own templates, reasoning split and wire
// formats. Not here: the implementation (BatchEngine), tokenization. Tested through BatchEngineTests, EngineLogProbsTests
// and, over the test double ScriptedEngine, ChatGenerationTests, SharpSeekChatClientTests, ConsoleChatTests,
// ServerRawTests and ServerLogProbsTests.
namespace SharpSeek.Inference.Engine;

/// <summary>What one generation asks for. The prompt is already templated and tokenized.</summary>
public sealed record GenerationRequest
{
    /// <summary>Prompt token ids (non-empty).</summary>
    public required IReadOnlyList<int> Prompt { get; init; }

    public SamplingParameters Sampling { get; init; } = new();

    /// <summary>New tokens at most; null: until the context is full.</summary>
    public int? MaxNewTokens { get; init; }

    /// <summary>Stop strings: generation ends before the first occurrence, which is not part of the text.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Stop token ids besides the model's end-of-sequence token; the stop token is not part of the text.</summary>
    public IReadOnlyList<int> StopTokens { get; init; } = [];

    /// <summary>Draft with the MTP module and verify with the main model (greedy output is unchanged).</summary>
    public bool Speculative { get; init; }

    /// <summary>The most alternatives <see cref="TopLogProbs"/> may ask for (OpenAI's limit for chat).</summary>
    public const int MaxTopLogProbs = 20;

    /// <summary>Give every generated token's log-probability in <see cref="GenerationUpdate.LogProbs"/>: the log-softmax
    /// of the model's logits divided by the temperature (1 for greedy), before penalties and top-k/top-p/min-p
    /// (<see cref="Text.Sampler.LogProbs"/>). With speculation, an accepted token's is the main model's at its position.</summary>
    public bool LogProbs { get; init; }

    /// <summary>Also the n most likely tokens at each position, 0..<see cref="MaxTopLogProbs"/>; more than 0 needs
    /// <see cref="LogProbs"/>.</summary>
    public int TopLogProbs { get; init; }
}

/// <summary>Sampler settings, OpenAI/llama.cpp names. Temperature 0 is greedy.</summary>
public sealed record SamplingParameters
{
    /// <summary>Temperature 0: the argmax of the logits (ties to the lower id), no draws, so no seed matters.</summary>
    public static SamplingParameters Greedy { get; } = new() { Temperature = 0 };

    public double Temperature { get; init; } = 1.0;

    /// <summary>Nucleus sampling: keep the most likely tokens whose probabilities sum to at least this (1: all).</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Keep the k most likely tokens (0: all).</summary>
    public int TopK { get; init; }

    /// <summary>Drop tokens whose probability is below min_p times the top token's (0: none).</summary>
    public double MinP { get; init; }

    /// <summary>Divide positive logits (multiply negative ones) of tokens already in prompt or output (1: off).</summary>
    public double RepetitionPenalty { get; init; } = 1.0;

    /// <summary>Subtract this times a token's count in the output so far (0: off).</summary>
    public double FrequencyPenalty { get; init; }

    /// <summary>Subtract this once from every token already in the output (0: off).</summary>
    public double PresencePenalty { get; init; }

    /// <summary>Seed of the request's own random stream; null: a fresh random seed. The same seed gives the same text.</summary>
    public long? Seed { get; init; }
}

public enum FinishReason
{
    /// <summary>End-of-sequence, a stop token or a stop string.</summary>
    Stop,

    /// <summary>Max new tokens or the end of the context.</summary>
    Length,
}

/// <summary>
/// One step of a generation: the tokens accepted since the last update and the text they complete (UTF-8 safe; text held
/// back while it could still begin a stop string comes in a later update). The last update has <see cref="Finish"/> set.
/// </summary>
public sealed record GenerationUpdate
{
    public required IReadOnlyList<int> Tokens { get; init; }

    public required string Text { get; init; }

    public FinishReason? Finish { get; init; }

    public int PromptTokens { get; init; }

    /// <summary>Tokens generated so far, this update's included.</summary>
    public int CompletionTokens { get; init; }

    /// <summary>One entry per token of <see cref="Tokens"/>, in order (stop and end-of-sequence tokens included), when
    /// the request asked for <see cref="GenerationRequest.LogProbs"/>; null otherwise.</summary>
    public IReadOnlyList<TokenLogProbs>? LogProbs { get; init; }
}

/// <summary>A token id and its log-probability under the policy at one position (<see cref="Text.Sampler.LogProbs"/>).</summary>
public readonly record struct TokenLogProb(int Token, double LogProb);

/// <summary>A generated token, its log-probability, and the <see cref="GenerationRequest.TopLogProbs"/> most likely tokens
/// at its position with theirs, most likely first (ties to the lower id). <see cref="Top"/> is a slice of one array
/// per update, so asking for alternatives adds no object per token.</summary>
public readonly record struct TokenLogProbs(int Token, double LogProb, ReadOnlyMemory<TokenLogProb> Top);

/// <summary>Counters for /metrics and the benchmarks; totals since the engine started.</summary>
public sealed record EngineMetrics
{
    public long Requests { get; init; }
    public long PromptTokens { get; init; }

    /// <summary>Prompt tokens not computed but copied from another sequence's prefill of the same prompt (k samples of
    /// one prompt cost one prefill); the prefill rate counts the others.</summary>
    public long SharedPromptTokens { get; init; }
    public long GeneratedTokens { get; init; }
    public int Running { get; init; }
    public int Queued { get; init; }
    public double PromptSeconds { get; init; }
    public double DecodeSeconds { get; init; }
    public long DraftedTokens { get; init; }
    public long AcceptedDraftTokens { get; init; }

    /// <summary>KV-cache bytes one token takes over all layers (MLA: latent plus rope key), 0 when not known.</summary>
    public long KvCacheBytesPerToken { get; init; }

    /// <summary>How many times larger an MHA cache of the same heads (H·(d_qk + d_v) per layer) would be, 0 when not known.</summary>
    public double KvCacheMhaRatio { get; init; }

    /// <summary>Native bytes the engine's KV cache holds for all its slots.</summary>
    public long KvCacheCapacityBytes { get; init; }
}

/// <summary>A generation engine; thread-safe: any number of callers may generate at once.</summary>
public interface IGenerationEngine
{
    /// <summary>Context length per sequence, prompt plus output.</summary>
    int MaxContext { get; }

    /// <summary>
    /// Queues the request and streams its updates. Throws <see cref="QueueFullException"/> at once when the queue is full
    /// and <see cref="PromptTooLongException"/> when the prompt does not fit the context. Cancelling the token stops the
    /// generation and frees its slot.
    /// </summary>
    IAsyncEnumerable<GenerationUpdate> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken = default);

    EngineMetrics Metrics { get; }
}

/// <summary>The engine's queue is full; retry later (HTTP 429).</summary>
public sealed class QueueFullException(int capacity)
    : InvalidOperationException($"the request queue is full ({capacity} waiting); retry later")
{
    public int Capacity { get; } = capacity;
}

/// <summary>The prompt leaves no room in the context (HTTP 400).</summary>
public sealed class PromptTooLongException(int promptTokens, int maxContext)
    : ArgumentException($"the prompt has {promptTokens} tokens but the context holds {maxContext}; shorten the prompt")
{
    public int PromptTokens { get; } = promptTokens;

    public int MaxContext { get; } = maxContext;
}
