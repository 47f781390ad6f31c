// TinyModel.cs: test helpers for the layer tests: the tiny preset (optionally on the q_proj path), seeded weights and tokens,
// and double-precision reference pieces (x·Wᵀ, RMSNorm) read from the model's float tensors. Not here: tests.
using SharpSeek.Model.Layers;
using SharpSeek.Tensors;

namespace SharpSeek.Model.Tests;

internal static class TinyModel
{
    public static ModelConfig Config(bool qLora = true)
    {
        var c = ModelConfig.LoadPreset("tiny");
        return qLora ? c : c with { QLoraRank = null };
    }

    public static int[] Tokens(int count, int vocab, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => rng.Next(vocab))];
    }

    public static double[] Values(Parameter p) => p.Value.DType == DType.F64 ? p.Value.AsSpan<double>().ToArray() : [.. p.Value.AsSpan<float>().ToArray().Select(v => (double)v)];

    /// <summary>y = W·x for W (out, in) row-major.</summary>
    public static double[] MatVec(double[] w, double[] x)
    {
        var y = new double[w.Length / x.Length];
        for (var o = 0; o < y.Length; o++)
        {
            for (var i = 0; i < x.Length; i++) { y[o] += w[o * x.Length + i] * x[i]; }
        }
        return y;
    }

    public static double[] RmsNorm(double[] x, double[] w, double eps)
    {
        var rstd = 1 / Math.Sqrt(x.Sum(v => v * v) / x.Length + eps);
        return [.. x.Select((v, i) => v * rstd * w[i])];
    }

    /// <summary>The MLA of a DeepSeek block.</summary>
    public static Mla Mla(this Block block) => (Mla)block.Attention;

    public static double[] SwiGlu(Mlp mlp, double[] x)
    {
        var g = MatVec(Values(mlp.Gate.Weight), x);
        var u = MatVec(Values(mlp.Up.Weight), x);
        return MatVec(Values(mlp.Down.Weight), [.. g.Select((a, i) => a / (1 + Math.Exp(-a)) * u[i])]);
    }
}
