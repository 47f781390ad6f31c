// ChatPrompt.cs: the one place a conversation becomes prompt ids: chat template render, tokenize, and whether the
// model's output starts inside <think> (R1's generation prompt ends with "<think>\n"). Used by the HTTP server,
// SharpSeekChatClient and the console chat. Not here: the template itself (Text/ChatTemplate.cs). Tested by
// ChatGenerationTests, SharpSeekChatClientTests, ConsoleChatTests and the server tests (ServerRawTests, ServerSdkTests).
using SharpSeek.Inference.Text;
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Inference.Chat;

/// <summary>A rendered chat prompt: its text, its token ids, and whether the reply begins in reasoning.</summary>
public sealed record ChatPrompt(string Text, int[] Ids, bool StartsInReasoning)
{
    /// <summary>Renders <paramref name="turns"/> with the generation prompt and encodes the text (special tokens
    /// written by the template become single ids). <paramref name="checkText"/>, when given, sees the rendered text
    /// before it is tokenized and may throw to refuse it (the server refuses text too long for the context there).</summary>
    public static ChatPrompt Build(ChatTemplate template, ByteLevelBpe tokenizer, IReadOnlyList<ChatTurn> turns, Action<string>? checkText = null)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (turns.Count == 0) { throw new ArgumentException("a chat needs at least one message; got none", nameof(turns)); }
        var text = template.Render(turns, addGenerationPrompt: true);
        checkText?.Invoke(text);
        return new ChatPrompt(text, tokenizer.Encode(text), template.PromptStartsInReasoning(text));
    }
}
