// ScriptedEngine.cs: a deterministic IGenerationEngine for protocol tests: it decodes the prompt, asks a script for
// the reply text, and streams the reply's tokens one per update with the engine contract's rules: stop strings held
// back and cut, stop tokens, max new tokens and the context end give "length", cancellation frees the slot, a bounded
// slot count and queue throw QueueFullException, and it can be told to fail at once or after k tokens; asked for
// log-probs, every token gets scripted ones (ScriptedLogProbs). It stands in for the model engine so the wire format
// can be checked exactly; end-to-end tests swap in the real engine through the same IGenerationEngine. Linked into SharpSeek.Server.Tests. Not here: sampling (the script is the "model").
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using SharpSeek.Inference.Engine;
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Inference.Tests.Chat;

public sealed class ScriptedEngine(ByteLevelBpe tokenizer, Func<string, string> script, int maxContext = 512, int slots = 64, int queue = 64) : IGenerationEngine, IDisposable
{
    private readonly SemaphoreSlim _slots = new(slots, slots);
    private int _waiting;
    private int _running;
    private long _requests;
    private long _promptTokens;
    private long _generated;
    private long _cancelled;

    public int MaxContext => maxContext;

    /// <summary>Wait between tokens, so requests overlap and a client can leave mid-stream.</summary>
    public TimeSpan TokenDelay { get; set; }

    /// <summary>When set, every generation waits for this before its first token.</summary>
    public TaskCompletionSource? Gate { get; set; }

    /// <summary>Throw an InvalidOperationException after this many tokens (a mid-stream engine failure).</summary>
    public int? FailAfterTokens { get; set; }

    public ConcurrentQueue<GenerationRequest> Received { get; } = new();

    public int Running => Volatile.Read(ref _running);

    public long Cancelled => Interlocked.Read(ref _cancelled);

    public EngineMetrics Metrics => new()
    {
        Requests = Interlocked.Read(ref _requests),
        PromptTokens = Interlocked.Read(ref _promptTokens),
        GeneratedTokens = Interlocked.Read(ref _generated),
        Running = Running,
        Queued = Volatile.Read(ref _waiting),
        DecodeSeconds = 2.0,
        DraftedTokens = 10,
        AcceptedDraftTokens = 8,
    };

    public void Dispose() => _slots.Dispose();

