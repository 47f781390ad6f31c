// GrpoObjective.cs: the GRPO objective at token level, the form every open implementation codes (DeepSeekMath arXiv 2402.03300
// Eq. 3; DeepSeek-R1 arXiv 2501.12948 Eq. 1–2; huggingface/trl: trl/trainer/grpo_trainer.py, _compute_loss):
//   r = exp(logπθ − logπold),  L = −min(r·A, clip(r, 1 − ε_low, 1 + ε_high)·A) + β·(e^(ref − logπθ) − (ref − logπθ) − 1)
// with the per-token weights of the chosen aggregation (grpo, bnpo, dapo, dr_grpo). The loss is a function of each
// completion token's log-probability only, so its backward is one coefficient per token (dL/dlogπθ), handed to the tape
// at the TokenLogProbOp output; the value and the coefficients are computed side by side here, in double.
// Not here: advantages (GroupAdvantages), the forward that produces the log-probs (GrpoUpdate). Tested by GrpoObjectiveTests.
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;

namespace SharpSeek.Rl.Grpo;

/// <summary>One completion token's part of the objective: its loss, dL/dlogπθ, k3 and how the clip treated it.</summary>
public readonly record struct TokenTerms(double Loss, double Gradient, double Ratio, double Kl, bool ClippedLow, bool ClippedHigh);

/// <summary>Totals over the tokens of one <see cref="GrpoObjective.Backward"/> call (weighted loss; plain counts and sums).</summary>
public readonly record struct GrpoTotals(double Loss, int Tokens, double KlSum, int ClippedLow, int ClippedHigh, double MaxRatio)
{
    public static GrpoTotals operator +(GrpoTotals a, GrpoTotals b) =>
        new(a.Loss + b.Loss, a.Tokens + b.Tokens, a.KlSum + b.KlSum, a.ClippedLow + b.ClippedLow, a.ClippedHigh + b.ClippedHigh, Math.Max(a.MaxRatio, b.MaxRatio));
}

/// <summary>The GRPO loss and its gradient with respect to the policy's token log-probabilities.</summary>
public static class GrpoObjective
{
    /// <summary>
    /// The unweighted token loss. The clipped branch passes no gradient (min picks the constant clipped term exactly when
    /// r·A exceeds clip(r)·A, which needs r outside the clip range); k3's gradient is 1 − e^(ref − logπθ), 0 where clamped.
    /// Clip counts follow TRL: low when r &lt; 1 − ε_low with A &lt; 0, high when r &gt; 1 + ε_high with A &gt; 0.
    /// </summary>
    public static TokenTerms Token(double logp, double old, double reference, double advantage, GrpoOptions options)
    {
        var ratio = Math.Exp(logp - old);
        var clipped = Math.Clamp(ratio, 1 - options.ClipLow, 1 + options.ClipHigh);
        double unclippedTerm = ratio * advantage, clippedTerm = clipped * advantage;
        var takesUnclipped = unclippedTerm <= clippedTerm;
        var loss = -Math.Min(unclippedTerm, clippedTerm);
        var gradient = takesUnclipped ? -advantage * ratio : 0.0;
        double kl = 0;
        if (options.Beta != 0)
        {
            var d = reference - logp;
            kl = Math.Exp(d) - d - 1;
            var klGradient = 1 - Math.Exp(d);
            if (options.KlClamp is { } c && kl > c) { (kl, klGradient) = (c, 0); } // k3 ≥ 0, so only the upper clamp bites
            loss += options.Beta * kl;
            gradient += options.Beta * klGradient;
        }
        return new TokenTerms(loss, gradient, ratio, kl, ratio < 1 - options.ClipLow && advantage < 0, ratio > 1 + options.ClipHigh && advantage > 0);
    }

