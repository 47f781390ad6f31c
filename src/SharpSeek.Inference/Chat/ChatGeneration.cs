// ChatGeneration.cs: runs one chat generation on an engine and splits its text into reasoning and content as it streams,
// so the server, SharpSeekChatClient and the console chat share one reading of R1 output. Not here: prompt building
// (ChatPrompt.cs), wire formats. Tested by ChatGenerationTests.
using System.Runtime.CompilerServices;
using System.Text;
using SharpSeek.Inference.Engine;
using SharpSeek.Inference.Text;

namespace SharpSeek.Inference.Chat;

public static class ChatGeneration
{
    /// <summary>Streams the engine's updates for <paramref name="request"/> as <see cref="ChatDelta"/>s. A token counts
    /// as a reasoning token when the text of its update went to reasoning only. Engine exceptions propagate unchanged.</summary>
    public static async IAsyncEnumerable<ChatDelta> StreamAsync(IGenerationEngine engine, GenerationRequest request, bool startsInReasoning,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var splitter = new ReasoningSplitter(startsInReasoning);
        var reasoningTokens = 0;
        await foreach (var update in engine.GenerateAsync(request, cancellationToken).WithCancellation(cancellationToken))
        {
            var (reasoning, content) = splitter.Push(update.Text);
            if (update.Finish is not null)
            {
                var (r, c) = splitter.Flush();
                reasoning += r;
                content += c;
            }
            if (reasoning.Length > 0 && content.Length == 0) { reasoningTokens += update.Tokens.Count; }
            yield return new ChatDelta(reasoning, content, update.Finish, update.PromptTokens, update.CompletionTokens, reasoningTokens, update.LogProbs);
        }
    }

    /// <summary>The reply as a whole: reasoning, content, finish reason and counts.</summary>
    public static Task<ChatDelta> CompleteAsync(IGenerationEngine engine, GenerationRequest request, bool startsInReasoning,
        CancellationToken cancellationToken = default) => CollectAsync(StreamAsync(engine, request, startsInReasoning, cancellationToken));

    /// <summary>Joins a stream of deltas into one: texts and log-probs concatenated, finish and counts from the last.</summary>
    public static async Task<ChatDelta> CollectAsync(IAsyncEnumerable<ChatDelta> deltas)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        var reasoning = new StringBuilder();
        var content = new StringBuilder();
        List<TokenLogProbs>? logProbs = null;
        ChatDelta? last = null;
        await foreach (var delta in deltas)
        {
            reasoning.Append(delta.Reasoning);
            content.Append(delta.Content);
            if (delta.LogProbs is { } lp) { (logProbs ??= []).AddRange(lp); }
            last = delta;
        }
        if (last?.Finish is null) { throw new InvalidOperationException("the engine ended the generation without a finish reason"); }
        return last with { Reasoning = reasoning.ToString(), Content = content.ToString(), LogProbs = logProbs };
    }
}
