// BatchEngine.cs: the continuous-batching generation engine (iteration-level scheduling as in Orca, Yu et al. OSDI 2022; docs/inference.md). Callers enqueue into a bounded queue; one
// engine thread owns the runner and the KV cache and, each iteration: admits queued requests into free slots; runs one
// batched MTP draft step for the speculating sequences; runs ONE ragged main step holding the prefill chunks of new
// sequences (at most PrefillChunk prompt tokens each, so decodes keep flowing), 1-token decode chunks and 2-token
// [token, draft] verify chunks; then samples, takes log-probs when asked (from the step's row as the model gave it: for
// a speculated token the main model's row at its position), detokenizes, applies the stop rules and streams one update
// per sequence. A sequence admitted while another in the step is prefilling the same prompt waits for it and copies its
// cache rows and last logits (KvCache.CopyPrefix); one admitted after another has read the same prompt copies all its
// rows but the last and runs that one: k samples of one prompt, as rejection sampling, GRPO and distillation draw
// them, cost one prefill.
// A finished or cancelled sequence frees its slot at once, so a queued request takes it on the next iteration.
// Speculation is MtpSpeculation's protocol, the one SpeculativeDecoder runs, and is greedy-only (temperature 0, no
// penalties); other requests that ask for it decode normally. Sampling is the same Sampler call SpeculativeDecoder
// makes, so a seed gives the same tokens here as in `sharpseek generate`. Not here: templates, reasoning split, wire
// formats (front ends). Tested by BatchEngineTests and SamplingPathsTests.
using System.Diagnostics;
using System.Runtime.CompilerServices;
using SharpSeek.Inference.Runtime;
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Inference.Engine;

/// <summary>An <see cref="IGenerationEngine"/> over a <see cref="ModelRunner"/>; dispose to stop its thread.</summary>
public sealed class BatchEngine : IGenerationEngine, IDisposable
{
    private readonly ModelRunner _runner;
    private readonly KvCache _cache;
    private readonly bool _ownsRunner;
    private readonly ByteLevelBpe? _tokenizer;
    private readonly int? _eos;
    private readonly int _queueCapacity;
    private readonly int _prefillChunk;
    private readonly object _gate = new();
    private readonly Queue<EngineSequence> _queue = new();
    private readonly List<EngineSequence> _running = [];
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Thread _thread;
    private readonly float[] _logits;
    private volatile bool _disposed;
    private long _requests, _promptTokens, _sharedPromptTokens, _generatedTokens, _drafted, _accepted;
    private double _promptSeconds, _decodeSeconds;
    private int _runningCount;

    /// <summary>An engine over an existing runner (its cache's slots are the concurrency; its context the limit).
    /// <paramref name="tokenizer"/> null: updates carry ids only, Text is "", and stop strings are rejected.</summary>
    public BatchEngine(ModelRunner runner, ByteLevelBpe? tokenizer, int queueCapacity = 64, int prefillChunk = 256)
        : this(runner, tokenizer, queueCapacity, prefillChunk, ownsRunner: false)
    {
    }

    private BatchEngine(ModelRunner runner, ByteLevelBpe? tokenizer, int queueCapacity, int prefillChunk, bool ownsRunner)
    {
        ArgumentNullException.ThrowIfNull(runner);
        new BatchEngineOptions { QueueCapacity = queueCapacity, PrefillChunk = prefillChunk }.Validate();
        if (tokenizer is not null && tokenizer.VocabSize > runner.Weights.Config.VocabSize)
        {
            throw new ArgumentException($"the tokenizer has {tokenizer.VocabSize} tokens but the model's vocabulary holds {runner.Weights.Config.VocabSize}", nameof(tokenizer));
        }
        (_runner, _cache, _tokenizer, _ownsRunner) = (runner, runner.Cache, tokenizer, ownsRunner);
        (_queueCapacity, _prefillChunk) = (queueCapacity, prefillChunk);
        _eos = tokenizer?.EosId;
        _logits = new float[runner.Weights.Config.VocabSize];
        _thread = new Thread(Loop) { IsBackground = true, Name = "sharpseek-engine" };
        _thread.Start();
    }

