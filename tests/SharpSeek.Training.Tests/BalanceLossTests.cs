// BalanceLossTests.cs: the sequence-wise (V3 eq. 17–20) and expert-level (V2) balance losses against a direct double
// computation, and their gradients against central finite differences with the routing held fixed.
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Training.Tests;

public sealed class BalanceLossTests
{
    private const int Sequences = 3, PerSequence = 7, E = 6, K = 2;
    private const double Alpha = 0.37;

    private static double[] Logits(int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, Sequences * PerSequence * E).Select(_ => (rng.NextDouble() * 4) - 2)];
    }

    // K distinct experts per row.
    private static int[] Choices(int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, Sequences * PerSequence).SelectMany(_ => Enumerable.Range(0, E).OrderBy(_ => rng.Next()).Take(K))];
    }

    private static double[] Sigmoid(double[] x) => [.. x.Select(v => 1 / (1 + Math.Exp(-v)))];

    // Σ_i f_i·P_i over the rows [from, from + count): f_i = E/(K·count)·#chosen, P_i = mean of the row-normalized scores.
    private static double Direct(double[] scores, int[] choices, int from, int count, bool normalize)
    {
        var total = 0.0;
        for (var i = 0; i < E; i++)
        {
            var chosen = 0;
            var p = 0.0;
            for (var t = from; t < from + count; t++)
            {
                for (var k = 0; k < K; k++) { chosen += choices[(t * K) + k] == i ? 1 : 0; }
                var rowSum = normalize ? Enumerable.Range(0, E).Sum(j => scores[(t * E) + j]) : 1;
                p += scores[(t * E) + i] / rowSum / count;
            }
            total += (double)E / (K * count) * chosen * p;
        }
        return total;
    }

    private static double Value(Func<Tape, Var, Var> build, double[] logits)
    {
        using var arena = new Arena("balance");
        var tape = new Tape(arena);
        var x = tape.Input(arena.FromSpan<double>(logits, Sequences * PerSequence, E));
        return tape.Value(build(tape, x)).AsSpan<double>()[0];
    }

    [Fact]
    public void SequenceWise_MatchesDirectComputation()
    {
        var logits = Logits(1);
        var choices = Choices(2);
        var got = Value((tape, x) => BalanceLoss.SequenceWise(tape, SigmoidOp.Apply(tape, x), choices, Sequences, Alpha), logits);
        var scores = Sigmoid(logits);
        var want = Alpha * Enumerable.Range(0, Sequences).Average(q => Direct(scores, choices, q * PerSequence, PerSequence, normalize: true));
        Assert.Equal(want, got, 1e-14);
        // Not the batch-wise loss: per-sequence counts differ from the batch's.
        var batchWise = Alpha * Direct(scores, choices, 0, Sequences * PerSequence, normalize: true);
        Assert.True(Math.Abs(batchWise - got) > 1e-4, $"sequence-wise {got} equals batch-wise {batchWise}: the test cannot tell them apart");
    }

    [Fact]
    public void ExpertLevel_MatchesDirectComputation()
    {
        var logits = Logits(3);
        var choices = Choices(4);
        var got = Value((tape, x) => BalanceLoss.ExpertLevel(tape, SoftmaxOp.Apply(tape, x), choices, Alpha, normalize: false), logits);
        var softmax = new double[logits.Length];
        for (var t = 0; t < Sequences * PerSequence; t++)
        {
            var row = logits.Skip(t * E).Take(E).ToArray();
            var z = row.Sum(Math.Exp);
            for (var j = 0; j < E; j++) { softmax[(t * E) + j] = Math.Exp(row[j]) / z; }
        }
        Assert.Equal(Alpha * Direct(softmax, choices, 0, Sequences * PerSequence, normalize: false), got, 1e-14);
    }

    [Fact]
    public void Gradients_MatchFiniteDifferences()
    {
        var choices = Choices(6);
        using var arena = new Arena("inputs");
        var x = arena.FromSpan<double>(Logits(5), Sequences * PerSequence, E);
        var errors = GradCheck.Run((tape, v) => BalanceLoss.SequenceWise(tape, SigmoidOp.Apply(tape, v[0]), choices, Sequences, Alpha), [x]);
        errors = [.. errors, .. GradCheck.Run((tape, v) => BalanceLoss.ExpertLevel(tape, SoftmaxOp.Apply(tape, v[0]), choices, Alpha, normalize: false), [x])];
        errors = [.. errors, .. GradCheck.Run((tape, v) => BalanceLoss.ExpertLevel(tape, SigmoidOp.Apply(tape, v[0]), choices, Alpha, normalize: true), [x])];
        foreach (var e in errors)
        {
            Assert.True(Math.Abs(e.Analytic) > 0 || Math.Abs(e.Numeric) > 0, "a zero gradient proves nothing");
            Assert.True(Math.Min(e.AbsError, e.RelError) <= 1e-8, $"element {e.Element}: analytic {e.Analytic}, numeric {e.Numeric}");
        }
    }

    [Fact]
    public void SequenceWise_RejectsRowsThatDoNotSplitIntoSequences()
    {
        using var arena = new Arena("bad");
        var tape = new Tape(arena);
        var x = tape.Input(arena.FromSpan<double>(Logits(7), Sequences * PerSequence, E));
        var ex = Assert.Throws<ArgumentException>(() => BalanceLoss.SequenceWise(tape, x, Choices(8), 2, Alpha));
        Assert.Contains("21 score rows", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => BalanceLoss.SequenceWise(tape, x, [.. Choices(8).Select(c => c + E)], Sequences, Alpha));
    }
}
