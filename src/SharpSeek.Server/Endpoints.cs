// Endpoints.cs: the handlers of /v1/chat/completions, /v1/completions, /v1/models, /health and /metrics. A request
// with n choices runs n engine generations at once; streaming waits for each choice's first step before sending
// headers (so queue-full and prompt errors keep their status), then merges the choices' deltas into one SSE stream.
// A prompt text too many bytes to fit the context is refused before it is tokenized. Log-probs, when asked, cover every
// generated token in order (reasoning, think tags, stop and end-of-sequence tokens included); a stream's chunk carries
// those of the engine update it came from, even when that update's text is held back. Not here: request parsing
// (RequestReader.cs), error envelopes and auth (SharpSeekServer.cs). Tested by ServerRawTests, ServerSdkTests and
// ServerHostileTests.
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using SharpSeek.Inference.Chat;
using SharpSeek.Inference.Engine;
using SharpSeek.Inference.Text;
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Server;

internal sealed class Endpoints(IGenerationEngine engine, ByteLevelBpe tokenizer, ChatTemplate template, string modelId, int contextLength, bool speculative, ServerMetrics metrics)
{
    private readonly long _started = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private readonly int _bytesPerToken = BytesPerToken(tokenizer);
    private readonly LogProbsWire _logProbs = new(tokenizer);

    public async Task ChatAsync(HttpContext context)
    {
        var request = RequestReader.ReadChat(await RequestReader.ReadBodyAsync(context.Request, context.RequestAborted), modelId);
        var prompt = ChatPrompt.Build(template, tokenizer, request.Messages!, text => CheckBytes(text, "messages"));
        CheckLength(prompt.Ids.Length, "messages");
        var id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var choices = Choices(request, prompt.Ids, (r, ct) => ChatGeneration.StreamAsync(engine, r, prompt.StartsInReasoning, ct));
        if (request.Stream)
        {
            await StreamAsync(context, request, choices, (i, d) => new ChatCompletionChunk(id, created, modelId, [Chunk(i, d)], null),
                u => new ChatCompletionChunk(id, created, modelId, [], u));
            return;
        }
        var replies = await CollectAsync(choices, context.RequestAborted);
        var message = replies.Select((r, i) => new ChatChoice(i, new ChatMessageOut("assistant", r.Content, r.Reasoning.Length > 0 ? r.Reasoning : null),
            Finish(r.Finish)!, r.LogProbs is { } lp ? _logProbs.Chat(lp) : null)).ToList();
        await WriteJsonAsync(context, new ChatCompletion(id, created, modelId, message, Usage(replies)));
    }

    public async Task CompletionsAsync(HttpContext context)
    {
        var request = RequestReader.ReadCompletion(await RequestReader.ReadBodyAsync(context.Request, context.RequestAborted), modelId);
        if (request.PromptText is { } text) { CheckBytes(text, "prompt"); }
        var ids = request.PromptIds ?? tokenizer.Encode(request.PromptText!);
        if (ids.Length == 0) { throw ApiException.BadRequest("'prompt' encodes to no tokens; give a non-empty prompt", "prompt"); }
        foreach (var t in ids.Where(t => t >= tokenizer.VocabSize).Take(1))
        {
            throw ApiException.BadRequest($"'prompt' token id {t} is outside the vocabulary (0..{tokenizer.VocabSize - 1})", "prompt");
        }
        CheckLength(ids.Length, "prompt");
        var id = "cmpl-" + Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var choices = Choices(request, ids, (r, ct) => Plain(() => engine.GenerateAsync(r, ct), ct));
        if (request.Stream)
        {
            var offsets = new int[request.N];                                                   // text_offset runs on across a choice's chunks
            await StreamAsync(context, request, choices, (i, d) => d is null ? null : new TextCompletion(id, created, modelId,
                [new TextChoice(i, d.Content, Finish(d.Finish), d.LogProbs is { } lp ? _logProbs.Text(lp, ref offsets[i]) : null)], null),
                u => new TextCompletion(id, created, modelId, [], u));
            return;
        }
        var replies = await CollectAsync(choices, context.RequestAborted);
        var texts = replies.Select((r, i) =>
        {
            var start = 0;
            return new TextChoice(i, r.Content, Finish(r.Finish), r.LogProbs is { } lp ? _logProbs.Text(lp, ref start) : null);
        }).ToList();
        await WriteJsonAsync(context, new TextCompletion(id, created, modelId, texts, Usage(replies)));
    }

    public Task ModelsAsync(HttpContext context) =>
        WriteJsonAsync(context, new ModelList([new ModelCard(modelId, _started, "sharpseek", contextLength)]));

    public static Task HealthAsync(HttpContext context) => WriteJsonAsync(context, new { status = "ok" });

    public async Task MetricsAsync(HttpContext context)
    {
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await context.Response.WriteAsync(metrics.Render(engine.Metrics), context.RequestAborted);
    }

