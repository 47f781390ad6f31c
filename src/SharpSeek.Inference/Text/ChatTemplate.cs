// ChatTemplate.cs: renders a conversation into the prompt text a model was trained on, from the Jinja chat_template of
// tokenizer_config.json (the subset JinjaParser reads) or our built-in DeepSeek-R1 template (DeepSeekChatTemplate).
// Not here: tokenizing the prompt (ByteLevelBpe), splitting the reply (ReasoningSplitter). Tested by ChatTemplateTests and
// ChatTemplateHfParityTests (the real DeepSeek-V3 and Qwen3 templates against @huggingface/jinja and Jinja2).
using System.Text;
using System.Text.Json;
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Inference.Text;

/// <summary>A parsed chat template. Variables: <c>messages</c> (role, content, and reasoning_content when a turn has
/// reasoning), <c>add_generation_prompt</c>, <c>bos_token</c>, <c>eos_token</c> (undefined when the tokenizer has none, as
/// transformers leaves out a null token). Thread-safe: rendering keeps no state in the template.</summary>
public sealed class ChatTemplate
{
    private readonly List<JinjaNode> _nodes;
    private readonly string _source;
    private readonly string? _bos;
    private readonly string? _eos;

    private ChatTemplate(string source, string? bosToken, string? eosToken)
    {
        _source = source;
        _nodes = JinjaParser.Parse(source);
        _bos = bosToken;
        _eos = eosToken;
    }

    /// <summary>Our DeepSeek-R1 template (<see cref="DeepSeekChatTemplate.Source"/>) with DeepSeek's BOS and EOS.</summary>
    public static ChatTemplate BuiltIn { get; } = new(DeepSeekChatTemplate.Source, DeepSeekTokens.Bos, DeepSeekTokens.Eos);

    /// <summary>The Jinja source this template was parsed from.</summary>
    public string Source => _source;

    /// <summary>The chat_template of <paramref name="modelDir"/>/tokenizer_config.json with its bos/eos tokens (a token the
    /// file leaves null stays undefined); the built-in template (with that file's bos/eos when it names them, else
    /// DeepSeek's) when the file or its chat_template is absent.</summary>
    public static ChatTemplate FromModelDirectory(string modelDir)
    {
        ArgumentNullException.ThrowIfNull(modelDir);
        var path = Path.Combine(modelDir, ByteLevelBpe.ConfigFileName);
        if (!File.Exists(path)) { return BuiltIn; }
        using var doc = ReadJson(path);
        var root = doc.RootElement;
        var source = root.TryGetProperty("chat_template", out var t) ? ByteLevelBpe.ReadChatTemplate(t, path) : null;
        // Qwen3's file has a template and bos_token null: its template must not see DeepSeek's BOS.
        var bos = TokenName(root, "bos_token") ?? (source is null ? DeepSeekTokens.Bos : null);
        var eos = TokenName(root, "eos_token") ?? (source is null ? DeepSeekTokens.Eos : null);
        try
        {
            return Parse(source ?? DeepSeekChatTemplate.Source, bos, eos);
        }
        catch (ChatTemplateException e)
        {
            throw new ChatTemplateException($"{path}: {e.Message}");
        }
    }

    /// <summary>Parses <paramref name="jinjaSource"/>; throws <see cref="ChatTemplateException"/> naming the first
    /// unsupported construct and its line and column.</summary>
    public static ChatTemplate Parse(string jinjaSource, string? bosToken, string? eosToken)
    {
        ArgumentNullException.ThrowIfNull(jinjaSource);
        return new ChatTemplate(jinjaSource, bosToken, eosToken);
    }

    /// <summary>The prompt text of <paramref name="turns"/>; with <paramref name="addGenerationPrompt"/> it ends where the
    /// assistant's reply begins.</summary>
    public string Render(IReadOnlyList<ChatTurn> turns, bool addGenerationPrompt = true)
    {
        ArgumentNullException.ThrowIfNull(turns);
        var messages = new List<object?>(turns.Count);
        foreach (var turn in turns)
        {
            var message = new Dictionary<string, object?>(StringComparer.Ordinal) { ["role"] = turn.Role, ["content"] = turn.Content };
            if (turn.Reasoning is not null) { message["reasoning_content"] = turn.Reasoning; }
            messages.Add(message);
        }
        return Render(new Dictionary<string, object?> { ["messages"] = messages, ["add_generation_prompt"] = addGenerationPrompt });
    }

    /// <summary>Renders with caller-chosen variables (e.g. <c>tools</c>; values: strings, numbers, bools, lists,
    /// string-keyed dictionaries, JsonElement); bos_token and eos_token are added, when the template has them, unless given.</summary>
    public string Render(IReadOnlyDictionary<string, object?> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        var globals = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (_bos is not null) { globals["bos_token"] = _bos; }
        if (_eos is not null) { globals["eos_token"] = _eos; }
        foreach (var (name, value) in variables) { globals[name] = JinjaValues.Import(value); }
        var output = new StringBuilder();
        JinjaNode.RenderAll(_nodes, new JinjaScope(globals, _source), output);
        return output.ToString();
    }

    /// <summary>True when <paramref name="renderedPrompt"/> ends inside a reasoning block: its last <c>&lt;think&gt;</c>
    /// comes after its last <c>&lt;/think&gt;</c> (the R1 generation prompt), so the reply starts as reasoning.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822", Justification = "an instance API, so a template with other reasoning tags can answer for itself")]
    public bool PromptStartsInReasoning(string renderedPrompt)
    {
        ArgumentNullException.ThrowIfNull(renderedPrompt);
        var open = renderedPrompt.LastIndexOf(DeepSeekTokens.Think, StringComparison.Ordinal);
        return open >= 0 && open > renderedPrompt.LastIndexOf(DeepSeekTokens.ThinkEnd, StringComparison.Ordinal);
    }

    private static JsonDocument ReadJson(string path)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message})", e);
        }
    }

    private static string? TokenName(JsonElement root, string name) =>
        !root.TryGetProperty(name, out var v) ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString()
        : v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()
        : null;
}
