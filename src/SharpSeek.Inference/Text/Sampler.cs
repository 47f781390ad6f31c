// Sampler.cs: one token from a row of logits, per request, in this order: repetition penalty (prompt + output ids) →
// frequency and presence penalties (output ids) → temperature (0: greedy argmax, ties to the lower id, nothing else
// applies) → top-k → top-p → min-p → a draw from the request's own xoshiro256** stream. Ties in logit order go to the
// lower id everywhere, so the result is a function of the logits, the parameters and the seed alone. ArgMax is the one
// argmax over logits in the repository: the greedy pick here, and MTP speculation's draft and verify check
// (MtpSpeculation), which is why speculation reproduces greedy sampling exactly.
// This sampler is the only one: `generate` (SpeculativeDecoder), the engine behind `serve`, `chat` and the IChatClient
// (BatchEngine) and the training CLI's sample completions all draw through it, so a seed gives the same tokens in each.
// LogProbs is the one place log-probs are computed (the engine's, the API's and GRPO's rollout log-probs): the policy's
// log-softmax at the request's temperature over the raw logits, in double, with the n most likely tokens picked by the
// same heap and order as top-k.
// Cost: greedy and top-p = 1 scan V once; top-k is a heap, O(V log K); top-p alone sorts only the tokens that can be in
// the nucleus (a bound on the mass of the rest, see NucleusCandidates); log-probs scan V three times (scale, max, exp).
// Not here: logit bias. Tested by SamplerTests.
using SharpSeek.Inference.Engine;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Inference.Text;

/// <summary>
/// Samples a token for one request. Penalties follow HF/llama.cpp (repetition: a seen token's positive logit is divided
/// by the penalty, a negative one multiplied) and OpenAI (logit -= frequency·count + presence·[count &gt; 0], counts over
/// the output). Then p ∝ exp(logit / T) over the survivors of top-k (the K largest logits), top-p (the most likely tokens
/// while the probability before them is below top_p; the top token always stays) and min-p (p ≥ min_p · p_max).
/// Buffers are sized at the first call and reused: no allocation per call after it. Not thread-safe (one per request).
/// </summary>
public sealed class Sampler
{
    private readonly SamplingParameters _p;
    private readonly int[] _prompt;
    private readonly Xoshiro256 _rng;
    private Candidate[] _candidates = [];
    private double[] _weights = [];
    private int[] _counts = [];
    private bool[] _seen = [];

    private readonly record struct Candidate(float Logit, int Id);

    // Descending logit, then ascending id: a total order, so any sort or heap gives the same candidates in the same order.
    // One cached delegate: Span.Sort with a struct comparer boxes it on every call.
    private static readonly Comparison<Candidate> BetterFirst = (a, b) => a.Logit != b.Logit ? b.Logit.CompareTo(a.Logit) : a.Id.CompareTo(b.Id);