    /// <summary>
    /// The weight of one token of a sequence with <paramref name="sequenceTokens"/> completion tokens, in an update of
    /// <paramref name="updateSequences"/> sequences and <paramref name="updateTokens"/> tokens, computed in micro-batches
    /// of <paramref name="microTokens"/> tokens; the weighted sum over the update's tokens is its loss.
    /// </summary>
    public static double Weight(LossAggregation aggregation, int sequenceTokens, int updateSequences, int microTokens, int updateTokens, int maxCompletionTokens, int microBatches)
    {
        if (sequenceTokens <= 0) { return 0; }
        return aggregation switch
        {
            LossAggregation.Grpo => 1.0 / ((double)sequenceTokens * updateSequences),
            LossAggregation.Bnpo => 1.0 / ((double)microTokens * microBatches), // each micro-batch's mean, averaged over micro-batches (TRL's accumulation)
            LossAggregation.Dapo => 1.0 / updateTokens,
            LossAggregation.DrGrpo => 1.0 / ((double)updateSequences * maxCompletionTokens),
            _ => throw new ArgumentOutOfRangeException(nameof(aggregation), aggregation, "unknown loss aggregation"),
        };
    }

    /// <summary>
    /// Back-propagates the objective from <paramref name="logp"/> (the TokenLogProbOp output of one micro-batch, one entry
    /// per forward row) and returns its totals. Per row: <paramref name="weights"/> (0: not a completion token, nothing
    /// flows), the old and reference log-probs and the advantage. The tape's backward runs once, with the coefficients
    /// weight·dL/dlogπθ as the output gradient.
    /// </summary>
    public static GrpoTotals Backward(Tape tape, Var logp, ReadOnlySpan<double> weights, ReadOnlySpan<double> old, ReadOnlySpan<double> reference,
        ReadOnlySpan<double> advantages, GrpoOptions options)
    {
        ArgumentNullException.ThrowIfNull(tape);
        var value = tape.Value(logp);
        var rows = (int)value.ElementCount;
        if (weights.Length != rows || old.Length != rows || advantages.Length != rows || (options.Beta != 0 && reference.Length != rows))
        {
            throw new ArgumentException($"the objective needs one weight, old log-prob, advantage{(options.Beta != 0 ? " and reference log-prob" : "")} per row ({rows} rows)");
        }
        var coefficients = tape.Arena.Allocate(value.DType, value.Shape);
        var totals = Fill(value, coefficients, weights, old, reference, advantages, options);
        tape.Backward(logp, coefficients);
        return totals;
    }

    /// <summary>The weighted loss of <paramref name="logp"/> (same per-row inputs as <see cref="Backward"/>), with no
    /// gradient: the value finite differences are taken of.</summary>
    public static double Loss(ReadOnlySpan<double> logp, ReadOnlySpan<double> weights, ReadOnlySpan<double> old, ReadOnlySpan<double> reference,
        ReadOnlySpan<double> advantages, GrpoOptions options)
    {
        double total = 0;
        for (var r = 0; r < logp.Length; r++)
        {
            if (weights[r] == 0) { continue; }
            total += weights[r] * Token(logp[r], old[r], options.Beta != 0 ? reference[r] : 0, advantages[r], options).Loss;
        }
        return total;
    }

    private static GrpoTotals Fill(Tensor value, Tensor coefficients, ReadOnlySpan<double> weights, ReadOnlySpan<double> old, ReadOnlySpan<double> reference,
        ReadOnlySpan<double> advantages, GrpoOptions options)
    {
        var rows = (int)value.ElementCount;
        var f64 = value.DType == DType.F64;
        double loss = 0, klSum = 0, maxRatio = 0;
        int tokens = 0, low = 0, high = 0;
        for (var r = 0; r < rows; r++)
        {
            double gradient = 0;
            if (weights[r] != 0)
            {
                var logp = f64 ? value.AsSpan<double>()[r] : value.AsSpan<float>()[r];
                var t = Token(logp, old[r], options.Beta != 0 ? reference[r] : 0, advantages[r], options);
                if (!double.IsFinite(t.Loss)) { throw new ArithmeticException($"the GRPO loss of row {r} is {t.Loss} (log-prob {logp}, old {old[r]}); the update is not applied"); }
                gradient = weights[r] * t.Gradient;
                loss += weights[r] * t.Loss;
                klSum += t.Kl;
                maxRatio = Math.Max(maxRatio, t.Ratio);
                tokens++;
                low += t.ClippedLow ? 1 : 0;
                high += t.ClippedHigh ? 1 : 0;
            }
            if (f64) { coefficients.AsSpan<double>()[r] = gradient; } else { coefficients.AsSpan<float>()[r] = (float)gradient; }
        }
        return new GrpoTotals(loss, tokens, klSum, low, high, maxRatio);
    }
}
