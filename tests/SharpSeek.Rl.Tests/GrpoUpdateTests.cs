// GrpoUpdateTests.cs: one GRPO update's gradient on whole tiny models (the dense qwen2 reference checkpoint and the
// DeepSeek-V3 one, float64) against central finite differences of the same weighted loss, with clip, k3 KL, a sampling
// temperature and sequences of different lengths over two micro-batches; and bad input.
using SharpSeek.Model;
using SharpSeek.Model.Layers;
using SharpSeek.Rl.Grpo;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;

namespace SharpSeek.Rl.Tests;

public sealed class GrpoUpdateTests
{
    [Theory]
    [InlineData("qwen2_f32", LossAggregation.Grpo)]
    [InlineData("qwen2_f32", LossAggregation.Bnpo)]
    [InlineData("qlora_f32", LossAggregation.Dapo)]
    public void Gradient_MatchesFiniteDifferences(string variant, LossAggregation aggregation)
    {
        using var weights = Repo.ReferenceWeights(variant, DType.F64);
        using var model = new Transformer(weights, maxPositions: 16);
        using var arena = new Arena("grpo-update");
        var tape = new Tape(arena);
        var vocab = weights.Config.VocabSize;
        var rng = new Random(5);
        var options = new GrpoOptions { Loss = aggregation, ClipLow = 0.2, ClipHigh = 0.28, Beta = 0.04 };
        const double temperature = 0.7;
        var sequences = new[] { (3, 4, 0.9), (2, 6, -1.3), (5, 2, 0.4) }.Select(x => new PolicySequence
        {
            Prompt = Tokens(rng, x.Item1, vocab),
            Completion = Tokens(rng, x.Item2, vocab),
            OldLogProbs = [.. Enumerable.Range(0, x.Item2).Select(_ => -Math.Log(vocab) + (rng.NextDouble() - 0.5))],
            ReferenceLogProbs = [.. Enumerable.Range(0, x.Item2).Select(_ => -Math.Log(vocab) + (rng.NextDouble() - 0.5))],
            Advantage = x.Item3,
        }).ToArray();

        double Loss()
        {
            weights.ZeroGradients();
            return GrpoUpdate.Accumulate(model, tape, sequences, microBatch: 2, temperature, maxCompletionTokens: 8, options).Objective.Loss;
        }

        Loss();
        var checkedParams = weights.Unique.Where(p => p.Value.ElementCount > 1).ToList();
        var probes = checkedParams.Select(p => (Param: p, Index: rng.Next((int)p.Value.ElementCount))).ToList();
        var analytic = probes.Select(x => GradOf(x.Param, x.Index)).ToArray();
        Assert.Contains(analytic, g => Math.Abs(g) > 1e-6); // not vacuous

        const double h = 1e-5;
        for (var i = 0; i < probes.Count; i++)
        {
            var values = probes[i].Param.Value.AsSpan<double>();
            var saved = values[probes[i].Index];
            values[probes[i].Index] = saved + h;
            var plus = Loss();
            values[probes[i].Index] = saved - h;
            var minus = Loss();
            values[probes[i].Index] = saved;
            var numeric = (plus - minus) / (2 * h);
            Assert.True(Math.Abs(numeric - analytic[i]) <= 1e-7 + 1e-5 * Math.Abs(numeric),
                $"{probes[i].Param.Name}[{probes[i].Index}]: analytic {analytic[i]:g6}, finite differences {numeric:g6}");
        }
    }

    [Fact]
    public void BadInput_IsNamed()
    {
        using var weights = Repo.ReferenceWeights("qwen2_f32", DType.F32);
        using var model = new Transformer(weights, maxPositions: 16);
        using var arena = new Arena("grpo-bad");
        var tape = new Tape(arena);
        var ok = new PolicySequence { Prompt = [1, 2], Completion = [3, 4], OldLogProbs = [-1, -1], Advantage = 1 };
        var e = Assert.Throws<ArgumentException>(() => GrpoUpdate.Accumulate(model, tape, [ok with { OldLogProbs = [-1] }], 1, 1, 8, new GrpoOptions()));
        Assert.Contains("1 old log-probs for 2 completion tokens", e.Message);
        e = Assert.Throws<ArgumentException>(() => GrpoUpdate.Accumulate(model, tape, [ok], 1, 1, 8, new GrpoOptions { Beta = 0.1 }));
        Assert.Contains("reference log-probs", e.Message);
        e = Assert.Throws<ArgumentException>(() => GrpoUpdate.Accumulate(model, tape, [ok with { Completion = [], OldLogProbs = [] }], 1, 1, 8, new GrpoOptions()));
        Assert.Contains("empty completion", e.Message);
    }

    private static double GradOf(Parameter p, int index) => p.Grad.AsSpan<double>()[index];

    private static int[] Tokens(Random rng, int n, int vocab) => [.. Enumerable.Range(0, n).Select(_ => rng.Next(vocab))];
}
