// RenderedPrompt.cs: a prompt's text and whether it already opened the think block, which the format and language
// rewards must know (Completion.StartsInThink). Not here: rendering (the IPromptFormat implementations). Tested by
// PromptFormatTests.
namespace SharpSeek.Rl.Prompts;

/// <summary>The text to continue. <paramref name="StartsInThink"/>: the text ends inside an opened
/// <c>&lt;think&gt;</c>, so the completion begins with reasoning and holds only the closing tag.</summary>
public sealed record RenderedPrompt(string Text, bool StartsInThink);