    public Sampler(SamplingParameters parameters, IReadOnlyList<int> prompt)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(prompt);
        Validate(parameters);
        _p = parameters;
        _prompt = [.. prompt];
        _rng = new Xoshiro256(parameters.Seed is { } seed ? (ulong)seed : (ulong)Random.Shared.NextInt64(long.MinValue, long.MaxValue));
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first parameter (by its OpenAI/llama.cpp
    /// name) outside its range.</summary>
    public static void Validate(SamplingParameters p)
    {
        ArgumentNullException.ThrowIfNull(p);
        Check("temperature", p.Temperature, p.Temperature >= 0 && double.IsFinite(p.Temperature), "[0, ∞)");
        Check("top_p", p.TopP, p.TopP > 0 && p.TopP <= 1, "(0, 1]");
        Check("top_k", p.TopK, p.TopK >= 0, "[0, ∞) (0 keeps every token)");
        Check("min_p", p.MinP, p.MinP >= 0 && p.MinP <= 1, "[0, 1]");
        Check("repetition_penalty", p.RepetitionPenalty, p.RepetitionPenalty > 0 && double.IsFinite(p.RepetitionPenalty), "(0, ∞) (1 is off)");
        Check("frequency_penalty", p.FrequencyPenalty, p.FrequencyPenalty >= -2 && p.FrequencyPenalty <= 2, "[-2, 2]");
        Check("presence_penalty", p.PresencePenalty, p.PresencePenalty >= -2 && p.PresencePenalty <= 2, "[-2, 2]");

        static void Check(string name, double value, bool ok, string range)
        {
            if (!ok) { throw new ArgumentOutOfRangeException(name, value, $"{name} must be in {range}; got {value}"); }
        }
    }

    /// <summary>The next token. <paramref name="logits"/>: (V); penalties are applied to it in place.
    /// <paramref name="generated"/>: the ids sampled so far for this request.</summary>
    public int Sample(Span<float> logits, IReadOnlyList<int> generated)
    {
        ArgumentNullException.ThrowIfNull(generated);
        var v = logits.Length;
        if (v == 0) { throw new ArgumentException("no logits to sample from", nameof(logits)); }
        SizeBuffers(v);
        ApplyPenalties(logits, generated);
        if (_p.Temperature == 0) { return ArgMax(logits); }

        // Candidates: the top k in order, the possible nucleus in order (top-p needs the order), or all V unordered.
        int n;
        var fullMass = -1.0;
        if (_p.TopK > 0 && _p.TopK < v)
        {
            n = SelectTopK(logits, _p.TopK);
            _candidates.AsSpan(0, n).Sort(BetterFirst);
        }
        else if (_p.TopP < 1)
        {
            (n, fullMass) = NucleusCandidates(logits);
            _candidates.AsSpan(0, n).Sort(BetterFirst);
        }
        else
        {
            n = v;
            for (var i = 0; i < v; i++) { _candidates[i] = new Candidate(NotNaN(logits[i], i), i); }
        }
        var max = float.NegativeInfinity;
        for (var i = 0; i < n; i++) { max = Math.Max(max, _candidates[i].Logit); }
        if (!float.IsFinite(max)) { throw new ArgumentException($"the logits' maximum is {max}; expected a finite value", nameof(logits)); }

        // w = exp((logit - max) / T) ∝ softmax(logit / T); the top token has w = 1.
        var total = 0.0;
        for (var i = 0; i < n; i++) { total += _weights[i] = Math.Exp((_candidates[i].Logit - (double)max) / _p.Temperature); }
        if (_p.TopP < 1)
        {
            var kept = 0;
            var mass = 0.0;
            for (var limit = _p.TopP * (fullMass < 0 ? total : fullMass); kept < n && mass < limit; kept++) { mass += _weights[kept]; }
            (n, total) = (kept, mass);
        }
        if (_p.MinP > 0)
        {
            var kept = 0;
            total = 0;
            for (var i = 0; i < n; i++)
            {
                if (_weights[i] < _p.MinP) { continue; }
                (_candidates[kept], _weights[kept]) = (_candidates[i], _weights[i]);
                total += _weights[kept++];
            }
            n = kept;
        }

        var u = _rng.NextDouble() * total;
        var cumulative = 0.0;
        var last = 0;
        for (var i = 0; i < n; i++)
        {
            if (_weights[i] == 0) { continue; }
            cumulative += _weights[i];
            last = i;
            if (cumulative > u) { return _candidates[i].Id; }
        }
        return _candidates[last].Id; // rounding left u at the very top of the mass
    }

    /// <summary>
    /// The policy's log-probability of <paramref name="token"/> at this position, and in <paramref name="top"/> the
    /// top.Length most likely tokens with theirs, most likely first (ties to the lower id). The policy is the model's
    /// distribution at the request's temperature T, before anything else the sampler does:
    /// log p(i) = log softmax(logits / T)[i] = l_i / T − log Σ_j exp(l_j / T), with T = 1 for greedy (temperature 0),
    /// computed in double (l / T in double, then the stable log-sum-exp max + log Σ exp(x − max)) over the logits as
    /// the model gave them: repetition, frequency and presence penalties and top-k, top-p and min-p truncation are not
    /// applied, so a token the truncation would have excluded keeps its probability under the model. Call it with the
    /// row <see cref="Sample"/> was given a copy of; it allocates nothing after the first call. A NaN logit, or a row
    /// whose log-sum-exp is not finite (all −∞, or +∞), throws <see cref="ArgumentException"/>.
    /// </summary>
    public double LogProbs(ReadOnlySpan<float> logits, int token, Span<TokenLogProb> top)
    {
        var v = logits.Length;
        CheckId(token, nameof(token), v);
        if (top.Length > v) { throw new ArgumentException($"asked for the {top.Length} most likely tokens of {v}", nameof(top)); }
        SizeBuffers(v);
        var t = _p.Temperature == 0 ? 1.0 : _p.Temperature;
        var scaled = _weights.AsSpan(0, v);
        for (var i = 0; i < v; i++) { scaled[i] = NotNaN(logits[i], i) / t; }
        var logSum = LogSoftmax.LogSumExp<double>(scaled);
        if (!double.IsFinite(logSum)) { throw new ArgumentException($"the logits' log-sum-exp is {logSum}; expected a finite value", nameof(logits)); }
        if (top.Length > 0)
        {
            SelectTopK(logits, top.Length);
            _candidates.AsSpan(0, top.Length).Sort(BetterFirst);
            for (var i = 0; i < top.Length; i++) { top[i] = new TokenLogProb(_candidates[i].Id, scaled[_candidates[i].Id] - logSum); }
        }
        return scaled[token] - logSum;
    }

    private void SizeBuffers(int v)
    {
        if (_counts.Length != v) { (_candidates, _weights, _counts, _seen) = (new Candidate[v], new double[v], new int[v], new bool[v]); }
    }

    // Top-p without top-k, without sorting all V: with S = Σ w over all tokens (w = exp((l - max) / T)), every token with
    // w < t = (1 - top_p) · S / (2V) together holds less than (1 - top_p) · S, so the nucleus (the most likely tokens
    // until top_p · S) lies among the tokens with w ≥ t, which come first in the order. Only those are kept and sorted.
    private (int Count, double Mass) NucleusCandidates(ReadOnlySpan<float> logits)
    {
        var max = float.NegativeInfinity;
        for (var i = 0; i < logits.Length; i++) { max = Math.Max(max, NotNaN(logits[i], i)); }
        if (!float.IsFinite(max)) { throw new ArgumentException($"the logits' maximum is {max}; expected a finite value", nameof(logits)); }
        var mass = 0.0;
        for (var i = 0; i < logits.Length; i++) { mass += Math.Exp((logits[i] - (double)max) / _p.Temperature); }
        var cut = max + _p.Temperature * Math.Log((1 - _p.TopP) * mass / (2.0 * logits.Length));
        var n = 0;
        for (var i = 0; i < logits.Length; i++)
        {
            if (logits[i] >= cut) { _candidates[n++] = new Candidate(logits[i], i); }
        }
        return (n, mass);
    }

    private void ApplyPenalties(Span<float> logits, IReadOnlyList<int> generated)
    {
        // Every id checked before any state or logit changes, so a bad id leaves the sampler as it was.
        for (var i = 0; i < generated.Count; i++) { CheckId(generated[i], nameof(generated), logits.Length); }
        for (var i = 0; _p.RepetitionPenalty != 1 && i < _prompt.Length; i++) { CheckId(_prompt[i], nameof(_prompt), logits.Length); }
        if (_p.RepetitionPenalty != 1)
        {
            // Mark every id once, then penalize and unmark in one more pass, so each distinct id is hit once.
            Mark(_prompt, nameof(_prompt), logits.Length);
            Mark(generated, nameof(generated), logits.Length);
            Penalize(_prompt, logits);
            Penalize(generated, logits);
        }
        if (_p.FrequencyPenalty != 0 || _p.PresencePenalty != 0)
        {
            for (var i = 0; i < generated.Count; i++) { _counts[CheckId(generated[i], nameof(generated), logits.Length)]++; }
            for (var i = 0; i < generated.Count; i++)
            {
                var id = generated[i];
                if (_counts[id] == 0) { continue; }
                logits[id] = (float)(logits[id] - (_p.FrequencyPenalty * _counts[id] + _p.PresencePenalty));
                _counts[id] = 0;
            }
        }
    }

    private void Mark(IReadOnlyList<int> ids, string what, int v)
    {
        for (var i = 0; i < ids.Count; i++) { _seen[CheckId(ids[i], what, v)] = true; }
    }

    private void Penalize(IReadOnlyList<int> ids, Span<float> logits)
    {
        var penalty = _p.RepetitionPenalty;
        for (var i = 0; i < ids.Count; i++)
        {
            var id = ids[i];
            if (!_seen[id]) { continue; }
            var l = logits[id];
            logits[id] = (float)(l > 0 ? l / penalty : l * penalty);
            _seen[id] = false;
        }
    }

    private static int CheckId(int id, string what, int v) =>
        (uint)id < (uint)v ? id : throw new ArgumentOutOfRangeException(what == nameof(_prompt) ? "prompt" : what, id, $"token id {id} is outside the vocabulary of {v} logits");

    private static float NotNaN(float logit, int id) =>
        float.IsNaN(logit) ? throw new ArgumentException($"logits[{id}] is NaN; expected numbers") : logit;

    /// <summary>
    /// The index of the largest logit; ties go to the lower index (−0 and +0 tie; all −∞ gives 0). A NaN anywhere throws
    /// <see cref="ArgumentException"/> naming its index: a NaN logit means the forward pass broke, and skipping it (or,
    /// with a plain <c>&gt;</c> scan, sticking at a NaN in row 0) would hide that behind a plausible token. Empty throws.
    /// One scalar pass over V: the head GEMV that made the logits costs D times more.
    /// </summary>
    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        if (logits.IsEmpty) { throw new ArgumentException("no logits to take the argmax of", nameof(logits)); }
        var best = 0;
        for (var i = 0; i < logits.Length; i++)
        {
            if (NotNaN(logits[i], i) > logits[best]) { best = i; }
        }
        return best;
    }

