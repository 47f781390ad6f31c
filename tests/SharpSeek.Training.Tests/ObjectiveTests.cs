// ObjectiveTests.cs: the objective on the tiny preset (float64): the parts add up, the main and MTP cross-entropies equal
// a direct computation with the ignore index and the MTP shift, the balance terms reach the router's gradient and
// match finite differences with the routing held fixed (replayed), two forwards alive at once each keep their own
// objective and gradient, and bad batches are rejected with a message.
using SharpSeek.Model;
using SharpSeek.Model.Layers;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;

namespace SharpSeek.Training.Tests;

public sealed class ObjectiveTests
{
    private const int B = 2, T = 9;

    private static ModelWeights Weights(int seed)
    {
        var w = new ModelWeights(Repo.Tiny(), DType.F64, withGradients: true);
        w.InitializeRandom(seed, std: 0.3);
        return w;
    }

    private static (Tensor Inputs, Tensor Targets) Batch(Arena arena, int seed, params int[] ignoredPositions)
    {
        var (inputs, targets) = Repo.NextTokenBatch(arena, Repo.RandomTokens(B, T, 256, seed));
        foreach (var p in ignoredPositions) { targets.AsSpan<int>()[p] = -100; }
        return (inputs, targets);
    }

    // Mean over the rows r with target[r] ≠ −100 of logsumexp(x_r) − x_r[target].
    private static double CrossEntropy(ReadOnlySpan<double> logits, int[] targets, int vocab)
    {
        double sum = 0;
        var count = 0;
        for (var r = 0; r < targets.Length; r++)
        {
            if (targets[r] == -100) { continue; }
            var row = logits.Slice(r * vocab, vocab);
            var max = double.NegativeInfinity;
            foreach (var v in row) { max = Math.Max(max, v); }
            double z = 0;
            foreach (var v in row) { z += Math.Exp(v - max); }
            sum += max + Math.Log(z) - row[targets[r]];
            count++;
        }
        return sum / count;
    }

    [Fact]
    public void Parts_MatchADirectComputation_WithIgnoredTargetsAndTheMtpShift()
    {
        using var weights = Weights(1);
        using var model = new Transformer(weights, maxPositions: T);
        using var arena = new Arena("objective");
        var tape = new Tape(arena);
        var (inputs, targets) = Batch(arena, 2, 3, 12);
        var options = new ObjectiveOptions { SequenceBalanceAlpha = 0.01 };
        var (loss, parts) = Objective.Compute(tape, model, inputs, targets, options);
        Assert.Equal(parts.Total, tape.Value(loss).AsSpan<double>()[0]);
        Assert.Equal(parts.Main + (0.3 * parts.Mtp) + parts.Balance, parts.Total, 1e-12);
        Assert.True(parts.Balance > 0);

        var plain = new Tape(arena) { GradEnabled = false };
        var (logits, mtp) = model.Forward(plain, inputs);
        var t = targets.AsSpan<int>().ToArray();
        Assert.Equal(CrossEntropy(plain.Value(logits).AsSpan<double>(), t, 256), parts.Main, 1e-12);
        // MTP row i of sequence s predicts targets[s, i + 1]; the last target of each row is ignored, so is position 3's.
        var shifted = Enumerable.Range(0, B).SelectMany(s => t.Skip((s * T) + 1).Take(T - 1)).ToArray();
        Assert.Equal(CrossEntropy(plain.Value(mtp!.Value).AsSpan<double>(), shifted, 256), parts.Mtp, 1e-12);
        var unshifted = Enumerable.Range(0, B).SelectMany(s => t.Skip(s * T).Take(T - 1)).ToArray();
        Assert.NotEqual(CrossEntropy(plain.Value(mtp!.Value).AsSpan<double>(), unshifted, 256), parts.Mtp, 1e-6);

        // Without MTP and balance the total is the main loss alone.
        tape.Reset();
        (inputs, targets) = Batch(arena, 2, 3, 12);
        var (_, mainOnly) = Objective.Compute(tape, model, inputs, targets, options with { UseMtp = false, Balance = BalanceMode.None });
        Assert.Equal(parts.Main, mainOnly.Total, 1e-12);
        Assert.Equal(0, mainOnly.Mtp);
    }