    internal static async Task WriteJsonAsync<T>(HttpContext context, T value, int status = StatusCodes.Status200OK)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, value, OpenAiJson.Options, context.RequestAborted);
    }

    // Every token of a byte-level BPE covers a run of the text's UTF-8 bytes, at most as many as the longest token
    // holds, so a prompt of B bytes has at least ceil(B / bytesPerToken) tokens: a prompt that cannot fit is refused
    // from its byte count alone, before tokenizing it (which grows with its length) could tie up the request.
    private void CheckBytes(string text, string param)
    {
        var bytes = Encoding.UTF8.GetByteCount(text);
        var atLeast = (bytes + (long)_bytesPerToken - 1) / _bytesPerToken;
        if (atLeast >= contextLength)
        {
            throw ApiException.BadRequest($"the prompt is {bytes} bytes of UTF-8, so at least {atLeast} tokens (one token stands for at most {_bytesPerToken} of them), "
                + $"but the context holds {contextLength} (prompt plus output); shorten the prompt", param, "context_length_exceeded");
        }
    }

    // The most input bytes one token can stand for: the longest vocabulary token's bytes, or an added token's UTF-8
    // (matched in the text as written). NFC, when the tokenizer applies it, can make text up to 3x shorter in UTF-8
    // before splitting (U+212A KELVIN SIGN, 3 bytes, becomes "K"), so the bound then allows 4x to stay clear of it.
    internal static int BytesPerToken(ByteLevelBpe tokenizer)
    {
        var bytes = new List<byte>();
        var most = 1;
        for (var id = 0; id < tokenizer.VocabSize; id++)
        {
            if (tokenizer.IdToToken(id) is null) { continue; }
            bytes.Clear();
            tokenizer.AppendTokenBytes(id, bytes);
            most = Math.Max(most, bytes.Count);
        }
        foreach (var added in tokenizer.AddedTokens) { most = Math.Max(most, Encoding.UTF8.GetByteCount(added.Content)); }
        return tokenizer.Nfc ? most * 4 : most;
    }

    private void CheckLength(int promptTokens, string param)
    {
        if (promptTokens >= contextLength)
        {
            throw ApiException.BadRequest($"the prompt has {promptTokens} tokens but the context holds {contextLength} (prompt plus output); shorten the prompt",
                param, "context_length_exceeded");
        }
    }

    // One engine request per choice; with a seed, choice i samples with seed + i so the n choices differ reproducibly.
    private Func<CancellationToken, IAsyncEnumerable<ChatDelta>>[] Choices(ParsedRequest request, int[] ids,
        Func<GenerationRequest, CancellationToken, IAsyncEnumerable<ChatDelta>> run) =>
        [.. Enumerable.Range(0, request.N).Select(i => (Func<CancellationToken, IAsyncEnumerable<ChatDelta>>)(ct => run(new GenerationRequest
        {
            Prompt = ids,
            Sampling = request.Sampling with { Seed = request.Sampling.Seed + i },
            MaxNewTokens = request.MaxTokens is { } m ? Math.Min(m, contextLength - ids.Length) : contextLength - ids.Length,
            StopStrings = request.Stop,
            Speculative = speculative,
            LogProbs = request.LogProbs,
            TopLogProbs = request.TopLogProbs,
        }, ct)))];

    // The engine call happens at the first read, as for chat, so a choice that is never read never queues a generation.
    private static async IAsyncEnumerable<ChatDelta> Plain(Func<IAsyncEnumerable<GenerationUpdate>> start, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var u in start().WithCancellation(cancellationToken))
        {
            yield return new ChatDelta("", u.Text, u.Finish, u.PromptTokens, u.CompletionTokens, 0, u.LogProbs);
        }
    }

    private ChatChunkChoice Chunk(int index, ChatDelta? d) => d switch
    {
        null => new ChatChunkChoice(index, new ChatDeltaOut("assistant", "", null), null),
        _ => new ChatChunkChoice(index, new ChatDeltaOut(null, d.Content.Length > 0 ? d.Content : null, d.Reasoning.Length > 0 ? d.Reasoning : null), Finish(d.Finish),
            d.LogProbs is { } lp ? _logProbs.Chat(lp) : null),
    };

    private static string? Finish(FinishReason? finish) => finish switch
    {
        null => null,
        FinishReason.Length => "length",
        _ => "stop",
    };

    // The prompt is counted once, as OpenAI does for n > 1; completions and reasoning tokens add up over the choices.
    private Usage Usage(ChatDelta[] finals)
    {
        var prompt = finals[0].PromptTokens;
        var completion = finals.Sum(f => f.CompletionTokens);
        metrics.Tokens(prompt, completion);
        return new Usage(prompt, completion, prompt + completion, new ReasoningDetails(finals.Sum(f => f.ReasoningTokens)));
    }

    private static async Task<ChatDelta[]> CollectAsync(Func<CancellationToken, IAsyncEnumerable<ChatDelta>>[] choices, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        return await AllOrFirstErrorAsync([.. choices.Select(c => ChatGeneration.CollectAsync(c(cts.Token)))], cts);
    }

    // Streams n choices as one SSE response: a role opener per choice, then deltas in arrival order, a finish chunk per
    // choice, the usage chunk (choices: []) when asked, and [DONE]. A failure after the headers becomes a final error event.
    private async Task StreamAsync(HttpContext context, ParsedRequest request, Func<CancellationToken, IAsyncEnumerable<ChatDelta>>[] choices,
        Func<int, ChatDelta?, object?> chunk, Func<Usage, object> usageChunk)
    {
        var aborted = context.RequestAborted;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        var streams = choices.Select(c => c(cts.Token).GetAsyncEnumerator(cts.Token)).ToArray();
        var pumps = new List<Task>();
        try
        {
            var firsts = await AllOrFirstErrorAsync([.. streams.Select(s => s.MoveNextAsync().AsTask())], cts);
            SseWriter.Start(context.Response);
            metrics.StreamOpened();
            var sse = new SseWriter(context.Response);
            try
            {
                for (var i = 0; i < streams.Length; i++)
                {
                    if (chunk(i, null) is { } opener) { await sse.WriteAsync(opener, aborted); }
                }
                var channel = Channel.CreateUnbounded<(int Index, ChatDelta Delta)>();
                pumps.AddRange(streams.Select((s, i) => PumpAsync(s, i, firsts[i], channel.Writer)));
                _ = Task.WhenAll(pumps).ContinueWith(t => channel.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);
                var finals = new ChatDelta[streams.Length];
                await foreach (var (index, delta) in channel.Reader.ReadAllAsync(aborted))
                {
                    var text = delta with { Finish = null };
                    var any = delta.Reasoning.Length + delta.Content.Length > 0 || delta.LogProbs is { Count: > 0 };
                    if (any && chunk(index, text) is { } c) { await sse.WriteAsync(c, aborted); }
                    if (delta.Finish is null) { continue; }
                    finals[index] = delta;
                    if (chunk(index, delta with { Reasoning = "", Content = "", LogProbs = null }) is { } f) { await sse.WriteAsync(f, aborted); }
                }
                if (Array.IndexOf(finals, null) is var open and >= 0) { throw new InvalidOperationException($"choice {open} ended without a finish reason"); }
                var usage = Usage(finals);
                if (request.IncludeUsage) { await sse.WriteAsync(usageChunk(usage), aborted); }
                await sse.DoneAsync(aborted);
            }
            catch (Exception e) when (!aborted.IsCancellationRequested)
            {
                var error = SharpSeekServer.ToApiException(e);
                await sse.WriteAsync(new ErrorEnvelope(new ErrorBody(error.Message, error.Type, error.Param, error.Code)), aborted);
            }
            finally
            {
                metrics.StreamClosed();
            }
        }
        finally
        {
            await cts.CancelAsync();
            foreach (var p in pumps) { await p.ContinueWith(_ => { }, TaskScheduler.Default); }
            if (pumps.Count == 0)
            {
                foreach (var s in streams) { await DisposeQuietlyAsync(s); }
            }
        }
    }

    private static async Task PumpAsync(IAsyncEnumerator<ChatDelta> stream, int index, bool hasFirst, ChannelWriter<(int, ChatDelta)> writer)
    {
        try
        {
            for (var has = hasFirst; has; has = await stream.MoveNextAsync())
            {
                await writer.WriteAsync((index, stream.Current));
            }
        }
        finally
        {
            await DisposeQuietlyAsync(stream);
        }
    }

    private static async Task DisposeQuietlyAsync(IAsyncEnumerator<ChatDelta> stream)
    {
        try
        {
            await stream.DisposeAsync();
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or NotSupportedException)
        {
            // an iterator that is still running (its MoveNext faulted) or already cancelled has nothing left to free
        }
    }

    // Awaits all tasks; on the first failure cancels the rest and rethrows that failure, not the cancellations it caused.
    private static async Task<T[]> AllOrFirstErrorAsync<T>(Task<T>[] tasks, CancellationTokenSource cts)
    {
        Exception? first = null;
        foreach (var t in tasks)
        {
            _ = t.ContinueWith(x =>
            {
                if (x.IsFaulted && Interlocked.CompareExchange(ref first, x.Exception!.InnerException!, null) is null) { cts.Cancel(); }
            }, TaskScheduler.Default);
        }
        try
        {
            return await Task.WhenAll(tasks);
        }
        catch when (Volatile.Read(ref first) is { } error)
        {
            ExceptionDispatchInfo.Throw(error);
            throw;
        }
    }
}
