// EngineSequence.cs: one request's state inside BatchEngine: its slot, prefill progress, the token waiting to be fed,
// the MTP draft inputs, its sampler, detokenizer and stop matcher, and the channel its updates go out on. Accept applies
// the stop rules to each new token; Flush writes the step's update. Only the engine thread touches it, except Cancel.
// Not here: scheduling and the model (BatchEngine). Tested by BatchEngineTests.
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;
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
        var s = request.Sampling;
        // Speculation keeps greedy output exact only when the pick is a plain argmax: temperature 0 and no penalties.
        Speculate = request.Speculative && s.Temperature == 0 && s.RepetitionPenalty == 1 && s.FrequencyPenalty == 0 && s.PresencePenalty == 0;
    }

    public GenerationRequest Request { get; }

    public int[] Prompt { get; }

    public Sampler Sampler { get; }

    public bool Speculate { get; }

    public Channel<GenerationUpdate> Updates { get; } = Channel.CreateUnbounded<GenerationUpdate>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    public List<int> Generated { get; } = [];

    public int Slot { get; set; } = -1;

    /// <summary>Prompt tokens already in the cache.</summary>
    public int Prefilled { get; set; }

    public bool Prefilling => Prefilled < Prompt.Length;

    /// <summary>The last accepted token, not yet fed to the model.</summary>
    public int Next { get; set; }

    /// <summary>This step's MTP draft, or −1.</summary>
    public int Draft { get; set; } = -1;

    /// <summary>MTP input waiting for the next draft step: tokens t_{p+1} … and hidden rows h_p …, (rows, D).</summary>
    public List<int> PendingTokens { get; } = [];

    public List<float> PendingHidden { get; } = [];

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

    public void Pend(int token, ReadOnlySpan<float> hidden)
    {
        PendingTokens.Add(token);
        var at = PendingHidden.Count;
        CollectionsMarshal.SetCount(PendingHidden, at + hidden.Length);
        hidden.CopyTo(CollectionsMarshal.AsSpan(PendingHidden)[at..]);
    }

    /// <summary>Takes a new token; returns true when the generation is over (stop token, stop string, length).</summary>
    public bool Accept(int token)
    {
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
        });
        _stepTokens.Clear();
        _stepText.Clear();
        if (Finish is not null) { Updates.Writer.TryComplete(); }
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
