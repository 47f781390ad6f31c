// BiasUpdateTests.cs: the step load sums the loads of the forwards added to it (a forward that is not added changes
// nothing), one update moves each bias by exactly ±γ (or 0) toward the mean load, and repeated updates even out a skewed
// router.
using SharpSeek.Model;
using SharpSeek.Model.Layers;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;

namespace SharpSeek.Training.Tests;

public sealed class BiasUpdateTests
{
    private const int B = 2, T = 11;

    private static ForwardResult Forward(Transformer model, Arena arena, int seed, bool grad = true)
    {
        var tape = new Tape(arena) { GradEnabled = grad };
        arena.Reset();
        var tokens = Repo.RandomTokens(B, T, 256, seed).SelectMany(r => r).ToArray();
        return model.Forward(tape, arena.FromSpan<int>(tokens, B, T), new ForwardResult());
    }

    private static List<(int Layer, int[] Load)> Loads(ForwardResult forward) =>
        [.. forward.Routing.ToArray().Select(r => (r.Layer, r.Load.AsSpan<int>().ToArray()))];

    [Fact]
    public void StepLoad_SumsTheMicroBatches_AndApplyMovesEachBiasByGammaTowardTheMean()
    {
        using var weights = new ModelWeights(Repo.Tiny());
        weights.InitializeRandom(1, std: 0.3);
        using var model = new Transformer(weights, maxPositions: T);
        using var arena = new Arena("bias");
        var bias = new BiasUpdate(model);
        var forward = Forward(model, arena, 2);
        var first = Loads(forward);
        bias.Add(forward);
        forward = Forward(model, arena, 3);
        var second = Loads(forward);
        bias.Add(forward);
        Forward(model, arena, 4, grad: false); // evaluation: not added, so not counted
        var step = bias.StepLoads();
        Assert.Equal(3, step.Count);
        for (var l = 0; l < step.Count; l++)
        {
            Assert.Equal(first[l].Layer, step[l].Layer);
            Assert.Equal(first[l].Load.Zip(second[l].Load, (a, b) => (long)a + b), step[l].Load);
        }

        var before = BiasValues(weights);
        const double Gamma = 0.125;
        bias.Apply(Gamma);
        var after = BiasValues(weights);
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
        Assert.All(bias.StepLoads(), l => Assert.All(l.Load, n => Assert.Equal(0, n))); // counts restart
    }

    [Fact]
    public void RepeatedUpdates_EvenOutASkewedRouter()
    {
        using var weights = new ModelWeights(Repo.Tiny());
        weights.InitializeRandom(5, std: 0.3);
        foreach (var gate in Gates(weights))
        {
            gate.CorrectionBias!.Value.AsSpan<float>()[3] = 2f; // expert 3 is everyone's first choice
        }
        using var model = new Transformer(weights, maxPositions: T);
        using var arena = new Arena("bias");
        var bias = new BiasUpdate(model);
        double Imbalance() => Loads(Forward(model, arena, 6, grad: false)).Sum(l => l.Load.Max() - l.Load.Min());
        var start = Imbalance();
        for (var s = 0; s < 60; s++)
        {
            bias.Add(Forward(model, arena, 100 + s));
            bias.Apply(0.05);
        }
        var end = Imbalance();
        Assert.True(end < start / 2, $"load spread went from {start} to {end}");
    }

    [Fact]
    public void Apply_RejectsANegativeSpeed()
    {
        using var weights = new ModelWeights(Repo.Tiny());
        using var model = new Transformer(weights, maxPositions: T);
        Assert.Throws<ArgumentOutOfRangeException>(() => new BiasUpdate(model).Apply(-1));
    }

    private static IEnumerable<Gate> Gates(ModelWeights weights) =>
        weights.Layers.Append(weights.Mtp[0].Block).Where(l => l.Moe is not null).Select(l => l.Moe!.Gate);

    private static List<float[]> BiasValues(ModelWeights weights) =>
        [.. Gates(weights).Select(g => g.CorrectionBias!.Value.AsSpan<float>().ToArray())];
}