    // A heap of the best k seen so far, ordered by BetterFirst with the worst kept candidate at the root.
    private int SelectTopK(ReadOnlySpan<float> logits, int k)
    {
        var heap = _candidates.AsSpan(0, k);
        for (var i = 0; i < k; i++)
        {
            heap[i] = new Candidate(NotNaN(logits[i], i), i);
            SiftUp(heap, i);
        }
        for (var i = k; i < logits.Length; i++)
        {
            var c = new Candidate(NotNaN(logits[i], i), i);
            if (BetterFirst(c, heap[0]) >= 0) { continue; }
            heap[0] = c;
            SiftDown(heap);
        }
        return k;

        static void SiftUp(Span<Candidate> h, int i)
        {
            while (i > 0)
            {
                var parent = (i - 1) / 2;
                if (BetterFirst(h[i], h[parent]) <= 0) { return; } // i is better: not the new worst
                (h[i], h[parent]) = (h[parent], h[i]);
                i = parent;
            }
        }

        static void SiftDown(Span<Candidate> h)
        {
            var i = 0;
            while (true)
            {
                var (l, r, worst) = (2 * i + 1, 2 * i + 2, i);
                if (l < h.Length && BetterFirst(h[l], h[worst]) > 0) { worst = l; }
                if (r < h.Length && BetterFirst(h[r], h[worst]) > 0) { worst = r; }
                if (worst == i) { return; }
                (h[i], h[worst]) = (h[worst], h[i]);
                i = worst;
            }
        }
    }
}
