// RopeTables.cs: the rotary frequencies of the rotated width (MLA's decoupled q_pe/k_pe, or a dense model's whole head):
// plain, YaRN or Llama-3 scaling as HF computes them in float32 (`huggingface/transformers:src/transformers/
// modeling_rope_utils.py`; YaRN paper, Peng et al. 2023, §3), the cos/sin tables for positions 0 .. maxPositions − 1,
// YaRN's mscale and the softmax scale. Not here: the rotation itself (Kernels/Rope.cs, either pairing).
// Tested by ModelWeightsTests (YaRN frequencies), MlaTests (the softmax scale) and DenseFamilyTests (Llama-3 bands).
using SharpSeek.Tensors;

namespace SharpSeek.Model.Layers;

/// <summary>cos[p, i] = attentionFactor · cos(p·invFreq[i]), sin likewise; (maxPositions, rotary dim / 2).</summary>
public sealed class RopeTables
{
    public RopeTables(ModelConfig config, int maxPositions, DType dtype, Arena arena)
    {
        if (maxPositions < 1) { throw new ArgumentOutOfRangeException(nameof(maxPositions), $"rope tables need at least one position; got {maxPositions}"); }
        InverseFrequencies = InverseFrequenciesFor(config);
        AttentionFactor = AttentionFactorFor(config);
        MaxPositions = maxPositions;
        var half = InverseFrequencies.Length;
        Cos = arena.Allocate(dtype, new Shape(maxPositions, half));
        Sin = arena.Allocate(dtype, new Shape(maxPositions, half));
        for (var p = 0; p < maxPositions; p++)
        {
            for (var i = 0; i < half; i++)
            {
                // HF and the official code take the angle in float32; the float64 path keeps it in double.
                var angle = p * (double)InverseFrequencies[i];
                if (dtype == DType.F32)
                {
                    var a32 = (float)angle;
                    Cos.AsSpan<float>()[p * half + i] = (float)(AttentionFactor * Math.Cos(a32));
                    Sin.AsSpan<float>()[p * half + i] = (float)(AttentionFactor * Math.Sin(a32));
                }
                else
                {
                    Cos.AsSpan<double>()[p * half + i] = AttentionFactor * Math.Cos(angle);
                    Sin.AsSpan<double>()[p * half + i] = AttentionFactor * Math.Sin(angle);
                }
            }
        }
    }

    public int MaxPositions { get; }

    /// <summary>(maxPositions, d_r / 2).</summary>
    public Tensor Cos { get; }

    /// <summary>(maxPositions, d_r / 2).</summary>
    public Tensor Sin { get; }

    public float[] InverseFrequencies { get; }

    /// <summary>HF's attention_factor on cos/sin: mscale(s, mscale) / mscale(s, mscale_all_dim) (1 for V3).</summary>
    public double AttentionFactor { get; }

    /// <summary>YaRN's yarn_get_mscale: 1 for s ≤ 1, else 0.1·m·ln(s) + 1.</summary>
    public static double Mscale(double scale, double m) => scale <= 1 ? 1.0 : 0.1 * m * Math.Log(scale) + 1.0;

    /// <summary>MLA: d_qk^−0.5, times mscale(s, mscale_all_dim)² when rope scaling sets mscale_all_dim (HF's
    /// modeling_deepseek_v3 rule; YaRN's temperature folded into the softmax). Dense families: head_dim^−0.5.</summary>
    public static double SoftmaxScale(ModelConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        if (c.IsDense) { return 1.0 / Math.Sqrt(c.AttentionHeadDim); }
        var scale = 1.0 / Math.Sqrt(c.QkHeadDim);
        if (c.RopeScaling is { MscaleAllDim: not 0 } r)
        {
            var m = Mscale(r.Factor, r.MscaleAllDim);
            scale *= m * m;
        }
        return scale;
    }

    /// <summary>
    /// inv_freq[i] = 1 / θ^(2i/d) in float32; with YaRN (always on when the rope type is yarn, as in HF):
    /// low/high = the floor/ceil correction dims of beta_fast/beta_slow over the original context, ramp = clamp((i − low)/(high − low)),
    /// inv_freq = inv/s · ramp + inv · (1 − ramp).
    /// </summary>
    public static float[] InverseFrequenciesFor(ModelConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var dim = c.RotaryDim;
        var theta = c.RopeScaling?.RopeTheta ?? c.RopeTheta;
        var inv = new float[dim / 2];
        var yarn = c.UsesYarn ? c.RopeScaling : null;
        float low = 0, high = 0;
        if (yarn is not null)
        {
            double CorrectionDim(double rotations) => dim * Math.Log(yarn.OriginalMaxPositionEmbeddings / (rotations * 2 * Math.PI)) / (2 * Math.Log(theta));
            low = (float)Math.Max(Math.Floor(CorrectionDim(yarn.BetaFast)), 0);
            high = (float)Math.Min(Math.Ceiling(CorrectionDim(yarn.BetaSlow)), dim - 1);
            if (low == high) { high += 0.001f; }
        }
        if (c.RopeScaling is { Kind: "llama3" } llama3) { return Llama3(llama3, dim, (float)theta); }
        for (var i = 0; i < inv.Length; i++)
        {
            var posFreq = MathF.Pow((float)theta, (float)(2 * i) / dim);
            var extrapolation = 1f / posFreq;
            if (yarn is null) { inv[i] = extrapolation; continue; }
            var interpolation = 1f / ((float)yarn.Factor * posFreq);
            var ramp = Math.Clamp((i - low) / (high - low), 0f, 1f);
            var keep = 1f - ramp; // the share of the original frequency
            inv[i] = interpolation * (1f - keep) + extrapolation * keep;
        }
        return inv;
    }

    /// <summary>
    /// Llama 3.1's frequencies, in float32 as HF computes them: plain inv_freq; wavelength λ = 2π/inv_freq; λ above
    /// original/low_freq_factor → inv_freq/factor; below original/high_freq_factor → kept; between → blended with
    /// smooth = (original/λ − low)/(high − low): (1 − smooth)·inv/factor + smooth·inv.
    /// </summary>
    private static float[] Llama3(RopeScaling r, int dim, float theta)
    {
        float factor = (float)r.Factor, low = (float)r.LowFreqFactor!.Value, high = (float)r.HighFreqFactor!.Value;
        float original = r.OriginalMaxPositionEmbeddings;
        float lowWavelen = original / low, highWavelen = original / high;
        var inv = new float[dim / 2];
        for (var i = 0; i < inv.Length; i++)
        {
            var plain = 1f / MathF.Pow(theta, (float)(2 * i) / dim);
            var wavelen = 2 * MathF.PI / plain;
            var scaled = wavelen > lowWavelen ? plain / factor : plain;
            var smooth = (original / wavelen - low) / (high - low);
            var medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
            inv[i] = medium ? (1 - smooth) * scaled / factor + smooth * scaled : scaled;
        }
        return inv;
    }

    private static double AttentionFactorFor(ModelConfig c)
    {
        if (!c.UsesYarn) { return 1.0; }
        var r = c.RopeScaling!;
        return r.Mscale != 0 && r.MscaleAllDim != 0 ? Mscale(r.Factor, r.Mscale) / Mscale(r.Factor, r.MscaleAllDim) : Mscale(r.Factor, 1);
    }
}
