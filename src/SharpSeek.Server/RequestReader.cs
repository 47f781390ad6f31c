// RequestReader.cs: reads OpenAI chat and completions request bodies leniently (unknown fields are ignored, null means
// absent) and strictly where it matters: a field of the wrong type or out of range is a 400 that names the field, so
// is a string that is not Unicode text (bytes that are not UTF-8, an unpaired surrogate escape such as "\ud800"),
// and features the server does not have (tools, functions, response_format other than text) are refused rather than
// ignored. Log-probs: chat's logprobs (bool) and top_logprobs (0..20, more than 0 only with logprobs), completions'
// logprobs (an integer, 0..20 where OpenAI's legacy API allows 5). Not here: prompt building (ChatPrompt), generation.
// Tested by ServerRawTests, ServerHostileTests and ServerLogProbsTests.
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;
using SharpSeek.Inference.Engine;
using SharpSeek.Inference.Text;

namespace SharpSeek.Server;

/// <summary>What a chat or completions request asks for; exactly one of Messages, PromptText and PromptIds is set.</summary>
internal sealed record ParsedRequest(IReadOnlyList<ChatTurn>? Messages, string? PromptText, int[]? PromptIds, int N, bool Stream,
    bool IncludeUsage, SamplingParameters Sampling, int? MaxTokens, IReadOnlyList<string> Stop, bool LogProbs = false, int TopLogProbs = 0);

internal static class RequestReader
{
    public const int MaxChoices = 16;
    public const int MaxStops = 16;
    private static readonly string[] Roles = ["system", "developer", "user", "assistant", "tool"];

