// MtpSpeculation.cs: greedy MTP speculation's draft/verify/accept/rollback protocol (DeepSeek-V3 technical report §2.2 and §5.4.3; docs/inference.md), written
// once for SpeculativeDecoder (one sequence) and BatchEngine (many, batched). Per sequence it holds the MTP block's owed
// input (tokens t_{p+1} with the main model's final hidden h_p, fed on the next draft step) and this step's draft. The
// rule: with t_n accepted but not yet fed, the MTP block drafts d = argmax of its logits for t_{n+1}; the main model runs
// [t_n, d] as one 2-row chunk; if its argmax at row 0 equals d the draft is kept and row 1's argmax is the token after it
// (two tokens for one main step), else the main cache drops d's position (the MTP cache never took d) and row 0's argmax
// is the next token. Both picks are Sampler.ArgMax, the sampler's own greedy pick, so the output equals plain greedy
// decoding as long as a 2-row step rounds each row as a 1-row step does (docs/inference.md).
// Not here: running and batching the steps, sampled decoding (speculation is exact only for a plain argmax).
// Tested by SpeculativeDecoderTests and BatchEngineTests (speculated tokens equal plain ones, alone and batched).
using System.Runtime.InteropServices;
using SharpSeek.Inference.Engine;
using SharpSeek.Inference.Text;

namespace SharpSeek.Inference.Runtime;

/// <summary>Takes a new token and the main model's logits row (V) it was picked from; returns true when the generation
/// ends at it.</summary>
internal delegate bool TokenSink(int token, ReadOnlySpan<float> logits);

/// <summary>One sequence's MTP speculation state and the protocol's steps. Not thread-safe (one per sequence).</summary>
internal sealed class MtpSpeculation
{
    private readonly List<int> _tokens = [];
    private readonly List<float> _hidden = [];

    /// <summary>This step's draft, or −1 when the next main step is a plain 1-row one.</summary>
    public int Draft { get; private set; } = -1;

    /// <summary>Whether a request's pick is a plain argmax, the only pick the verify check reproduces: temperature 0 (top-k,
    /// top-p and min-p then do nothing) and no repetition, frequency or presence penalty.</summary>
    public static bool IsExactFor(SamplingParameters p) =>
        p.Temperature == 0 && p.RepetitionPenalty == 1 && p.FrequencyPenalty == 0 && p.PresencePenalty == 0;

    /// <summary>Whether the next step should draft and verify: the slot has room for a 2-row verify and at least two
    /// tokens are still wanted. Otherwise the step is a plain one: for a last token a draft and a second verify row
    /// would be thrown away, and a plain step picks the same token (row 0's argmax) for less.</summary>
    public static bool CanVerify(KvCache cache, int slot, int remaining) => remaining > 1 && cache.Length(slot) + 2 <= cache.MaxContext;

    /// <summary>Forgets everything, for a new sequence.</summary>
    public void Reset()
    {
        _tokens.Clear();
        _hidden.Clear();
        Draft = -1;
    }

    /// <summary>The hidden rows (rows, D) of a prefill chunk; their tokens come with <see cref="Prefilled"/>.</summary>
    public void AddPrefillHidden(ReadOnlySpan<float> rows) => AppendHidden(rows);

    /// <summary>The whole prompt t_0..t_{P−1} is in the cache and <paramref name="first"/> = t_P was picked: the owed MTP
    /// rows are t_1..t_P against h_0..h_{P−1}.</summary>
    public void Prefilled(ReadOnlySpan<int> prompt, int first)
    {
        _tokens.AddRange(prompt[1..]);
        _tokens.Add(first);
    }

    /// <summary>A plain 1-row step fed t_p and picked <paramref name="token"/> = t_{p+1} from row h_p.</summary>
    public void Stepped(int token, ReadOnlySpan<float> hidden) => Pend(token, hidden);

    /// <summary>The draft step's chunk for this sequence: the owed rows.</summary>
    public DraftChunk DraftInput(int slot) => new(slot, _tokens.ToArray(), _hidden.ToArray());

    /// <summary>Takes the draft from this sequence's draft-step logits (its last row); the owed rows are in the MTP cache now.</summary>
    public void TakeDraft(ReadOnlySpan<float> draftLogits)
    {
        Draft = Sampler.ArgMax(draftLogits);
        _tokens.Clear();
        _hidden.Clear();
    }

    /// <summary>The verify chunk [t_n, d] for the main step.</summary>
    public SequenceChunk VerifyChunk(int slot, int next) =>
        Draft >= 0 ? new(slot, new[] { next, Draft }) : throw new InvalidOperationException("no draft to verify; take one first");

    /// <summary>
    /// Settles the draft against the main step's rows for the verify chunk (<paramref name="step"/> with every row's
    /// logits). <paramref name="emit"/> takes each new token in order, with the row it was picked from, and returns true
    /// when the generation ends at it: rejected, it gets row 0's argmax; accepted, it gets the draft (picked by row 0 too)
    /// and, unless that ended the generation, row 1's argmax. Returns whether the draft was accepted.
    /// </summary>
    public bool Verify(StepResult step, int chunk, KvCache cache, int slot, TokenSink emit)
    {
        var draft = Draft;
        Draft = -1;
        var check = Sampler.ArgMax(step.Logits(chunk, 0));
        if (check != draft)
        {
            cache.Truncate(slot, cache.Length(slot) - 1);                               // d's position goes; t_n's stays
            Pend(check, step.Hidden(chunk, 0));
            emit(check, step.Logits(chunk, 0));
            return false;
        }
        if (emit(draft, step.Logits(chunk, 0))) { return true; }
        var after = Sampler.ArgMax(step.Logits(chunk, 1));
        Pend(draft, step.Hidden(chunk, 0));
        Pend(after, step.Hidden(chunk, 1));
        emit(after, step.Logits(chunk, 1));
        return true;
    }

    // The MTP block's next row: token t_{p+1} with the main model's hidden state h_p.
    private void Pend(int token, ReadOnlySpan<float> hidden)
    {
        _tokens.Add(token);
        AppendHidden(hidden);
    }

    private void AppendHidden(ReadOnlySpan<float> rows)
    {
        var at = _hidden.Count;
        CollectionsMarshal.SetCount(_hidden, at + rows.Length);
        rows.CopyTo(CollectionsMarshal.AsSpan(_hidden)[at..]);
    }
}
