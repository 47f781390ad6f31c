// SpeculativeDecoder.cs: generation for one sequence on a ModelRunner: plain decoding (one token per step, any picker),
// or greedy MTP speculation (DeepSeek-V3 technical report §2.2 and §5.4.3; docs/inference.md): the MTP block drafts t_{n+1} from (t_n, h_{n−1}); the main model
// verifies [t_n, draft] in one 2-row step; the draft is kept when the main model's argmax at t_n equals it (then the
// second row gives the next token for free), else the main cache rolls back one position (the MTP cache never took the
// draft). Greedy output is the same either way as long as a 2-row step rounds each row as a 1-row step does (the tests
// check it token for token; see docs/inference.md). A full context ends generation. Not here: batching many sequences (Engine), sampling policies. Tested by SpeculativeDecoderTests.
using System.Runtime.InteropServices;

namespace SharpSeek.Inference.Runtime;

/// <summary>Picks the next token from a row of logits.</summary>
public delegate int TokenPicker(ReadOnlySpan<float> logits);

/// <summary>One-sequence generation with optional MTP drafting; counts drafted and accepted tokens.</summary>
public sealed class SpeculativeDecoder(ModelRunner runner)
{
    private readonly List<int> _pendingTokens = [];
    private readonly List<float> _pendingHidden = [];

    /// <summary>Draft tokens proposed by the MTP block over all calls.</summary>
    public int DraftedTokens { get; private set; }

    /// <summary>Draft tokens the main model confirmed.</summary>
    public int AcceptedDraftTokens { get; private set; }

    /// <summary>Up to <paramref name="maxNewTokens"/> new tokens after <paramref name="prompt"/>, ending early after
    /// <paramref name="stopId"/>. <paramref name="pick"/> defaults to argmax; speculation requires argmax.</summary>
    public int[] Generate(ReadOnlySpan<int> prompt, int maxNewTokens, bool speculative, TokenPicker? pick = null, int? stopId = null)
    {
        if (prompt.IsEmpty) { throw new ArgumentException("the prompt is empty; give at least one token", nameof(prompt)); }
        ArgumentOutOfRangeException.ThrowIfNegative(maxNewTokens);
        if (speculative && pick is not null) { throw new ArgumentException("MTP speculation here is greedy; give no picker", nameof(pick)); }
        if (speculative && runner.Weights.Mtp.Count == 0) { throw new InvalidOperationException("speculation needs an MTP module; the model has none"); }
        pick ??= ArgMax;
        if (maxNewTokens == 0) { return []; }
        var cache = runner.Cache;
        var generated = new List<int>(maxNewTokens);
        var slot = cache.Acquire();
        try
        {
            _pendingTokens.Clear();
            _pendingHidden.Clear();
            var prefill = runner.Step([new SequenceChunk(slot, prompt.ToArray())], LogitRows.Last);
            var next = pick(prefill.LastLogits(0));
            if (speculative)
            {
                _pendingTokens.AddRange(prompt[1..]);
                _pendingTokens.Add(next);
                _pendingHidden.AddRange(prefill.HiddenRows(0));
            }
            while (true)
            {
                generated.Add(next);
                if (generated.Count >= maxNewTokens || next == stopId || cache.Length(slot) >= cache.MaxContext) { break; } // context full: stop with what we have
                if (!speculative || cache.Length(slot) + 2 > cache.MaxContext)
                {
                    var step = runner.Step([new SequenceChunk(slot, new[] { next })], LogitRows.Last);
                    next = pick(step.LastLogits(0));
                    if (speculative) { Pend(next, step.Hidden(0, 0)); }
                    continue;
                }
                var draftStep = runner.DraftStep([new DraftChunk(slot, _pendingTokens.ToArray(), _pendingHidden.ToArray())]);
                var draft = ArgMax(draftStep.LastLogits(0));
                _pendingTokens.Clear();
                _pendingHidden.Clear();
                DraftedTokens++;
                var verify = runner.Step([new SequenceChunk(slot, new[] { next, draft })]);
                var check = ArgMax(verify.Logits(0, 0));
                if (check != draft)
                {
                    cache.Truncate(slot, cache.Length(slot) - 1);
                    next = check;
                    Pend(next, verify.Hidden(0, 0));
                    continue;
                }
                AcceptedDraftTokens++;
                generated.Add(draft);
                if (generated.Count >= maxNewTokens || draft == stopId) { break; }
                next = ArgMax(verify.Logits(0, 1));
                Pend(draft, verify.Hidden(0, 0));
                Pend(next, verify.Hidden(0, 1));
            }
            return [.. generated];
        }
        finally
        {
            cache.Release(slot);
        }
    }

    /// <summary>Argmax, ties to the lower id.</summary>
    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best]) { best = i; }
        }
        return best;
    }

    // The MTP block's next row: token t_{p+1} with the main model's hidden state h_p.
    private void Pend(int token, ReadOnlySpan<float> hidden)
    {
        _pendingTokens.Add(token);
        var at = _pendingHidden.Count;
        CollectionsMarshal.SetCount(_pendingHidden, at + hidden.Length);
        hidden.CopyTo(CollectionsMarshal.AsSpan(_pendingHidden)[at..]);
    }
}