    public static async Task<JsonElement> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        try
        {
            using var doc = await JsonDocument.ParseAsync(request.Body, default, cancellationToken);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) { throw ApiException.BadRequest($"the request body must be a JSON object; got {doc.RootElement.ValueKind}"); }
            CheckText(doc.RootElement, "");
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"the request body is not valid JSON: {e.Message}", code: "invalid_json");
        }
    }

    public static ParsedRequest ReadChat(JsonElement root, string modelId)
    {
        CheckModel(root, modelId);
        CheckUnsupported(root);
        if (Get(root, "messages") is not { ValueKind: JsonValueKind.Array } messages || messages.GetArrayLength() == 0)
        {
            throw ApiException.BadRequest("'messages' must be a non-empty array of {role, content} objects", "messages");
        }
        var turns = new List<ChatTurn>();
        var i = 0;
        foreach (var m in messages.EnumerateArray())
        {
            var at = $"messages[{i++}]";
            if (m.ValueKind != JsonValueKind.Object) { throw ApiException.BadRequest($"'{at}' must be an object with 'role' and 'content'", at); }
            var role = Get(m, "role") is { ValueKind: JsonValueKind.String } r ? r.GetString()! : "";
            if (!Roles.Contains(role)) { throw ApiException.BadRequest($"'{at}.role' must be one of {string.Join(", ", Roles)}; got '{role}'", $"{at}.role"); }
            var reasoning = Text(Get(m, "reasoning_content") ?? Get(m, "reasoning"), $"{at}.reasoning_content");
            turns.Add(new ChatTurn(role == "developer" ? "system" : role, Text(Get(m, "content"), $"{at}.content") ?? "", reasoning));
        }
        var logProbs = Bool(root, "logprobs") ?? false;
        var top = (int)(Integer(root, "top_logprobs", 0, GenerationRequest.MaxTopLogProbs) ?? 0);
        if (top > 0 && !logProbs) { throw ApiException.BadRequest($"'top_logprobs' needs 'logprobs': true; got top_logprobs {top} without it", "top_logprobs"); }
        return Common(root, turns, null, null) with { LogProbs = logProbs, TopLogProbs = top };
    }

    public static ParsedRequest ReadCompletion(JsonElement root, string modelId)
    {
        CheckModel(root, modelId);
        CheckUnsupported(root);
        var prompt = Get(root, "prompt");
        if (prompt is { ValueKind: JsonValueKind.Array } one && one.GetArrayLength() == 1 && one[0].ValueKind != JsonValueKind.Number) { prompt = one[0]; }
        var logProbs = (int?)Integer(root, "logprobs", 0, GenerationRequest.MaxTopLogProbs);
        return prompt switch
        {
            { ValueKind: JsonValueKind.String } s => Common(root, null, s.GetString()!, null),
            { ValueKind: JsonValueKind.Array } a when a.GetArrayLength() > 0 && a.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number) =>
                Common(root, null, null, [.. a.EnumerateArray().Select(e => e.TryGetInt32(out var id) && id >= 0 ? id
                    : throw ApiException.BadRequest($"'prompt' token ids must be non-negative integers; got {Show(e)}", "prompt"))]),
            _ => throw ApiException.BadRequest("'prompt' must be a string or a non-empty array of token ids (one prompt per request)", "prompt"),
        } with { LogProbs = logProbs is not null, TopLogProbs = logProbs ?? 0 };
    }

    private static ParsedRequest Common(JsonElement root, IReadOnlyList<ChatTurn>? turns, string? text, int[]? ids)
    {
        var defaults = new SamplingParameters();
        var sampling = new SamplingParameters
        {
            Temperature = Number(root, "temperature", 0, 2) ?? defaults.Temperature,
            TopP = Number(root, "top_p", 0, 1, minExclusive: true) ?? defaults.TopP,
            TopK = (int?)Integer(root, "top_k", 0, int.MaxValue) ?? defaults.TopK,
            MinP = Number(root, "min_p", 0, 1) ?? defaults.MinP,
            FrequencyPenalty = Number(root, "frequency_penalty", -2, 2) ?? defaults.FrequencyPenalty,
            PresencePenalty = Number(root, "presence_penalty", -2, 2) ?? defaults.PresencePenalty,
            RepetitionPenalty = Number(root, "repetition_penalty", 0, 10, minExclusive: true) ?? defaults.RepetitionPenalty,
            Seed = Integer(root, "seed", long.MinValue, long.MaxValue),
        };
        var maxTokens = Integer(root, "max_completion_tokens", 1, int.MaxValue) ?? Integer(root, "max_tokens", 1, int.MaxValue);
        var n = (int)(Integer(root, "n", 1, MaxChoices) ?? 1);
        var stream = Bool(root, "stream") ?? false;
        var includeUsage = Get(root, "stream_options") is { ValueKind: JsonValueKind.Object } so && (Bool(so, "include_usage", "stream_options.include_usage") ?? false);
        return new ParsedRequest(turns, text, ids, n, stream, includeUsage, sampling, (int?)maxTokens, Stops(root));
    }

    // JSON text may hold bytes that are not UTF-8 (RFC 8259 forbids it, the parser lets it pass) and escapes of lone
    // UTF-16 surrogates; neither is text and System.Text.Json throws on reading them, so one walk over every string and
    // field name refuses them up front, naming where they are.
    private static void CheckText(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        throw ApiException.BadRequest($"a field name {(path.Length == 0 ? "of the request body" : $"in '{path}'")} is not Unicode text "
                            + "(bytes that are not UTF-8, or an unpaired surrogate escape such as \\ud800)", path.Length == 0 ? null : path, "invalid_text");
                    }
                    if (HoldsText(property.Value)) { CheckText(property.Value, path.Length == 0 ? name : $"{path}.{name}"); }
                }
                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (HoldsText(item)) { CheckText(item, $"{path}[{i}]"); }      // no path strings for a million token ids
                    i++;
                }
                break;
            case JsonValueKind.String:
                var raw = JsonMarshal.GetRawUtf8Value(element);       // as sent, quotes and escapes included
                if (!Utf8.IsValid(raw))
                {
                    var at = 0;
                    while (Rune.DecodeFromUtf8(raw[at..], out _, out var used) == System.Buffers.OperationStatus.Done) { at += used; }
                    throw ApiException.BadRequest($"'{path}' is not valid UTF-8: byte 0x{raw[at]:X2} at byte {at - 1} of the string as sent; JSON text must be UTF-8",
                        path, "invalid_text");
                }
                if (raw.Contains((byte)'\\') && !Decodes(element))
                {
                    throw ApiException.BadRequest($"'{path}' holds an unpaired UTF-16 surrogate escape (a \\uD800-\\uDFFF escape without its other half), which is not Unicode text",
                        path, "invalid_text");
                }
                break;
        }

        static bool HoldsText(JsonElement e) => e.ValueKind is JsonValueKind.Object or JsonValueKind.Array or JsonValueKind.String;

        static bool Decodes(JsonElement s)
        {
            try
            {
                s.GetString();
                return true;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }
    }

    // Tool calling and structured output change what a reply must look like, so a request for them is refused rather
    // than answered with plain text; their "off" values (an empty tools or functions array, tool_choice or
    // function_call "none" or "auto" with no tools to call, response_format of type "text") pass.
    private static void CheckUnsupported(JsonElement root)
    {
        foreach (var name in (string[])["tools", "functions"])
        {
            if (Get(root, name) is { } v && (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() > 0))
            {
                throw ApiException.Unsupported($"'{name}' is not supported yet by this server (no function calling); leave it out or send an empty array", name);
            }
        }
        foreach (var name in (string[])["tool_choice", "function_call"])
        {
            if (Get(root, name) is { } v && !(v.ValueKind == JsonValueKind.String && v.GetString() is "none" or "auto"))
            {
                throw ApiException.Unsupported($"'{name}' {Show(v)} is not supported yet by this server (no function calling); only \"none\" and \"auto\" are accepted", name);
            }
        }
        if (Get(root, "response_format") is { } format)
        {
            if (format.ValueKind != JsonValueKind.Object || Get(format, "type") is not { ValueKind: JsonValueKind.String } type)
            {
                throw ApiException.BadRequest($"'response_format' must be an object with a string 'type'; got {Show(format)}", "response_format");
            }
            if (type.GetString() != "text")
            {
                throw ApiException.Unsupported($"'response_format' of type {Show(type)} is not supported yet by this server (no structured output); leave it out or use {{\"type\": \"text\"}}",
                    "response_format");
            }
        }
    }

    // A value for an error message: its JSON, cut short so a huge value is not echoed back whole.
    private static string Show(JsonElement value)
    {
        const int Most = 64;
        var text = value.GetRawText();
        if (text.Length <= Most) { return text; }
        var cut = char.IsHighSurrogate(text[Most - 1]) ? Most - 1 : Most;
        return string.Concat(text.AsSpan(0, cut), "…");
    }

    private static void CheckModel(JsonElement root, string modelId)
    {
        if (Get(root, "model") is not { } model) { return; }
        if (model.ValueKind != JsonValueKind.String) { throw ApiException.BadRequest("'model' must be a string", "model"); }
        if (model.GetString() != modelId)
        {
            throw ApiException.NotFound($"the model '{model.GetString()}' does not exist; this server serves '{modelId}'", "model", "model_not_found");
        }
    }

    private static List<string> Stops(JsonElement root)
    {
        var stop = Get(root, "stop");
        IEnumerable<JsonElement> items = stop switch
        {
            null => [],
            { ValueKind: JsonValueKind.String } s => [s],
            { ValueKind: JsonValueKind.Array } a => a.EnumerateArray(),
            _ => throw ApiException.BadRequest("'stop' must be a string or an array of strings", "stop"),
        };
        var stops = items.Select(e => e.ValueKind == JsonValueKind.String && e.GetString() is { Length: > 0 } s ? s
            : throw ApiException.BadRequest($"'stop' entries must be non-empty strings; got {Show(e)}", "stop")).ToList();
        return stops.Count <= MaxStops ? stops : throw ApiException.BadRequest($"'stop' holds at most {MaxStops} strings; got {stops.Count}", "stop");
    }

    private static JsonElement? Get(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    // Message content: a string, or an array of parts of which the {"type": "text", "text": …} ones are joined.
    private static string? Text(JsonElement? value, string name) => value switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } s => s.GetString(),
        { ValueKind: JsonValueKind.Array } a => string.Concat(a.EnumerateArray().Select(p =>
            p.ValueKind == JsonValueKind.Object && Get(p, "type") is { ValueKind: JsonValueKind.String } type && type.GetString() == "text" && Get(p, "text") is { ValueKind: JsonValueKind.String } t ? t.GetString()
            : throw ApiException.BadRequest($"'{name}' parts must be {{\"type\": \"text\", \"text\": …}} objects; got {Show(p)}", name))),
        _ => throw ApiException.BadRequest($"'{name}' must be a string or an array of text parts", name),
    };

    private static double? Number(JsonElement root, string name, double min, double max, bool minExclusive = false)
    {
        if (Get(root, name) is not { } v) { return null; }
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var x) && (minExclusive ? x > min : x >= min) && x <= max) { return x; }
        throw ApiException.BadRequest($"'{name}' must be a number in {(minExclusive ? "(" : "[")}{min}, {max}]; got {Show(v)}", name);
    }

    private static long? Integer(JsonElement root, string name, long min, long max)
    {
        if (Get(root, name) is not { } v) { return null; }
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var x) && x >= min && x <= max) { return x; }
        var what = min == long.MinValue ? "an integer" : max >= int.MaxValue ? $"an integer of at least {min}" : $"an integer in [{min}, {max}]";
        throw ApiException.BadRequest($"'{name}' must be {what}; got {Show(v)}", name);
    }

    private static bool? Bool(JsonElement root, string name, string? param = null) => Get(root, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        var v => throw ApiException.BadRequest($"'{param ?? name}' must be true or false; got {Show(v.Value)}", param ?? name),
    };
}