    public IAsyncEnumerable<GenerationUpdate> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Prompt.Count == 0) { throw new ArgumentException("empty prompt", nameof(request)); }
        if (request.Prompt.Count >= maxContext) { throw new PromptTooLongException(request.Prompt.Count, maxContext); }
        if (Interlocked.Increment(ref _waiting) > queue + _slots.CurrentCount)
        {
            Interlocked.Decrement(ref _waiting);
            throw new QueueFullException(queue);
        }
        Received.Enqueue(request);
        return RunAsync(request, cancellationToken);
    }

    private async IAsyncEnumerable<GenerationUpdate> RunAsync(GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
            await _slots.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            Interlocked.Decrement(ref _waiting);
            Interlocked.Increment(ref _cancelled);
            throw;
        }
        Interlocked.Decrement(ref _waiting);
        Interlocked.Increment(ref _running);
        Interlocked.Increment(ref _requests);
        Interlocked.Add(ref _promptTokens, request.Prompt.Count);
        try
        {
            if (Gate is { } gate) { await gate.Task.WaitAsync(cancellationToken); }
            var reply = tokenizer.Encode(script(tokenizer.Decode([.. request.Prompt])));
            var limit = Math.Min(request.MaxNewTokens ?? int.MaxValue, maxContext - request.Prompt.Count);
            var ids = new List<int>();
            var sent = 0; // chars of the decoded reply already emitted
            for (var k = 0; k < reply.Length; k++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (TokenDelay > TimeSpan.Zero) { await Task.Delay(TokenDelay, cancellationToken); }
                if (k == FailAfterTokens) { throw new InvalidOperationException($"scripted failure after {k} tokens"); }
                if (request.StopTokens.Contains(reply[k]))
                {
                    yield return Update([], Emit(tokenizer.Decode([.. ids]), ref sent, request.StopStrings, final: true).Text, FinishReason.Stop, request, ids.Count);
                    yield break;
                }
                ids.Add(reply[k]);
                Interlocked.Increment(ref _generated);
                var (text, stopped) = Emit(tokenizer.Decode([.. ids]), ref sent, request.StopStrings, final: k == reply.Length - 1 || ids.Count >= limit);
                FinishReason? finish = stopped || k == reply.Length - 1 ? FinishReason.Stop : ids.Count >= limit ? FinishReason.Length : null;
                yield return Update([reply[k]], text, finish, request, ids.Count);
                if (finish is not null) { yield break; }
            }
            yield return Update([], "", FinishReason.Stop, request, ids.Count); // an empty script
        }
        finally
        {
            if (cancellationToken.IsCancellationRequested) { Interlocked.Increment(ref _cancelled); }
            Interlocked.Decrement(ref _running);
            _slots.Release();
        }
    }

    private GenerationUpdate Update(int[] tokens, string text, FinishReason? finish, GenerationRequest request, int completion) => new()
    {
        Tokens = tokens,
        Text = text,
        Finish = finish,
        PromptTokens = request.Prompt.Count,
        CompletionTokens = completion,
        LogProbs = request.LogProbs ? [.. tokens.Select(t => ScriptedLogProbs(t, request.TopLogProbs, tokenizer.VocabSize))] : null,
    };

    /// <summary>The scripted log-probs: token t gets −(t mod 8 + 1)/8 (exact in binary, so JSON carries it unchanged) and
    /// its k-th alternative is token t + k (mod the vocabulary) with k less, the first being t itself.</summary>
    public static TokenLogProbs ScriptedLogProbs(int token, int top, int vocab)
    {
        var logProb = -(token % 8 + 1) / 8.0;
        return new TokenLogProbs(token, logProb, Enumerable.Range(0, top).Select(k => new TokenLogProb((token + k) % vocab, logProb - k)).ToArray());
    }

    // The engine contract for text: cut at the first stop string; hold back an incomplete UTF-8 tail and any tail that
    // could still begin a stop string, unless this is the last token.
    private static (string Text, bool Stopped) Emit(string full, ref int sentRef, IReadOnlyList<string> stops, bool final)
    {
        var sent = sentRef;
        var cut = stops.Select(s => full.IndexOf(s, sent, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
        if (cut >= 0)
        {
            var text = full[sent..cut];
            sentRef = cut;
            return (text, true);
        }
        var end = full.Length;
        if (!final)
        {
            if (end > sent && full[end - 1] == '\uFFFD') { end--; }
            var visible = full[..end];
            var hold = stops.SelectMany(s => Enumerable.Range(1, s.Length - 1).Where(n => n <= visible.Length - sent && visible.EndsWith(s[..n], StringComparison.Ordinal)))
                .DefaultIfEmpty(0).Max();
            end -= hold;
        }
        var piece = full[sent..end];
        sentRef = end;
        return (piece, false);
    }
}

/// <summary>Test data shared by the chat and server tests.</summary>
public static class ChatTestData
{
    private static readonly Lazy<ByteLevelBpe> LazyTokenizer = new(() => ByteLevelBpe.Load(Path.Combine(RepoRoot(), "tests", "data", "tokenizer", "trained.tokenizer.json")));

    /// <summary>A small trained byte-level BPE with the DeepSeek special tokens (&lt;think&gt;, &lt;｜User｜&gt;, …).</summary>
    public static ByteLevelBpe Tokenizer => LazyTokenizer.Value;

    /// <summary>The text of the last user turn in a rendered DeepSeek prompt.</summary>
    public static string LastUser(string prompt)
    {
        var start = prompt.LastIndexOf(DeepSeekTokens.User, StringComparison.Ordinal) + DeepSeekTokens.User.Length;
        var end = prompt.IndexOf(DeepSeekTokens.Assistant, start, StringComparison.Ordinal);
        return prompt[start..(end < 0 ? prompt.Length : end)];
    }

    /// <summary>An R1-style reply to the last user turn: reasoning, then "&lt;/think&gt;", then the answer.</summary>
    public static string R1Reply(string prompt) => $"Let me think about {LastUser(prompt)}.</think>The answer to {LastUser(prompt)} is 42.";

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SharpSeek.slnx"))) { dir = dir.Parent; }
        return dir?.FullName ?? throw new InvalidOperationException("SharpSeek.slnx not found above the test directory");
    }
}
