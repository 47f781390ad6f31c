// RenderedPrompt.cs: a prompt's text and whether it already opened the think block, which the format and language
// rewards must know (Completion.StartsInThink). Not here: rendering (the IPromptFormat implementations). Tested by
// PromptFormatTests.
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Rl.Prompts;

/// <summary>The text to continue. <paramref name="StartsInThink"/>: the text ends inside an opened
/// <c>&lt;think&gt;</c>, so the completion begins with reasoning and holds only the closing tag.
/// <paramref name="Templated"/>: the text carries its own start tokens (a chat template's BOS), so it is encoded as it
/// is, as the server encodes a rendered conversation.</summary>
public sealed record RenderedPrompt(string Text, bool StartsInThink, bool Templated = false)
{
    /// <summary>The prompt's ids: the text alone when templated, else as a document start
    /// (<see cref="ByteLevelBpe.EncodePrompt"/>: BOS or EOS first, as the model saw documents begin).</summary>
    public int[] Encode(ByteLevelBpe tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return Templated ? tokenizer.Encode(Text) : tokenizer.EncodePrompt(Text);
    }
}
