// GrpoObjectiveTests.cs: the token-level GRPO loss against hand-computed values (ratio 1, both clip sides with both advantage
// signs, k3 and its clamp), each aggregation's weights, and the backward through TokenLogProbOp against finite
// differences of the weighted loss.
using SharpSeek.Rl.Grpo;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Rl.Tests;

public sealed class GrpoObjectiveTests
{
    private static readonly GrpoOptions Clip = new() { ClipLow = 0.2, ClipHigh = 0.28 };

    [Fact]
    public void RatioOne_IsReinforceWithABaseline()
    {
        var t = GrpoObjective.Token(-1.3, -1.3, 0, 0.7, Clip);
        Assert.Equal(-0.7, t.Loss, 12);
        Assert.Equal(-0.7, t.Gradient, 12);
        Assert.Equal(1.0, t.Ratio, 12);
        Assert.False(t.ClippedLow || t.ClippedHigh);
    }

    [Theory]
    // ratio, advantage, loss, gradient, clipped low, clipped high
    [InlineData(1.5, 2.0, -1.28 * 2.0, 0.0, false, true)]   // A > 0 above 1 + ε_high: the clipped term, no gradient
    [InlineData(0.5, 2.0, -0.5 * 2.0, -2.0 * 0.5, false, false)] // A > 0 below 1 − ε_low: min keeps the unclipped term
    [InlineData(0.5, -2.0, 0.8 * 2.0, 0.0, true, false)]    // A < 0 below 1 − ε_low: clipped, no gradient
    [InlineData(1.5, -2.0, 1.5 * 2.0, 2.0 * 1.5, false, false)] // A < 0 above 1 + ε_high: unclipped (pessimistic) term
    [InlineData(1.1, 2.0, -1.1 * 2.0, -2.0 * 1.1, false, false)] // inside the range
    public void Clip_FollowsThePessimisticMin(double ratio, double advantage, double loss, double gradient, bool low, bool high)
    {
        var t = GrpoObjective.Token(Math.Log(ratio) - 0.4, -0.4, 0, advantage, Clip);
        Assert.Equal(loss, t.Loss, 10);
        Assert.Equal(gradient, t.Gradient, 10);
        Assert.Equal(low, t.ClippedLow);
        Assert.Equal(high, t.ClippedHigh);
    }

    [Fact]
    public void K3Kl_AndItsClamp()
    {
        var options = Clip with { Beta = 0.1 };
        // ref − logp = 0.3: k3 = e^0.3 − 0.3 − 1, dk3/dlogp = 1 − e^0.3; ratio 1, A = 0
        var t = GrpoObjective.Token(-2.0, -2.0, -1.7, 0, options);
        Assert.Equal(Math.Exp(0.3) - 1.3, t.Kl, 12);
        Assert.Equal(0.1 * (Math.Exp(0.3) - 1.3), t.Loss, 12);
        Assert.Equal(0.1 * (1 - Math.Exp(0.3)), t.Gradient, 12);

        var clamped = GrpoObjective.Token(-5.0, -5.0, -2.0, 0, options with { KlClamp = 10 }); // k3 = e^3 − 4 ≈ 16.1 > 10
        Assert.Equal(10, clamped.Kl);
        Assert.Equal(0.1 * 10, clamped.Loss, 12);
        Assert.Equal(0, clamped.Gradient);
        Assert.Equal(0, GrpoObjective.Token(-5.0, -5.0, -2.0, 0, Clip).Kl); // β = 0: no reference is read
    }

    [Fact]
    public void Aggregations_HaveTheirNormalizers()
    {
        // an update of 2 sequences with 2 and 4 completion tokens (6 tokens), in 2 micro-batches of 3 tokens, max length 8
        Assert.Equal(1.0 / (2 * 2), GrpoObjective.Weight(LossAggregation.Grpo, 2, 2, 3, 6, 8, 2));
        Assert.Equal(1.0 / (4 * 2), GrpoObjective.Weight(LossAggregation.Grpo, 4, 2, 3, 6, 8, 2));
        Assert.Equal(1.0 / (3 * 2), GrpoObjective.Weight(LossAggregation.Bnpo, 4, 2, 3, 6, 8, 2));
        Assert.Equal(1.0 / 6, GrpoObjective.Weight(LossAggregation.Dapo, 4, 2, 3, 6, 8, 2));
        Assert.Equal(1.0 / (2 * 8), GrpoObjective.Weight(LossAggregation.DrGrpo, 4, 2, 3, 6, 8, 2));
        Assert.Equal(0, GrpoObjective.Weight(LossAggregation.Dapo, 0, 2, 3, 6, 8, 2));

        // grpo on per-token losses −A (ratio 1): sequence means then the mean over sequences = −(A1 + A2)/2
        double[] weights = [.. Enumerable.Repeat(1.0 / 4, 2), .. Enumerable.Repeat(1.0 / 8, 4)];
        double[] logp = [-1, -2, -1, -1, -3, -1];
        double[] adv = [1, 1, -0.5, -0.5, -0.5, -0.5];
        Assert.Equal(-(1 - 0.5) / 2, GrpoObjective.Loss(logp, weights, logp, [], adv, Clip), 12);
    }

    [Fact]
    public void Backward_ThroughTokenLogProb_MatchesFiniteDifferences()
    {
        const int rows = 5, vocab = 7;
        var rng = new Random(11);
        int[] ids = [3, 0, -100, 6, 2];
        var logits0 = Enumerable.Range(0, rows * vocab).Select(_ => rng.NextDouble() * 4 - 2).ToArray();
        double[] weights = [0.3, 0.5, 0, 0.2, 0.25];
        double[] old = [.. Enumerable.Range(0, rows).Select(_ => -1.5 + rng.NextDouble())];
        double[] reference = [.. Enumerable.Range(0, rows).Select(_ => -1.5 + rng.NextDouble())];
        double[] adv = [1.2, -0.7, 0, 0.4, -1.1];
        var options = new GrpoOptions { ClipLow = 0.2, ClipHigh = 0.28, Beta = 0.05 };

        using var arena = new Arena("grpo");
        var tape = new Tape(arena);
        var x = arena.Allocate<double>(rows, vocab);
        logits0.CopyTo(x.AsSpan<double>());
        var targets = arena.Allocate<int>(rows);
        ids.CopyTo(targets.AsSpan<int>());
        var input = tape.Input(x);
        var logp = TokenLogProbOp.Apply(tape, input, targets);
        GrpoObjective.Backward(tape, logp, weights, old, reference, adv, options);
        var analytic = tape.Grad(input).AsSpan<double>().ToArray();

        double LossAt(double[] logits)
        {
            var lp = new double[rows];
            for (var r = 0; r < rows; r++)
            {
                if (ids[r] < 0) { continue; }
                var row = logits.AsSpan(r * vocab, vocab);
                var max = row.ToArray().Max();
                var lse = max + Math.Log(row.ToArray().Sum(v => Math.Exp(v - max)));
                lp[r] = row[ids[r]] - lse;
            }
            return GrpoObjective.Loss(lp, weights, old, reference, adv, options);
        }

        const double h = 1e-6;
        for (var i = 0; i < logits0.Length; i++)
        {
            var plus = (double[])logits0.Clone();
            var minus = (double[])logits0.Clone();
            plus[i] += h;
            minus[i] -= h;
            Assert.Equal((LossAt(plus) - LossAt(minus)) / (2 * h), analytic[i], 6);
        }
        Assert.Contains(analytic, v => Math.Abs(v) > 1e-3); // the check is not vacuous
    }
}
