// GateTests.cs: the router's choices (DeepSeek-V3 technical report §2.1.2): the correction bias steers the choice but not the weight, group limiting
// keeps the choice inside the top groups even against a higher single score, normalized weights sum to
// routed_scaling_factor, and the MoE output equals Σ_k w·Expert(u) + Shared(u) computed in double.
using SharpSeek.Model.Layers;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;

namespace SharpSeek.Model.Tests;

public sealed class GateTests
{
    private const int N = 9;

    [Fact]
    public void CorrectionBias_ChoosesTheExpert_WeightFromTheUnbiasedScore()
    {
        using var weights = Weights();
        var gate = weights.Layers[1].Moe!.Gate;
        gate.CorrectionBias!.Value.AsSpan<float>()[5] = 10f;
        var (w, idx, u) = Run(weights, gate);
        var wg = TinyModel.Values(gate.Weight);
        var d = weights.Config.HiddenSize;
        for (var n = 0; n < N; n++)
        {
            Assert.Equal(5, idx[n * 2]); // biased score 10 + σ beats every other
            double Score(int e) => 1 / (1 + Math.Exp(-TinyModel.MatVec(wg.Skip(e * d).Take(d).ToArray(), u[n])[0]));
            var (s5, sOther) = (Score(5), Score(idx[n * 2 + 1]));
            Assert.Equal(2.5 * s5 / (s5 + sOther), w[n * 2], 5);
            Assert.Equal(2.5 * sOther / (s5 + sOther), w[n * 2 + 1], 5);
        }
    }

    [Fact]
    public void GroupLimit_NeverPicksOutsideTheTopGroups()
    {
        // 4 groups of 2; by the sum of the top-2 biased scores groups 1 and 2 win, although expert 0 has the largest score.
        using var weights = Weights();
        var gate = weights.Layers[1].Moe!.Gate;
        float[] bias = [5f, -5f, 3f, 3f, 2.9f, 2.9f, 0f, 0f];
        bias.CopyTo(gate.CorrectionBias!.Value.AsSpan<float>());
        var (_, idx, _) = Run(weights, gate);
        Assert.All(idx, e => Assert.InRange(e, 2, 5));

        bias.AsSpan().Clear(); // without the bias: the choice is still inside the two best groups of each token
        bias.CopyTo(gate.CorrectionBias!.Value.AsSpan<float>());
        var (_, free, u) = Run(weights, gate);
        var wg = TinyModel.Values(gate.Weight);
        var d = weights.Config.HiddenSize;
        for (var n = 0; n < N; n++)
        {
            var s = Enumerable.Range(0, 8).Select(e => 1 / (1 + Math.Exp(-TinyModel.MatVec(wg.Skip(e * d).Take(d).ToArray(), u[n])[0]))).ToArray();
            var top = Enumerable.Range(0, 4).OrderByDescending(g => s[2 * g] + s[2 * g + 1]).Take(2).ToHashSet();
            Assert.Contains(free[n * 2] / 2, top);
            Assert.Contains(free[n * 2 + 1] / 2, top);
        }
    }

    [Fact]
    public void NormalizedWeights_SumToTheRoutedScalingFactor()
    {
        using var weights = Weights();
        var (w, idx, _) = Run(weights, weights.Layers[2].Moe!.Gate);
        for (var n = 0; n < N; n++)
        {
            Assert.Equal(2.5, w[n * 2] + w[n * 2 + 1], 5);
            Assert.NotEqual(idx[n * 2], idx[n * 2 + 1]);
        }
    }

    [Fact]
    public void Moe_EqualsTheWeightedSumOfItsExpertsPlusShared()
    {
        using var weights = Weights();
        var moe = weights.Layers[1].Moe!;
        var d = weights.Config.HiddenSize;
        using var arena = new Arena("moe");
        var tape = new Tape(arena) { GradEnabled = false };
        var u = Input(d);
        var y = tape.Value(moe.Forward(tape, tape.Constant(arena.FromSpan<float>([.. u.SelectMany(r => r.Select(v => (float)v))], 1, N, d)), default, out var routing)).AsSpan<float>().ToArray();
        var idx = routing.Experts.AsSpan<int>().ToArray();
        var (w, _, _) = Run(weights, moe.Gate);
        Assert.Equal(N * 2, routing.Load.AsSpan<int>().ToArray().Sum());
        for (var n = 0; n < N; n++)
        {
            var want = TinyModel.SwiGlu(moe.Shared!, u[n]);
            for (var k = 0; k < 2; k++)
            {
                var e = TinyModel.SwiGlu(moe.Experts[idx[n * 2 + k]], u[n]);
                for (var j = 0; j < d; j++) { want[j] += w[n * 2 + k] * e[j]; }
            }
            for (var j = 0; j < d; j++) { Assert.True(Math.Abs(y[n * d + j] - want[j]) <= 1e-5, $"token {n} column {j}: got {y[n * d + j]}, want {want[j]}"); }
        }
    }

    private static ModelWeights Weights()
    {
        var weights = new ModelWeights(TinyModel.Config());
        weights.InitializeRandom(seed: 3, std: 0.5);
        return weights;
    }

    private static double[][] Input(int d)
    {
        var rng = new Random(23);
        return [.. Enumerable.Range(0, N).Select(_ => Enumerable.Range(0, d).Select(_ => (double)(float)(rng.NextDouble() * 2 - 1)).ToArray())];
    }

    // The gate on N seeded tokens: weights (N, K), indices (N, K) and the inputs.
    private static (double[] Weights, int[] Indices, double[][] U) Run(ModelWeights weights, Gate gate)
    {
        var d = weights.Config.HiddenSize;
        var u = Input(d);
        using var arena = new Arena("gate");
        var tape = new Tape(arena) { GradEnabled = false };
        var (w, idx, _) = gate.Forward(tape, tape.Constant(arena.FromSpan<float>([.. u.SelectMany(r => r.Select(v => (float)v))], N, d)));
        return ([.. tape.Value(w).AsSpan<float>().ToArray().Select(v => (double)v)], idx.AsSpan<int>().ToArray(), u);
    }
}
