// EngineSequence.cs: one request's state inside BatchEngine: its slot, prefill progress, the token waiting to be fed,
// its MTP speculation state, its sampler, detokenizer and stop matcher, and the channel its updates go out on. Accept
// takes each new token with the logits row it was picked from (for its log-probs, when asked) and applies the stop
// rules; Flush writes the step's update. Only the engine thread touches it, except Cancel. Not here: scheduling and
// the model (BatchEngine), the speculation protocol (MtpSpeculation).
// Tested by BatchEngineTests and EngineLogProbsTests.
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;
using SharpSeek.Inference.Runtime;
using SharpSeek.Inference.Text;
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Inference.Engine;

internal sealed class EngineSequence
{
    private readonly StreamingDetokenizer? _detokenizer;
    private readonly StopMatcher _stops;
    private readonly HashSet<int> _stopTokens;
    private readonly int _maxNew;
    private readonly List<int> _stepTokens = [];
    private readonly StringBuilder _stepText = new();
    private readonly List<TokenLogProbs> _stepLogProbs = [];
    private readonly List<TokenLogProb> _stepTop = [];
    private volatile bool _cancelled;

    public EngineSequence(GenerationRequest request, ByteLevelBpe? tokenizer, int? eos, int maxContext)
    {
        Request = request;
        Prompt = [.. request.Prompt];
        Sampler = new Sampler(request.Sampling, Prompt);
        _detokenizer = tokenizer is null ? null : new StreamingDetokenizer(tokenizer, skipSpecialTokens: true);
        _stops = new StopMatcher(request.StopStrings);
        _stopTokens = [.. request.StopTokens];
        if (eos is { } e) { _stopTokens.Add(e); }
        _maxNew = Math.Min(request.MaxNewTokens ?? int.MaxValue, maxContext - Prompt.Length);
        // Speculation keeps greedy output exact only when the pick is a plain argmax: temperature 0 and no penalties.
        Mtp = request.Speculative && MtpSpeculation.IsExactFor(request.Sampling) ? new MtpSpeculation() : null;
        AcceptToken = Accept;
    }

    public GenerationRequest Request { get; }

    public int[] Prompt { get; }

    public Sampler Sampler { get; }

    /// <summary>The speculation state; null when this sequence decodes plainly.</summary>
    public MtpSpeculation? Mtp { get; }

    /// <summary><see cref="Accept"/> as one delegate for <see cref="MtpSpeculation.Verify"/>, made once.</summary>
    public TokenSink AcceptToken { get; }

    public Channel<GenerationUpdate> Updates { get; } = Channel.CreateUnbounded<GenerationUpdate>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    public List<int> Generated { get; } = [];

    /// <summary>Tokens still allowed before the length limit (max new tokens, or the context).</summary>
    public int Remaining => _maxNew - Generated.Count;

    public int Slot { get; set; } = -1;

    /// <summary>Prompt tokens already in the cache.</summary>
    public int Prefilled { get; set; }

    public bool Prefilling => Prefilled < Prompt.Length;

    /// <summary>The last accepted token, not yet fed to the model.</summary>
    public int Next { get; set; }

    public bool Cancelled => _cancelled;

    public bool Finished { get; private set; }

    public CancellationTokenRegistration Registration { get; set; }

    public Action? OnCancel { get; set; }

    public void Cancel()
    {
        if (_cancelled) { return; }
        _cancelled = true;
        OnCancel?.Invoke();
    }

    /// <summary>Takes a new token and the logits row (V) it was picked from; returns true when the generation is over
    /// (stop token, stop string, length).</summary>
    public bool Accept(int token, ReadOnlySpan<float> logits)
    {
        if (Request.LogProbs)
        {
            // The alternatives go straight into the step's list; Flush cuts them into one array for the update.
            var (at, n) = (_stepTop.Count, Request.TopLogProbs);
            CollectionsMarshal.SetCount(_stepTop, at + n);
            var logProb = Sampler.LogProbs(logits, token, CollectionsMarshal.AsSpan(_stepTop).Slice(at, n));
            _stepLogProbs.Add(new TokenLogProbs(token, logProb, default));
        }
        Generated.Add(token);
        _stepTokens.Add(token);
        Next = token;
        if (_stopTokens.Contains(token)) { return End(FinishReason.Stop, flushText: true); }
        if (_detokenizer is not null)
        {
            var (emit, stopped) = _stops.Push(_detokenizer.Push(token));
            _stepText.Append(emit);
            if (stopped) { return End(FinishReason.Stop, flushText: false); }
        }
        return Generated.Count >= _maxNew && End(FinishReason.Length, flushText: true);
    }

    /// <summary>Writes the update of this step's tokens, if there are any or the generation is over.</summary>
    public void Flush()
    {
        if (_stepTokens.Count == 0 && Finish is null) { return; }
        Updates.Writer.TryWrite(new GenerationUpdate
        {
            Tokens = [.. _stepTokens],
            Text = _stepText.ToString(),
            Finish = Finish,
            PromptTokens = Prompt.Length,
            CompletionTokens = Generated.Count,
            LogProbs = Request.LogProbs ? StepLogProbs() : null,
        });
        _stepTokens.Clear();
        _stepText.Clear();
        if (Finish is not null) { Updates.Writer.TryComplete(); }
    }

    private TokenLogProbs[] StepLogProbs()
    {
        var (top, n) = (_stepTop.ToArray(), Request.TopLogProbs);
        var entries = new TokenLogProbs[_stepLogProbs.Count];
        for (var i = 0; i < entries.Length; i++) { entries[i] = _stepLogProbs[i] with { Top = top.AsMemory(i * n, n) }; }
        _stepLogProbs.Clear();
        _stepTop.Clear();
        return entries;
    }

    public FinishReason? Finish { get; private set; }

    /// <summary>Ends the stream with an exception (cancelled, failed, disposed).</summary>
    public void Fail(Exception error)
    {
        Finished = true;
        Updates.Writer.TryComplete(error);
        Registration.Unregister();
    }

    private bool End(FinishReason reason, bool flushText)
    {
        if (flushText && _detokenizer is not null)
        {
            var (emit, stopped) = _stops.Push(_detokenizer.Flush());
            _stepText.Append(emit);
            if (!stopped) { _stepText.Append(_stops.Flush()); }
            else { reason = FinishReason.Stop; }
        }
        Finish = reason;
        Finished = true;
        Registration.Unregister();
        return true;
    }
}