    /// <summary>Loads the weights of <paramref name="modelDir"/> and, when present, its tokenizer.json.</summary>
    public static BatchEngine Load(string modelDir, BatchEngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var weights = InferenceWeights.Load(modelDir, options.Format);
        KvCache? cache = null;
        try
        {
            var context = options.MaxContext ?? weights.Config.MaxPositionEmbeddings;
            var tokenizer = File.Exists(Path.Combine(modelDir, ByteLevelBpe.TokenizerFileName)) ? ByteLevelBpe.Load(modelDir) : null;
            cache = new KvCache(weights.Config, options.MaxConcurrency, context);
            return new BatchEngine(new ModelRunner(weights, cache), tokenizer, options.QueueCapacity, options.PrefillChunk, ownsRunner: true);
        }
        catch
        {
            cache?.Dispose();
            weights.Dispose();
            throw;
        }
    }

    public int MaxContext => _cache.MaxContext;

    public int MaxConcurrency => _cache.MaxSequences;

    /// <summary>Sequences that may wait for a slot (what one <see cref="GenerateAll"/> call may queue at most).</summary>
    public int QueueCapacity => _queueCapacity;

    public ByteLevelBpe? Tokenizer => _tokenizer;

    /// <summary>Whether the model has an MTP module, which speculative requests need.</summary>
    public bool CanSpeculate => _runner.Weights.Model.Mtp.Count > 0;

    public EngineMetrics Metrics
    {
        get
        {
            lock (_gate)
            {
                return new EngineMetrics
                {
                    Requests = _requests,
                    PromptTokens = _promptTokens,
                    SharedPromptTokens = _sharedPromptTokens,
                    GeneratedTokens = _generatedTokens,
                    Running = _runningCount,
                    Queued = _queue.Count,
                    PromptSeconds = _promptSeconds,
                    DecodeSeconds = _decodeSeconds,
                    DraftedTokens = _drafted,
                    AcceptedDraftTokens = _accepted,
                    KvCacheBytesPerToken = _cache.BytesPerToken,
                    KvCacheMhaRatio = _cache.RatioToMha,
                    KvCacheCapacityBytes = _cache.CapacityBytes,
                };
            }
        }
    }

