// ChatDelta.cs: one step of a chat reply after the reasoning split. Not here: the split (ChatGeneration.cs).
// Tested by ChatGenerationTests.
using SharpSeek.Inference.Engine;

namespace SharpSeek.Inference.Chat;

/// <summary>Reply text since the previous delta, split into reasoning (inside &lt;think&gt;…&lt;/think&gt;) and content;
/// the last delta has <see cref="Finish"/> set. Counts are running totals. <see cref="LogProbs"/>: the log-probs of the
/// engine update's tokens when the request asked for them (every generated token in order, reasoning and the think tags
/// included; text held back by the split comes in a later delta than its tokens' log-probs), else null.</summary>
public sealed record ChatDelta(string Reasoning, string Content, FinishReason? Finish, int PromptTokens, int CompletionTokens, int ReasoningTokens,
    IReadOnlyList<TokenLogProbs>? LogProbs = null);
