// BiasUpdateTests.cs: the step load sums the micro-batches' loads (training forwards only), one update moves each bias
// by exactly ±γ (or 0) toward the mean load, and repeated updates even out a skewed router.
using SharpSeek.Model;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;

namespace SharpSeek.Training.Tests;

public sealed class BiasUpdateTests
{
    private const int B = 2, T = 11;

    private static void Forward(Transformer model, Arena arena, int seed, bool grad = true)
    {
        var tape = new Tape(arena) { GradEnabled = grad };
        arena.Reset();
        var tokens = Repo.RandomTokens(B, T, 256, seed).SelectMany(r => r).ToArray();
        model.Forward(tape, arena.FromSpan<int>(tokens, B, T));
    }

    [Fact]
    public void StepLoad_SumsTheMicroBatches_AndApplyMovesEachBiasByGammaTowardTheMean()
    {
        using var weights = new ModelWeights(Repo.Tiny());
        weights.InitializeRandom(1, std: 0.3);
        using var model = new Transformer(weights, maxPositions: T);
        using var arena = new Arena("bias");
        Forward(model, arena, 2);
        var first = model.ExpertLoads().ToList();
        Forward(model, arena, 3);
        var second = model.ExpertLoads().ToList();
        Forward(model, arena, 4, grad: false); // evaluation: not counted
        var step = BiasUpdate.StepLoads(model).ToList();
        Assert.Equal(3, step.Count);
        for (var l = 0; l < step.Count; l++)
        {
            Assert.Equal(first[l].Layer, step[l].Layer);
            Assert.Equal(first[l].Load.Zip(second[l].Load, (a, b) => (long)a + b), step[l].Load);
        }

        var before = BiasValues(model);
        const double Gamma = 0.125;
        BiasUpdate.Apply(model, Gamma);
        var after = BiasValues(model);
        for (var l = 0; l < step.Count; l++)
        {
            var mean = step[l].Load.Average();
            for (var i = 0; i < step[l].Load.Length; i++)
            {
                var expected = step[l].Load[i] < mean ? Gamma : step[l].Load[i] > mean ? -Gamma : 0;
                Assert.Equal(expected, after[l][i] - before[l][i], 1e-7);
            }
            Assert.Contains(step[l].Load, n => n != mean); // the case is skewed, so something moved
        }
        Assert.All(BiasUpdate.StepLoads(model), l => Assert.All(l.Load, n => Assert.Equal(0, n))); // counts restart
    }

    [Fact]
    public void RepeatedUpdates_EvenOutASkewedRouter()
    {
        using var weights = new ModelWeights(Repo.Tiny());
        weights.InitializeRandom(5, std: 0.3);
        foreach (var gate in Objective.Gates(new Transformer(weights, maxPositions: T), 1))
        {
            gate.CorrectionBias!.Value.AsSpan<float>()[3] = 2f; // expert 3 is everyone's first choice
        }
        using var model = new Transformer(weights, maxPositions: T);
        using var arena = new Arena("bias");
        double Imbalance()
        {
            Forward(model, arena, 6, grad: false);
            return model.ExpertLoads().Sum(l => l.Load.Max() - l.Load.Min());
        }
        var start = Imbalance();
        for (var s = 0; s < 60; s++)
        {
            Forward(model, arena, 100 + s);
            BiasUpdate.Apply(model, 0.05);
        }
        var end = Imbalance();
        Assert.True(end < start / 2, $"load spread went from {start} to {end}");
    }

    [Fact]
    public void Apply_RejectsANegativeSpeed() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => BiasUpdate.Apply(null!, -1));

    private static List<float[]> BiasValues(Transformer model) =>
        [.. Objective.Gates(model, 1).Select(g => g.CorrectionBias!.Value.AsSpan<float>().ToArray())];
}