    /// <summary>Validates and queues at the call (so <see cref="QueueFullException"/> and bad requests throw here, not
    /// at the first MoveNextAsync); the returned stream yields the updates.</summary>
    public IAsyncEnumerable<GenerationUpdate> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken = default) =>
        GenerateAll([request], cancellationToken)[0];

    /// <summary>
    /// Queues every request in one go (one lock, one wake) and returns their streams in order. The engine takes them into
    /// its slots in that order at the same step, so with as many free slots as requests the batch each step runs, and with
    /// it every rounding, depends on the requests alone: seeded requests give the same tokens and log-probs on every run
    /// (GRPO's rollouts resume exactly). Throws <see cref="QueueFullException"/> when they do not all fit the queue.
    /// </summary>
    public IReadOnlyList<IAsyncEnumerable<GenerationUpdate>> GenerateAll(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (var r in requests) { Validate(r); }
        var sequences = requests.Select(r => new EngineSequence(r, _tokenizer, _eos, MaxContext) { OnCancel = Wake }).ToList();
        // Registered before the engine can see them, so its Unregister at the end always finds the registration.
        foreach (var sequence in sequences) { sequence.Registration = cancellationToken.Register(sequence.Cancel); }
        try
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);                                    // the engine drains the queue under _gate after it stops
                if (_queue.Count + sequences.Count > _queueCapacity) { DropCancelledQueued(); }
                if (_queue.Count + sequences.Count > _queueCapacity) { throw new QueueFullException(_queueCapacity); }
                foreach (var sequence in sequences)
                {
                    _queue.Enqueue(sequence);
                    _requests++;
                    _promptTokens += sequence.Prompt.Length;
                }
            }
        }
        catch
        {
            foreach (var sequence in sequences) { sequence.Registration.Dispose(); }
            throw;
        }
        Wake();
        return [.. sequences.Select(s => Stream(s, cancellationToken))];
    }

    public void Dispose()
    {
        if (_disposed) { return; }
        _disposed = true;
        Wake();
        _thread.Join();
        _wake.Dispose();
        if (_ownsRunner)
        {
            _runner.Dispose();
            _cache.Dispose();
            _runner.Weights.Dispose(); // the model Load read
        }
    }

    // Cancellations may come after Dispose; then there is nothing left to wake.
    private void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static async IAsyncEnumerable<GenerationUpdate> Stream(EngineSequence sequence, CancellationToken callerToken, [EnumeratorCancellation] CancellationToken enumeratorToken = default)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(callerToken, enumeratorToken);
        using var registration = linked.Token.Register(sequence.Cancel);
        try
        {
            await foreach (var update in sequence.Updates.Reader.ReadAllAsync(linked.Token).ConfigureAwait(false))
            {
                linked.Token.ThrowIfCancellationRequested();                                   // not the updates buffered after a cancel
                yield return update;
            }
        }
        finally
        {
            sequence.Cancel();                                                                 // a consumer that stops early frees the slot
        }
    }

    private void Validate(GenerationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Prompt, nameof(request.Prompt));
        if (request.Prompt.Count == 0) { throw new ArgumentException("the prompt is empty; give at least one token", nameof(request)); }
        if (request.Prompt.Count >= MaxContext) { throw new PromptTooLongException(request.Prompt.Count, MaxContext); }
        var vocab = _runner.Weights.Config.VocabSize;
        foreach (var ids in (ReadOnlySpan<(string, IReadOnlyList<int>)>)[("prompt", request.Prompt), ("stop", request.StopTokens)])
        {
            foreach (var id in ids.Item2)
            {
                if ((uint)id >= (uint)vocab) { throw new ArgumentOutOfRangeException(nameof(request), $"{ids.Item1} token {id} is outside the vocabulary [0, {vocab})"); }
            }
        }
        Text.Sampler.Validate(request.Sampling);
        if (request.MaxNewTokens is < 1) { throw new ArgumentOutOfRangeException(nameof(request), $"max new tokens must be at least 1; got {request.MaxNewTokens}"); }
        if (request.StopStrings.Count > 0 && _tokenizer is null)
        {
            throw new ArgumentException("stop strings need a tokenizer, and this engine has none; use stop tokens", nameof(request));
        }
        foreach (var stop in request.StopStrings)
        {
            if (string.IsNullOrEmpty(stop)) { throw new ArgumentException("stop strings must be non-empty", nameof(request)); }
        }
        if (request.TopLogProbs is < 0 or > GenerationRequest.MaxTopLogProbs || request.TopLogProbs > vocab)
        {
            throw new ArgumentOutOfRangeException(nameof(request), request.TopLogProbs, $"top_logprobs must be in [0, {Math.Min(GenerationRequest.MaxTopLogProbs, vocab)}]; got {request.TopLogProbs}");
        }
        if (request.TopLogProbs > 0 && !request.LogProbs) { throw new ArgumentException("top_logprobs needs logprobs; set LogProbs too", nameof(request)); }
        if (request.Speculative && _runner.Weights.Model.Mtp.Count == 0)
        {
            throw new ArgumentException("speculative decoding needs an MTP module; this model has none (num_nextn_predict_layers is 0)", nameof(request));
        }
    }

    private void Loop()
    {
        while (!_disposed)
        {
            Admit();
            if (_running.Count == 0)
            {
                _wake.Wait();
                continue;
            }
            try
            {
                Iterate();
            }
            catch (Exception e)
            {
                // The step itself failed: every sequence in it has a cache in an unknown state.
                foreach (var s in _running.ToArray()) { Remove(s, e); }
            }
        }
        var gone = new ObjectDisposedException(nameof(BatchEngine), "the engine was disposed before the generation finished");
        lock (_gate)
        {
            while (_queue.TryDequeue(out var queued)) { queued.Fail(gone); }
        }
        foreach (var s in _running.ToArray()) { Remove(s, gone); }
    }

    // Drops cancelled sequences, then moves queued requests into free slots.
    private void Admit()
    {
        foreach (var s in _running.ToArray())
        {
            if (s.Cancelled) { Remove(s, new OperationCanceledException("the generation was cancelled")); }
        }
        lock (_gate)
        {
            while (_queue.TryPeek(out var next) && (next.Cancelled || _running.Count < _cache.MaxSequences))
            {
                _queue.Dequeue();
                if (next.Cancelled)
                {
                    next.Fail(new OperationCanceledException("the generation was cancelled"));
                    continue;
                }
                next.Slot = _cache.Acquire();
                _running.Add(next);
            }
            _runningCount = _running.Count;
        }
    }

    // Cancelled requests still in the queue take no place in it. Called under _gate.
    private void DropCancelledQueued()
    {
        var kept = _queue.Where(s => !s.Cancelled).ToArray();
        foreach (var s in _queue.Where(s => s.Cancelled)) { s.Fail(new OperationCanceledException("the generation was cancelled")); }
        _queue.Clear();
        foreach (var s in kept) { _queue.Enqueue(s); }
    }

    private void Iterate()
    {
        // 1. One batched MTP draft for the decoding speculative sequences with room for a 2-token verify and more than one
        //    token still to make.
        var clock = Stopwatch.StartNew();
        var drafting = _running.Where(s => !s.Prefilling && s.Mtp is not null && MtpSpeculation.CanVerify(_cache, s.Slot, s.Remaining)).ToArray();
        long drafted = 0;
        if (drafting.Length > 0)
        {
            var draft = _runner.DraftStep(drafting.Select(s => s.Mtp!.DraftInput(s.Slot)).ToArray());
            for (var i = 0; i < drafting.Length; i++)
            {
                try
                {
                    drafting[i].Mtp!.TakeDraft(draft.LastLogits(i));                             // a NaN row throws: this sequence only
                    drafted++;
                }
                catch (Exception e)
                {
                    Remove(drafting[i], e);
                }
            }
        }

        // 2. One ragged main step: prefill chunks, decode tokens, [token, draft] verify pairs. A new sequence whose prompt
        //    another one in the step is prefilling sits the step out and takes that one's cache rows and last logits
        //    when it finishes; one whose prompt a running sequence has already read copies all but the prompt's last
        //    row and runs that one token (k samples of one prompt, as rejection sampling and GRPO draw them, cost one
        //    prefill).
        var (batch, sharing, copied) = Schedule();
        var chunks = new SequenceChunk[batch.Length];
        var prefillRows = 0;
        for (var i = 0; i < batch.Length; i++)
        {
            var s = batch[i];
            if (s.Prefilling)
            {
                var n = Math.Min(_prefillChunk, s.Prompt.Length - s.Prefilled);
                chunks[i] = new SequenceChunk(s.Slot, s.Prompt.AsMemory(s.Prefilled, n));
                prefillRows += n;
            }
            else
            {
                chunks[i] = s.Mtp is { Draft: >= 0 } mtp ? mtp.VerifyChunk(s.Slot, s.Next) : new SequenceChunk(s.Slot, new[] { s.Next });
            }
        }
        var step = _runner.Step(chunks, drafting.Length > 0 ? LogitRows.All : LogitRows.Last);
        var rows = chunks.Sum(c => c.Tokens.Length);
        var seconds = clock.Elapsed.TotalSeconds;
        long generated = 0, accepted = 0, shared = copied;

        // 3. Each sequence's tokens, in its own failure domain.
        for (var i = 0; i < batch.Length; i++)
        {
            var s = batch[i];
            var (before, prefilling) = (s.Generated.Count, s.Prefilling);
            try
            {
                accepted += Advance(s, step, i) ? 1 : 0;
                s.Flush();
            }
            catch (Exception e)
            {
                Remove(s, e);                                                                  // its followers prefill for themselves next step
                continue;
            }
            generated += s.Generated.Count - before;
            if (prefilling && !s.Prefilling)
            {
                foreach (var (follower, leader) in sharing)
                {
                    if (leader == s && TakePrefill(follower, s, step.LastLogits(i)) is var taken and > 0) { (generated, shared) = (generated + taken, shared + s.Prompt.Length); }
                }
            }
            if (s.Finished) { Remove(s, null); }
        }
        lock (_gate)
        {
            (_generatedTokens, _drafted, _accepted, _sharedPromptTokens) = (_generatedTokens + generated, _drafted + drafted, _accepted + accepted, _sharedPromptTokens + shared);
            _promptSeconds += seconds * prefillRows / rows;                                     // a mixed step's time is split by rows
            _decodeSeconds += seconds * (rows - prefillRows) / rows;
        }
    }

    // The sequences that run this step, in slot-admission order, the new ones that wait on a leader prefilling the same
    // prompt in it, and how many prompt tokens were copied from a running sequence that has already read the same
    // prompt (all but the last, which the new sequence then runs itself for its first logits). Speculating sequences
    // keep their own prefill: MTP needs its hidden rows.
    private (EngineSequence[] Batch, List<(EngineSequence Follower, EngineSequence Leader)> Sharing, int Copied) Schedule()
    {
        var batch = new List<EngineSequence>(_running.Count);
        var sharing = new List<(EngineSequence, EngineSequence)>();
        var copied = 0;
        foreach (var s in _running)
        {
            if (s.Prefilled == 0 && s.Mtp is null && s.Prompt.Length > 1)
            {
                if (_running.Find(o => !o.Prefilling && SamePlainPrompt(o, s)) is { } source)
                {
                    _cache.CopyPrefix(source.Slot, s.Slot, s.Prompt.Length - 1);
                    s.Prefilled = s.Prompt.Length - 1;
                    copied += s.Prefilled;
                }
                else if (batch.Find(o => o.Prefilling && SamePlainPrompt(o, s)) is { } leader)
                {
                    sharing.Add((s, leader));
                    continue;
                }
            }
            batch.Add(s);
        }
        return ([.. batch], sharing, copied);

        static bool SamePlainPrompt(EngineSequence other, EngineSequence s) => other.Mtp is null && other.Prompt.AsSpan().SequenceEqual(s.Prompt);
    }

    // A follower takes its leader's just-prefilled prompt: the cache rows, then its first token sampled with its own
    // sampler from the leader's last logits row. Returns the tokens it generated (0 when it failed).
    private int TakePrefill(EngineSequence follower, EngineSequence leader, ReadOnlySpan<float> logits)
    {
        try
        {
            _cache.CopyPrefix(leader.Slot, follower.Slot, follower.Prompt.Length);
            follower.Prefilled = follower.Prompt.Length;
            follower.Accept(Sample(follower, logits), logits);
            follower.Flush();
        }
        catch (Exception e)
        {
            Remove(follower, e);
            return 0;
        }
        if (follower.Finished) { Remove(follower, null); }
        return follower.Generated.Count;
    }

    // Takes the step's rows for one sequence; returns whether its draft was accepted.
    private bool Advance(EngineSequence s, StepResult step, int chunk)
    {
        if (s.Prefilling)
        {
            var n = step.RowCount(chunk);
            s.Mtp?.AddPrefillHidden(step.HiddenRows(chunk));
            s.Prefilled += n;
            if (s.Prefilling) { return false; }
            var first = Sample(s, step.LastLogits(chunk));
            s.Mtp?.Prefilled(s.Prompt, first);
            s.Accept(first, step.LastLogits(chunk));
            return false;
        }
        if (s.Mtp is not { Draft: >= 0 } mtp)
        {
            var next = Sample(s, step.LastLogits(chunk));
            s.Mtp?.Stepped(next, step.Hidden(chunk, 0));
            s.Accept(next, step.LastLogits(chunk));
            return false;
        }
        return mtp.Verify(step, chunk, _cache, s.Slot, s.AcceptToken);
    }

    // SpeculativeDecoder.Sample makes the same call: a copy of the row (penalties change it in place) and the ids so far;
    // the step's row itself stays as the model gave it, for the log-probs Accept computes.
    private int Sample(EngineSequence s, ReadOnlySpan<float> logits)
    {
        logits.CopyTo(_logits);
        return s.Sampler.Sample(_logits, s.Generated);
    }

    // Frees the slot; error null: finished normally (its last update is already out).
    private void Remove(EngineSequence s, Exception? error)
    {
        _running.Remove(s);
        if (s.Slot >= 0)
        {
            _cache.Release(s.Slot);
            s.Slot = -1;
        }
        if (error is not null) { s.Fail(error); }
        lock (_gate) { _runningCount = _running.Count; }
    }
}
