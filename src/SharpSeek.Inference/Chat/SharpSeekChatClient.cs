// SharpSeekChatClient.cs: Microsoft.Extensions.AI's IChatClient over an in-process generation engine: ChatMessages go
// through the chat template, ChatOptions become sampling settings, R1 reasoning comes back as TextReasoningContent and
// the last streamed update carries the finish reason and a UsageContent. Thread-safe: it holds no per-call state. Not
// here: tools, response formats. Tested by SharpSeekChatClientTests.
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using SharpSeek.Inference.Engine;
using SharpSeek.Inference.Text;
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Inference.Chat;

/// <summary>An <see cref="IChatClient"/> that runs the model in this process. ChatOptions map to sampling settings
/// (Temperature, TopP, TopK, MaxOutputTokens, StopSequences, Seed, FrequencyPenalty, PresencePenalty) and
/// AdditionalProperties "min_p" and "repetition_penalty".</summary>
public sealed class SharpSeekChatClient(IGenerationEngine engine, ByteLevelBpe tokenizer, ChatTemplate template, string modelId) : IChatClient
{
    public const string MinPKey = "min_p";
    public const string RepetitionPenaltyKey = "repetition_penalty";

    private readonly ChatClientMetadata _metadata = new("sharpseek", providerUri: null, defaultModelId: modelId);

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (prompt, request) = Prepare(messages, options);
        var reply = await ChatGeneration.CompleteAsync(engine, request, prompt.StartsInReasoning, cancellationToken).ConfigureAwait(false);
        var message = new ChatMessage(ChatRole.Assistant, Contents(reply.Reasoning, reply.Content)) { MessageId = NewId() };
        return new ChatResponse(message)
        {
            ResponseId = message.MessageId,
            ModelId = modelId,
            CreatedAt = DateTimeOffset.UtcNow,
            FinishReason = Map(reply.Finish!.Value),
            Usage = Usage(reply),
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (prompt, request) = Prepare(messages, options);
        var id = NewId();
        var created = DateTimeOffset.UtcNow;
        await foreach (var delta in ChatGeneration.StreamAsync(engine, request, prompt.StartsInReasoning, cancellationToken).ConfigureAwait(false))
        {
            var contents = Contents(delta.Reasoning, delta.Content);
            if (delta.Finish is { } finish) { contents.Add(new UsageContent(Usage(delta))); }
            if (contents.Count == 0) { continue; }
            yield return new ChatResponseUpdate(ChatRole.Assistant, contents)
            {
                ResponseId = id,
                MessageId = id,
                ModelId = modelId,
                CreatedAt = created,
                FinishReason = delta.Finish is { } f ? Map(f) : null,
            };
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : serviceType.IsInstanceOfType(engine) ? engine
            : null;
    }

    public void Dispose()
    {
    }

    private (ChatPrompt Prompt, GenerationRequest Request) Prepare(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var turns = new List<ChatTurn>();
        if (options?.Instructions is { Length: > 0 } instructions) { turns.Add(new ChatTurn("system", instructions)); }
        foreach (var m in messages)
        {
            var reasoning = string.Concat(m.Contents.OfType<TextReasoningContent>().Select(c => c.Text));
            turns.Add(new ChatTurn(m.Role.Value, m.Text, reasoning.Length > 0 ? reasoning : null));
        }
        var prompt = ChatPrompt.Build(template, tokenizer, turns);
        return (prompt, new GenerationRequest
        {
            Prompt = prompt.Ids,
            Sampling = Sampling(options),
            MaxNewTokens = options?.MaxOutputTokens,
            StopStrings = options?.StopSequences is { } stops ? [.. stops] : [],
        });
    }

    /// <summary>ChatOptions as sampling settings; unset options keep <see cref="SamplingParameters"/>' defaults.</summary>
    internal static SamplingParameters Sampling(ChatOptions? options)
    {
        var s = new SamplingParameters();
        if (options is null) { return s; }
        var extra = options.AdditionalProperties;
        return s with
        {
            Temperature = options.Temperature ?? s.Temperature,
            TopP = options.TopP ?? s.TopP,
            TopK = options.TopK ?? s.TopK,
            FrequencyPenalty = options.FrequencyPenalty ?? s.FrequencyPenalty,
            PresencePenalty = options.PresencePenalty ?? s.PresencePenalty,
            Seed = options.Seed ?? s.Seed,
            MinP = extra is not null && extra.TryGetValue(MinPKey, out double minP) ? minP : s.MinP,
            RepetitionPenalty = extra is not null && extra.TryGetValue(RepetitionPenaltyKey, out double rep) ? rep : s.RepetitionPenalty,
        };
    }

    private static List<AIContent> Contents(string reasoning, string content)
    {
        var list = new List<AIContent>(2);
        if (reasoning.Length > 0) { list.Add(new TextReasoningContent(reasoning)); }
        if (content.Length > 0) { list.Add(new TextContent(content)); }
        return list;
    }

    private static UsageDetails Usage(ChatDelta d) => new()
    {
        InputTokenCount = d.PromptTokens,
        OutputTokenCount = d.CompletionTokens,
        TotalTokenCount = d.PromptTokens + d.CompletionTokens,
        ReasoningTokenCount = d.ReasoningTokens,
    };

    private static ChatFinishReason Map(FinishReason finish) => finish == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop;

    private static string NewId() => "chatcmpl-" + Guid.NewGuid().ToString("N");
}
