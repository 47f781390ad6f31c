// OpenAiTypes.cs: the response shapes of OpenAI's chat and completions APIs as we write them (snake_case through
// OpenAiJson.Options). Optional fields are left out when null; finish_reason, logprobs and usage are written as null.
// Not here: request parsing (RequestReader.cs). Tested by ServerRawTests and ServerSdkTests.
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SharpSeek.Server;

internal static class OpenAiJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}

internal sealed record Usage(int PromptTokens, int CompletionTokens, int TotalTokens, ReasoningDetails CompletionTokensDetails);

internal sealed record ReasoningDetails(int ReasoningTokens);

internal sealed record ChatMessageOut(string Role, string? Content, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ReasoningContent);

internal sealed record ChatChoice(int Index, ChatMessageOut Message, string FinishReason, object? Logprobs = null);

internal sealed record ChatCompletion(string Id, long Created, string Model, IReadOnlyList<ChatChoice> Choices, Usage Usage)
{
    public string Object { get; } = "chat.completion";
}

internal sealed record ChatDeltaOut(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ReasoningContent);

internal sealed record ChatChunkChoice(int Index, ChatDeltaOut Delta, string? FinishReason, object? Logprobs = null);

internal sealed record ChatCompletionChunk(string Id, long Created, string Model, IReadOnlyList<ChatChunkChoice> Choices, Usage? Usage)
{
    public string Object { get; } = "chat.completion.chunk";
}

internal sealed record TextChoice(int Index, string Text, string? FinishReason, object? Logprobs = null);

/// <summary>A chat choice's logprobs: one entry per generated token; refusal is always null (no refusals here).</summary>
internal sealed record ChatLogprobs(IReadOnlyList<ChatTokenLogprob> Content)
{
    public object? Refusal { get; }
}

/// <summary>bytes: the token's UTF-8 bytes as integers (a byte[] would be written as base64).</summary>
internal sealed record ChatTokenLogprob(string Token, double Logprob, int[] Bytes, IReadOnlyList<ChatTopLogprob> TopLogprobs);

internal sealed record ChatTopLogprob(string Token, double Logprob, int[] Bytes);

/// <summary>The legacy completions shape: parallel lists per token, top_logprobs a {token: logprob} map per token.</summary>
internal sealed record TextLogprobs(IReadOnlyList<string> Tokens, IReadOnlyList<double> TokenLogprobs,
    IReadOnlyList<Dictionary<string, double>> TopLogprobs, IReadOnlyList<int> TextOffset);

internal sealed record TextCompletion(string Id, long Created, string Model, IReadOnlyList<TextChoice> Choices, Usage? Usage)
{
    public string Object { get; } = "text_completion";
}

internal sealed record ModelCard(string Id, long Created, string OwnedBy, int MaxModelLen)
{
    public string Object { get; } = "model";
}

internal sealed record ModelList(IReadOnlyList<ModelCard> Data)
{
    public string Object { get; } = "list";
}

internal sealed record ErrorBody(string Message, string Type, string? Param, string? Code);

internal sealed record ErrorEnvelope(ErrorBody Error);
