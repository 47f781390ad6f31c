// MlaTests.cs: the naive MLA forward against a straightforward double-precision re-implementation of the naive MLA of deepseek-ai/DeepSeek-V3:inference/model.py (q-lora
// and q_proj paths, YaRN on), written loop by loop from the formulas.
using SharpSeek.Model.Layers;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;

namespace SharpSeek.Model.Tests;

public sealed class MlaTests
{
    [Theory]
    [InlineData(true, 0)]
    [InlineData(false, 0)]
    [InlineData(true, 37)]
    public void Naive_MatchesADoubleReference(bool qLora, int startPos)
    {
        var c = TinyModel.Config(qLora);
        using var weights = new ModelWeights(c);
        weights.InitializeRandom(seed: 5, std: 0.3);
        using var model = new Transformer(weights);
        var mla = weights.Layers[1].Mla();
        const int B = 2, T = 7;
        int d = c.HiddenSize;
        var rng = new Random(17);
        var x = Enumerable.Range(0, B * T * d).Select(_ => rng.NextDouble() * 2 - 1).Select(v => (double)(float)v).ToArray();

        using var arena = new Arena("mla");
        var tape = new Tape(arena) { GradEnabled = false };
        var positions = arena.FromSpan<int>([.. Enumerable.Range(0, B * T).Select(i => startPos + i % T)], B * T);
        var xv = tape.Constant(arena.FromSpan<float>([.. x.Select(v => (float)v)], B, T, d));
        var got = tape.Value(mla.Forward(tape, xv, model.Rope, positions)).AsSpan<float>().ToArray();

        var want = Reference(c, mla, model.Rope, x, B, T, startPos);
        Assert.Equal(want.Length, got.Length);
        for (var i = 0; i < want.Length; i++)
        {
            Assert.True(Math.Abs(got[i] - want[i]) <= 2e-5 * Math.Max(1, Math.Abs(want[i])), $"element {i}: got {got[i]}, want {want[i]}");
        }
        Assert.Contains(want, v => Math.Abs(v) > 1e-2); // the comparison is not between near-zero outputs
    }

    [Fact]
    public void SoftmaxScale_IsMscaleSquaredOverSqrtQkDim()
    {
        // DeepSeek-V3 technical report §4.3 (√t = 0.1·ln s + 1): V3 gives 192^-0.5 · (0.1·ln 40 + 1)² = 0.1352337789
        Assert.Equal(0.1352337789, RopeTables.SoftmaxScale(ModelConfig.LoadPreset("671B")), 9);
        var plain = TinyModel.Config() with { RopeScaling = null };
        Assert.Equal(1 / Math.Sqrt(12), RopeTables.SoftmaxScale(plain), 15);
    }

    private static double[] Reference(ModelConfig c, Mla mla, RopeTables rope, double[] x, int batch, int tokens, int startPos)
    {
        int d = c.HiddenSize, h = c.NumAttentionHeads, dn = c.QkNopeHeadDim, dr = c.QkRopeHeadDim, dv = c.VHeadDim, rank = c.KvLoraRank, dqk = dn + dr;
        var scale = 1 / Math.Sqrt(dqk) * Math.Pow(RopeTables.Mscale(c.RopeScaling!.Factor, c.RopeScaling.MscaleAllDim), 2);
        var inv = RopeTables.InverseFrequenciesFor(c);
        double[] Rotate(double[] v, int offset, int pos)
        {
            var r = (double[])v.Clone();
            for (var i = 0; i < dr / 2; i++)
            {
                // y[2i] = x[2i]·cos − x[2i+1]·sin;  y[2i+1] = x[2i]·sin + x[2i+1]·cos, angle pos·θ_i taken in float32 as the tables do
                var angle = (double)(float)(pos * (double)inv[i]);
                var (cs, sn) = (Math.Cos(angle) * rope.AttentionFactor, Math.Sin(angle) * rope.AttentionFactor);
                var (a, b) = (v[offset + 2 * i], v[offset + 2 * i + 1]);
                r[offset + 2 * i] = a * cs - b * sn;
                r[offset + 2 * i + 1] = a * sn + b * cs;
            }
            return r;
        }
        var output = new double[batch * tokens * d];
        for (var bt = 0; bt < batch; bt++)
        {
            var q = new double[tokens][];
            var k = new double[tokens][];
            var v = new double[tokens][];
            for (var t = 0; t < tokens; t++)
            {
                var xt = x.Skip((bt * tokens + t) * d).Take(d).ToArray();
                q[t] = c.UsesQLora
                    ? TinyModel.MatVec(TinyModel.Values(mla.WqB!.Weight), TinyModel.RmsNorm(TinyModel.MatVec(TinyModel.Values(mla.WqA!.Weight), xt), TinyModel.Values(mla.QNorm!.Weight), 1e-6))
                    : TinyModel.MatVec(TinyModel.Values(mla.Wq!.Weight), xt);
                for (var head = 0; head < h; head++) { q[t] = Rotate(q[t], head * dqk + dn, startPos + t); }
                var kv = TinyModel.MatVec(TinyModel.Values(mla.WkvA.Weight), xt);
                var kPe = Rotate(kv, rank, startPos + t).Skip(rank).ToArray();
                var kvb = TinyModel.MatVec(TinyModel.Values(mla.WkvB.Weight), TinyModel.RmsNorm(kv.Take(rank).ToArray(), TinyModel.Values(mla.KvNorm.Weight), 1e-6));
                k[t] = new double[h * dqk];
                v[t] = new double[h * dv];
                for (var head = 0; head < h; head++)
                {
                    for (var j = 0; j < dn; j++) { k[t][head * dqk + j] = kvb[head * (dn + dv) + j]; }
                    for (var j = 0; j < dr; j++) { k[t][head * dqk + dn + j] = kPe[j]; }
                    for (var j = 0; j < dv; j++) { v[t][head * dv + j] = kvb[head * (dn + dv) + dn + j]; }
                }
            }
            for (var t = 0; t < tokens; t++)
            {
                var o = new double[h * dv];
                for (var head = 0; head < h; head++)
                {
                    var s = new double[t + 1];
                    for (var u = 0; u <= t; u++)
                    {
                        for (var j = 0; j < dqk; j++) { s[u] += q[t][head * dqk + j] * k[u][head * dqk + j]; }
                        s[u] *= scale;
                    }
                    var max = s.Max();
                    var z = s.Sum(e => Math.Exp(e - max));
                    for (var u = 0; u <= t; u++)
                    {
                        for (var j = 0; j < dv; j++) { o[head * dv + j] += Math.Exp(s[u] - max) / z * v[u][head * dv + j]; }
                    }
                }
                TinyModel.MatVec(TinyModel.Values(mla.Wo.Weight), o).CopyTo(output, (bt * tokens + t) * d);
            }
        }
        return output;
    }
}
