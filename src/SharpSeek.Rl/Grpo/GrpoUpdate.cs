// GrpoUpdate.cs: the training side of a GRPO step on the tape: sequences packed into micro-batches (right-padded;
// causal attention keeps the padding out of every real position), the policy's forward at the sampling temperature,
// each completion token's log-prob (TokenLogProbOp) and the objective's backward (GrpoObjective), gradients accumulating in the
// policy's weights. Also the reference policy's log-probs (no tape records) and the per-token entropy for the log.
// Not here: sampling (Rollouts), advantages (GroupAdvantages), the optimizer step (the trainer). Tested by GrpoUpdateTests.
using SharpSeek.Model;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Rl.Grpo;

/// <summary>What one update's micro-batches added up to.</summary>
public readonly record struct UpdateTotals(GrpoTotals Objective, double EntropySum, double MaxLogProbDifference)
{
    public double MeanEntropy => Objective.Tokens == 0 ? 0 : EntropySum / Objective.Tokens;

    public double MeanKl => Objective.Tokens == 0 ? 0 : Objective.KlSum / Objective.Tokens;
}

/// <summary>Forward and backward of the GRPO objective over a list of sequences.</summary>
public static class GrpoUpdate
{
    private const int Ignore = -100;

    /// <summary>
    /// Accumulates the gradient of the objective over <paramref name="sequences"/> (one optimizer update) into the policy's
    /// gradients, <paramref name="microBatch"/> sequences per forward. Returns the totals and the largest
    /// |log π_θ − log π_old| over the completion tokens: before the update's first optimizer step that is the mismatch
    /// between the rollout's and the trainer's log-probs of the same weights.
    /// </summary>
    /// <remarks><paramref name="batchSequences"/>: the sequences the update was sampled as, before any were left out
    /// (masked truncations), dr_grpo's constant normalizer; null: the sequences given.</remarks>
    public static UpdateTotals Accumulate(Transformer policy, Tape tape, IReadOnlyList<PolicySequence> sequences, int microBatch, double temperature,
        int maxCompletionTokens, GrpoOptions options, int? batchSequences = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(sequences);
        ArgumentNullException.ThrowIfNull(options);
        if (microBatch < 1) { throw new ArgumentOutOfRangeException(nameof(microBatch), microBatch, "a micro-batch holds at least one sequence"); }
        if (!(temperature > 0)) { throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "log-probs are taken at a positive sampling temperature"); }
        foreach (var s in sequences) { Check(s, options); }
        var updateTokens = sequences.Sum(s => s.Completion.Length);
        var microBatches = (sequences.Count + microBatch - 1) / microBatch;
        var totals = default(UpdateTotals);
        var result = new ForwardResult();
        for (var start = 0; start < sequences.Count; start += microBatch)
        {
            var count = Math.Min(microBatch, sequences.Count - start);
            tape.Reset();
            var (inputs, targets, width) = Pack(tape.Arena, sequences, start, count);
            var (logp, scaled) = LogProbs(tape, policy, inputs, targets, temperature, result);
            var rows = count * width;
            double[] weights = new double[rows], old = new double[rows], reference = new double[options.Beta != 0 ? rows : 0], adv = new double[rows];
            var microTokens = 0;
            for (var b = 0; b < count; b++) { microTokens += sequences[start + b].Completion.Length; }
            var values = tape.Value(logp);
            double entropy = 0, maxDiff = totals.MaxLogProbDifference;
            var logits = tape.Value(scaled);
            for (var b = 0; b < count; b++)
            {
                var s = sequences[start + b];
                var weight = GrpoObjective.Weight(options.Loss, s.Completion.Length, options.Loss == LossAggregation.DrGrpo ? batchSequences ?? sequences.Count : sequences.Count,
                    microTokens, updateTokens, maxCompletionTokens, microBatches);
                for (var j = 0; j < s.Completion.Length; j++)
                {
                    var row = b * width + s.Prompt.Length + j - 1;
                    (weights[row], old[row], adv[row]) = (weight, s.OldLogProbs[j], s.Advantage);
                    if (options.Beta != 0) { reference[row] = s.ReferenceLogProbs![j]; }
                    maxDiff = Math.Max(maxDiff, Math.Abs(At(values, row) - s.OldLogProbs[j]));
                    entropy += Entropy(logits, row);
                }
            }
            var objective = GrpoObjective.Backward(tape, logp, weights, old, reference, adv, options);
            totals = new UpdateTotals(totals.Objective + objective, totals.EntropySum + entropy, maxDiff);
        }
        return totals;
    }

    /// <summary>Fills each sequence's <see cref="PolicySequence.ReferenceLogProbs"/> from <paramref name="reference"/>
    /// at <paramref name="temperature"/>, with nothing recorded on the tape.</summary>
    public static void ScoreReference(Transformer reference, Tape tape, IReadOnlyList<PolicySequence> sequences, int microBatch, double temperature)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(sequences);
        var result = new ForwardResult();
        var wasEnabled = tape.GradEnabled;
        try
        {
            tape.GradEnabled = false;
            for (var start = 0; start < sequences.Count; start += microBatch)
            {
                var count = Math.Min(microBatch, sequences.Count - start);
                tape.Reset();
                var (inputs, targets, width) = Pack(tape.Arena, sequences, start, count);
                var values = tape.Value(LogProbs(tape, reference, inputs, targets, temperature, result).LogProbs);
                for (var b = 0; b < count; b++)
                {
                    var s = sequences[start + b];
                    var lp = new double[s.Completion.Length];
                    for (var j = 0; j < lp.Length; j++) { lp[j] = At(values, b * width + s.Prompt.Length + j - 1); }
                    s.ReferenceLogProbs = lp;
                }
            }
        }
        finally
        {
            tape.GradEnabled = wasEnabled;
            tape.Reset();
        }
    }

    // Inputs (B, T) right-padded with token 0 and targets with the ignore index everywhere but the completion tokens.
    private static (Tensor Inputs, Tensor Targets, int Width) Pack(Arena arena, IReadOnlyList<PolicySequence> sequences, int start, int count)
    {
        var (inputs, width) = PadInputs(count, b => (sequences[start + b].Prompt, sequences[start + b].Completion));
        var targets = new int[count * width];
        Array.Fill(targets, Ignore);
        for (var b = 0; b < count; b++)
        {
            var s = sequences[start + b];
            s.Completion.CopyTo(targets.AsSpan(b * width + s.Prompt.Length - 1, s.Completion.Length));
        }
        return (arena.FromSpan<int>(inputs, count, width), arena.FromSpan<int>(targets, count * width), width);
    }

    /// <summary>The (count, width) inputs of <paramref name="count"/> (prompt, completion) pairs, right-padded with token
    /// 0: each row is the prompt and every completion token but the last, so completion token j is predicted at row
    /// position prompt length − 1 + j (causal attention keeps the padding out of every real position).</summary>
    internal static (int[] Inputs, int Width) PadInputs(int count, Func<int, (int[] Prompt, int[] Completion)> sequence)
    {
        var width = 0;
        for (var b = 0; b < count; b++)
        {
            var (prompt, completion) = sequence(b);
            width = Math.Max(width, prompt.Length + completion.Length - 1);
        }
        var inputs = new int[count * width];
        for (var b = 0; b < count; b++)
        {
            var (prompt, completion) = sequence(b);
            var row = inputs.AsSpan(b * width, width);
            prompt.CopyTo(row);
            completion.AsSpan(0, completion.Length - 1).CopyTo(row[prompt.Length..]);
        }
        return (inputs, width);
    }

    private static (Var LogProbs, Var Scaled) LogProbs(Tape tape, Transformer model, Tensor inputs, Tensor targets, double temperature, ForwardResult result)
    {
        var logits = model.Forward(tape, inputs, result, mtp: false).Logits; // (B, T, V): one row per position; no MTP depths
        var scaled = temperature == 1 ? logits : ScaleOp.Apply(tape, logits, 1 / temperature);
        return (TokenLogProbOp.Apply(tape, scaled, targets, Ignore), scaled);
    }

    private static double At(Tensor t, int i) => t.DType == DType.F64 ? t.AsSpan<double>()[i] : t.AsSpan<float>()[i];

    // −Σ p log p of one row of logits (B, T, V), in double.
    private static double Entropy(Tensor logits, int row)
    {
        var vocab = (int)logits.Shape.Last;
        var max = double.NegativeInfinity;
        for (var j = 0; j < vocab; j++) { max = Math.Max(max, At(logits, row * vocab + j)); }
        double sum = 0, weighted = 0;
        for (var j = 0; j < vocab; j++)
        {
            var x = At(logits, row * vocab + j) - max;
            var e = Math.Exp(x);
            sum += e;
            weighted += e * x;
        }
        return Math.Log(sum) - weighted / sum;
    }

    private static void Check(PolicySequence s, GrpoOptions options)
    {
        if (s.Prompt.Length == 0) { throw new ArgumentException("a sequence needs at least one prompt token"); }
        if (s.Completion.Length == 0) { throw new ArgumentException("a sequence with an empty completion has nothing to train; leave it out of the update"); }
        if (s.OldLogProbs.Length != s.Completion.Length)
        {
            throw new ArgumentException($"{s.OldLogProbs.Length} old log-probs for {s.Completion.Length} completion tokens");
        }
        if (options.Beta != 0 && s.ReferenceLogProbs?.Length != s.Completion.Length)
        {
            throw new ArgumentException("β > 0 needs the reference log-probs of every completion token (GrpoUpdate.ScoreReference)");
        }
    }
}
