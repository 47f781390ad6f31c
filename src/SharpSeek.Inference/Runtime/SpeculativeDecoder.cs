// SpeculativeDecoder.cs: generation for one sequence on a ModelRunner, as `sharpseek generate` runs it: plain decoding
// (one token per step, drawn by the same Sampler, with the same calls, as BatchEngine's, so a seed gives the same tokens
// here as through the engine behind `serve` and `chat`), or greedy MTP speculation by MtpSpeculation's protocol (draft
// t_{n+1} with the MTP block, verify [t_n, draft] in one 2-row main step, keep the draft when row 0's argmax equals it,
// else roll the main cache back one position; DeepSeek-V3 technical report §2.2 and §5.4.3). Greedy output is the same either way as long as a 2-row step rounds each
// row as a 1-row step does (the tests check it token for token; see docs/inference.md). A full context ends generation.
// Not here: batching many sequences (Engine), the sampling itself (Sampler). Tested by SpeculativeDecoderTests and
// SamplingPathsTests.
using System.Diagnostics;
using SharpSeek.Inference.Engine;
using SharpSeek.Inference.Text;

namespace SharpSeek.Inference.Runtime;

/// <summary>One-sequence generation with optional MTP drafting; counts drafted and accepted tokens.</summary>
public sealed class SpeculativeDecoder(ModelRunner runner)
{
    private readonly MtpSpeculation _mtp = new();
    private float[] _logits = [];

    /// <summary>Draft tokens proposed by the MTP block over all calls.</summary>
    public int DraftedTokens { get; private set; }

    /// <summary>Draft tokens the main model confirmed.</summary>
    public int AcceptedDraftTokens { get; private set; }

    /// <summary>Wall-clock seconds of the last <see cref="Generate"/>'s prefill step (the prompt's forward and the first
    /// pick): what a benchmark takes out to time the decode steps alone.</summary>
    public double LastPrefillSeconds { get; private set; }

    /// <summary>Up to <paramref name="maxNewTokens"/> new tokens after <paramref name="prompt"/>, ending early after
    /// <paramref name="stopId"/> or when the context is full. <paramref name="sampling"/> defaults to
    /// <see cref="SamplingParameters.Greedy"/>; speculation needs a plain argmax (temperature 0, no penalties).</summary>
    public int[] Generate(ReadOnlySpan<int> prompt, int maxNewTokens, bool speculative, SamplingParameters? sampling = null, int? stopId = null)
    {
        if (prompt.IsEmpty) { throw new ArgumentException("the prompt is empty; give at least one token", nameof(prompt)); }
        ArgumentOutOfRangeException.ThrowIfNegative(maxNewTokens);
        sampling ??= SamplingParameters.Greedy;
        var sampler = new Sampler(sampling, prompt.ToArray());
        if (speculative && !MtpSpeculation.IsExactFor(sampling))
        {
            throw new ArgumentException("MTP speculation is greedy: give temperature 0 and no penalties", nameof(sampling));
        }
        if (speculative && runner.Weights.Model.Mtp.Count == 0) { throw new InvalidOperationException("speculation needs an MTP module; the model has none"); }
        if (maxNewTokens == 0) { return []; }
        var cache = runner.Cache;
        var generated = new List<int>(maxNewTokens);
        var (next, done) = (-1, false);
        bool Emit(int token)
        {
            generated.Add(token);
            next = token;
            return done = generated.Count >= maxNewTokens || token == stopId;
        }
        TokenSink emit = (token, _) => Emit(token);
        var slot = cache.Acquire();
        try
        {
            _mtp.Reset();
            var started = Stopwatch.GetTimestamp();
            var prefill = runner.Step([new SequenceChunk(slot, prompt.ToArray())], LogitRows.Last);
            var first = Sample(sampler, prefill.LastLogits(0), generated);
            LastPrefillSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            if (speculative)
            {
                _mtp.AddPrefillHidden(prefill.HiddenRows(0));
                _mtp.Prefilled(prompt, first);
            }
            Emit(first);
            while (!done && cache.Length(slot) < cache.MaxContext)                               // a full context: stop with what we have
            {
                if (!speculative || !MtpSpeculation.CanVerify(cache, slot, maxNewTokens - generated.Count))
                {
                    var step = runner.Step([new SequenceChunk(slot, new[] { next })], LogitRows.Last);
                    var token = Sample(sampler, step.LastLogits(0), generated);
                    if (speculative) { _mtp.Stepped(token, step.Hidden(0, 0)); }
                    Emit(token);
                    continue;
                }
                _mtp.TakeDraft(runner.DraftStep([_mtp.DraftInput(slot)]).LastLogits(0));
                DraftedTokens++;
                var verify = runner.Step([_mtp.VerifyChunk(slot, next)]);
                if (_mtp.Verify(verify, 0, cache, slot, emit)) { AcceptedDraftTokens++; }
            }
            return [.. generated];
        }
        finally
        {
            cache.Release(slot);
        }
    }

    // The engine's sampling call exactly (BatchEngine.Sample): a copy of the row, penalized in place, and the ids so far.
    private int Sample(Sampler sampler, ReadOnlySpan<float> logits, List<int> generated)
    {
        if (_logits.Length != logits.Length) { _logits = new float[logits.Length]; }
        logits.CopyTo(_logits);
        return sampler.Sample(_logits, generated);
    }
}
