// ChatDelta.cs: one step of a chat reply after the reasoning split. Not here: the split (ChatGeneration.cs).
// Tested by ChatGenerationTests.
using SharpSeek.Inference.Engine;

namespace SharpSeek.Inference.Chat;

/// <summary>Reply text since the previous delta, split into reasoning (inside &lt;think&gt;…&lt;/think&gt;) and content;
/// the last delta has <see cref="Finish"/> set. Counts are running totals.</summary>
public sealed record ChatDelta(string Reasoning, string Content, FinishReason? Finish, int PromptTokens, int CompletionTokens, int ReasoningTokens);
