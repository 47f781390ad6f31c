// PromptFormats.cs: a --template option's value to a prompt format: r1zero, plain or chat (the model directory's chat
// template). Not here: the formats (R1ZeroPrompt.cs, PlainPrompt.cs, ChatPrompt.cs). Tested by PromptFormatTests.
using SharpSeek.Inference.Text;

namespace SharpSeek.Rl.Prompts;

/// <summary>Prompt formats by name.</summary>
public static class PromptFormats
{
    /// <summary>The names <see cref="Create"/> takes.</summary>
    public static IReadOnlyList<string> Names { get; } = ["r1zero", "plain", "chat"];

    /// <summary>The format <paramref name="name"/> names; chat reads <paramref name="modelDir"/>'s template. Throws
    /// <see cref="ArgumentException"/> listing the names for any other.</summary>
    public static IPromptFormat Create(string name, string modelDir) => name switch
    {
        "r1zero" => new R1ZeroPrompt(),
        "plain" => new PlainPrompt(),
        "chat" => new ChatPrompt(ChatTemplate.FromModelDirectory(modelDir)),
        _ => throw new ArgumentException($"--template must be one of {string.Join(", ", Names)}; got '{name}'", nameof(name)),
    };
}