    [Theory]
    [InlineData(BalanceMode.AuxLossFree)]
    [InlineData(BalanceMode.V2AuxLoss)]
    public void BalanceGradient_ReachesTheRouter_AndMatchesFiniteDifferences(BalanceMode mode)
    {
        using var weights = Weights(3);
        using var model = new Transformer(weights, maxPositions: T);
        using var arena = new Arena("objective");
        var tape = new Tape(arena);
        var options = new ObjectiveOptions { Balance = mode, SequenceBalanceAlpha = 0.5, V2AuxAlpha = 0.5 };
        var gates = Gates(weights);
        Assert.Equal(3, gates.Count); // layers 1, 2 and the MTP block

        // replay: the routing to hold fixed, or null to choose
        double[] RouterGrad(ObjectiveOptions o, Parameter p, ForwardResult? replay = null)
        {
            tape.Reset();
            weights.ZeroGradients();
            var (inputs, targets) = Batch(arena, 4);
            tape.Backward(Objective.Loss(tape, model.Forward(tape, inputs, new ForwardResult(), replay: replay), targets, o).Loss);
            return p.Grad.AsSpan<double>().ToArray();
        }
        double Loss(ForwardResult replay)
        {
            tape.Reset();
            var (inputs, targets) = Batch(arena, 4);
            return Objective.Loss(tape, model.Forward(tape, inputs, new ForwardResult(), replay: replay), targets, options).Parts.Total;
        }

        var router = gates[^1].Weight;
        var without = RouterGrad(options with { Balance = BalanceMode.None }, router);
        var with = RouterGrad(options, router);
        var change = with.Zip(without, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(change > 1e-4, $"the balance loss moves the router gradient by only {change:g3}");

        // The routing held fixed: the same batch's forward on an arena the probes below do not reset.
        using var routingArena = new Arena("routing");
        var routing = model.Forward(new Tape(routingArena), Batch(routingArena, 4).Inputs, new ForwardResult());
        foreach (var p in gates.Select(g => g.Weight))
        {
            var grad = RouterGrad(options, p, routing);
            var values = p.Value.AsSpan<double>();
            foreach (var j in new[] { 0, 7, values.Length / 2, values.Length - 1 })
            {
                const double h = 1e-5;
                var saved = values[j];
                values[j] = saved + h;
                var plus = Loss(routing);
                values[j] = saved - h;
                var minus = Loss(routing);
                values[j] = saved;
                var numeric = (plus - minus) / (2 * h);
                var abs = Math.Abs(numeric - grad[j]);
                Assert.True(Math.Min(abs, abs / Math.Abs(numeric)) <= 1e-6, $"{p.Name}[{j}]: analytic {grad[j]}, numeric {numeric}");
            }
        }
    }

    [Theory]
    [InlineData(BalanceMode.AuxLossFree)]
    [InlineData(BalanceMode.V2AuxLoss)]
    public void InterleavedForwards_EachObjectiveIsTheSameAsComputedAlone(BalanceMode mode)
    {
        using var weights = Weights(7);
        using var model = new Transformer(weights, maxPositions: T);
        var options = new ObjectiveOptions { Balance = mode, SequenceBalanceAlpha = 0.5, V2AuxAlpha = 0.5 };
        var router = weights.Layers[1].Moe!.Gate.Weight;

        // Batch A alone: its objective and the router's gradient.
        using var alone = new Arena("alone");
        var tape = new Tape(alone);
        var (inputs, targets) = Batch(alone, 8);
        weights.ZeroGradients();
        var (loss, parts) = Objective.Compute(tape, model, inputs, targets, options);
        tape.Backward(loss);
        var grad = router.Grad.AsSpan<double>().ToArray();

        // Forward A, forward B (another batch, another tape), then A's objective and backward, then B's objective.
        using var arenaA = new Arena("a");
        using var arenaB = new Arena("b");
        Tape tapeA = new(arenaA), tapeB = new(arenaB);
        var (inputsA, targetsA) = Batch(arenaA, 8);
        var (inputsB, targetsB) = Batch(arenaB, 9);
        var forwardA = model.Forward(tapeA, inputsA, new ForwardResult());
        var forwardB = model.Forward(tapeB, inputsB, new ForwardResult());
        weights.ZeroGradients();
        var (lossA, partsA) = Objective.Loss(tapeA, forwardA, targetsA, options);
        tapeA.Backward(lossA);
        Assert.Equal(parts, partsA);
        Assert.Equal(grad, router.Grad.AsSpan<double>().ToArray());

        var (_, partsB) = Objective.Loss(tapeB, forwardB, targetsB, options);
        Assert.NotEqual(partsA.Balance, partsB.Balance); // the batches route differently: A's objective could tell them apart
        tape.Reset();
        (inputs, targets) = Batch(alone, 9);
        Assert.Equal(Objective.Compute(tape, model, inputs, targets, options).Parts, partsB);
    }

    [Fact]
    public void BadBatches_AreRejectedWithWhatWasExpected()
    {
        using var weights = Weights(5);
        using var model = new Transformer(weights, maxPositions: T);
        using var arena = new Arena("objective");
        var tape = new Tape(arena);
        var (inputs, targets) = Batch(arena, 6);
        targets.AsSpan<int>()[4] = 256;
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Objective.Compute(tape, model, inputs, targets, new ObjectiveOptions()));
        Assert.Contains("target 4 is 256", ex.Message);
        var wrongShape = arena.Allocate(DType.I32, new Shape(B, T - 1));
        Assert.Contains("inputs' shape", Assert.Throws<ArgumentException>(() => Objective.Compute(tape, model, inputs, wrongShape, new ObjectiveOptions())).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Objective.Compute(tape, model, inputs, inputs, new ObjectiveOptions { MtpWeight = -1 }));
    }

    private static List<Gate> Gates(ModelWeights weights) =>
        [.. weights.Layers.Append(weights.Mtp[0].Block).Where(l => l.Moe is not null).Select(l => l.Moe!.Gate)];
}
