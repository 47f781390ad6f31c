// FloatE5M6Tests.cs: the E5M6 format as assumed (FP16's layout, 6 mantissa bits): every one of the 4096 codes decodes
// to the value its bits say and encodes back to itself; values between two neighbours round to the nearer, ties to the
// even code; the largest finite value, overflow to infinity, subnormals and signed zero; against a double reference
// on random values. The power-of-two tile quantizer: scales are powers of two that fit the tile's amax, a requantized
// tile gets its own codes back (the paper's reason for power-of-two scales), edge tiles, zero tiles, NaN named.
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Tests;

public sealed class FloatE5M6Tests
{
    [Fact]
    public void EveryCode_DecodesAsItsBitsSay_AndEncodesBackToItself()
    {
        for (var code = 0; code < 4096; code++)
        {
            var (s, e, m) = ((code >> 11) & 1, (code >> 6) & 0x1F, code & 0x3F);
            var v = new FloatE5M6((ushort)code).ToSingle();
            if (e == 31)
            {
                Assert.True(m == 0 ? float.IsInfinity(v) : float.IsNaN(v), $"code {code:X3}");
                continue;
            }
            var expected = (s == 1 ? -1.0 : 1.0) * (e == 0 ? m / 64.0 * Math.Pow(2, -14) : (1 + (m / 64.0)) * Math.Pow(2, e - 15));
            Assert.Equal(expected, v);
            Assert.Equal(code, FloatE5M6.FromSingle(v).Bits);
        }
        Assert.Equal(65024f, new FloatE5M6(0x7BF).ToSingle());
        Assert.Equal(FloatE5M6.MaxValue, new FloatE5M6(0x7BF).ToSingle());
        Assert.Equal(MathF.ScaleB(1, -20), new FloatE5M6(0x001).ToSingle());
    }

    [Fact]
    public void NeighboursMidpoints_RoundToEven_AndTheRestToTheNearer()
    {
        var finite = Enumerable.Range(0, 0x7C0).Select(c => new FloatE5M6((ushort)c).ToSingle()).ToArray(); // +0 … 65024
        for (var i = 0; i + 1 < finite.Length; i++)
        {
            double lo = finite[i], hi = finite[i + 1], mid = (lo + hi) / 2;
            var even = (i & 1) == 0 ? i : i + 1;                                        // the code with mantissa LSB 0
            Assert.Equal(even, FloatE5M6.FromSingle((float)mid).Bits);
            Assert.Equal(i, FloatE5M6.FromSingle((float)(lo + ((hi - lo) * 0.25))).Bits);
            Assert.Equal(i + 1, FloatE5M6.FromSingle((float)(lo + ((hi - lo) * 0.75))).Bits);
        }
        Assert.Equal(0x7BF, FloatE5M6.FromSingle(65024f + 255f).Bits);               // under half a step above the max
        Assert.True(float.IsPositiveInfinity(FloatE5M6.FromSingle(65024f + 256f).ToSingle())); // half a step: to even, past the max
        Assert.True(float.IsNegativeInfinity(FloatE5M6.FromSingle(-1e6f).ToSingle()));
        Assert.True(float.IsNaN(FloatE5M6.FromSingle(float.NaN).ToSingle()));
        Assert.Equal(0x800, FloatE5M6.FromSingle(-0f).Bits);
        Assert.Equal(0, FloatE5M6.FromSingle(MathF.ScaleB(1, -22)).Bits);               // under half the smallest subnormal
    }

    [Fact]
    public void RandomValues_MatchTheDoubleReference()
    {
        var rng = new Random(5);
        for (var i = 0; i < 20000; i++)
        {
            var x = (float)((rng.NextDouble() - 0.5) * Math.Pow(2, rng.Next(-24, 17)));
            var got = FloatE5M6.FromSingle(x).ToSingle();
            // The reference: the nearest of all finite codes (ties to the even code) by exhaustive search.
            var best = 0;
            var bestErr = double.MaxValue;
            for (var c = 0; c < 0x7C0; c++)
            {
                var code = x < 0 ? c | 0x800 : c;
                var err = Math.Abs(new FloatE5M6((ushort)code).ToSingle() - (double)x);
                if (err < bestErr || (err == bestErr && (c & 1) == 0)) { (best, bestErr) = (code, err); }
            }
            Assert.Equal(new FloatE5M6((ushort)best).ToSingle(), got);
        }
    }

    [Fact]
    public void Tiles_HavePowerOfTwoScales_AndRequantizeToThemselves()
    {
        const int rows = 3, cols = 300;                                                  // three tiles per row, the last of 44
        var rng = new Random(9);
        var x = new float[rows * cols];
        for (var i = 0; i < x.Length; i++) { x[i] = (float)((rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-3, 4))); }
        x.AsSpan(cols, 128).Clear();                                                     // an all-zero tile
        x[(2 * cols) + 299] = 3e4f;                                                      // an outlier in the edge tile
        var (codes, scales, back) = (new ushort[x.Length], new float[rows * 3], new float[x.Length]);
        FloatE5M6.QuantizeTiles(x, rows, cols, codes, scales, "x");
        FloatE5M6.DequantizeTiles(codes, scales, rows, cols, back);
        for (var t = 0; t < scales.Length; t++)
        {
            var (r, tile) = (t / 3, t % 3);
            var amax = x.AsSpan((r * cols) + (tile * 128), Math.Min(128, cols - (tile * 128))).ToArray().Max(Math.Abs);
            Assert.Equal(0, BitConverter.SingleToInt32Bits(scales[t]) & 0x7FFFFF);      // a power of two
            if (amax == 0) { Assert.Equal(1f, scales[t]); continue; }
            Assert.InRange(amax / scales[t], FloatE5M6.MaxValue / 2, FloatE5M6.MaxValue);  // the smallest that fits
        }
        for (var i = 0; i < x.Length; i++)
        {
            Assert.True(Math.Abs(back[i] - x[i]) <= (Math.Abs(x[i]) * Math.Pow(2, -7)) + (scales[(i / cols * 3) + (i % cols / 128)] * Math.Pow(2, -21)), $"x[{i}] = {x[i]} came back as {back[i]}");
        }
        var (again, scales2) = (new ushort[x.Length], new float[rows * 3]);
        FloatE5M6.QuantizeTiles(back, rows, cols, again, scales2, "x");
        Assert.Equal(codes, again);
        Assert.Equal(scales, scales2);

        x[17] = float.NaN;
        var e = Assert.Throws<NonFiniteTensorException>(() => FloatE5M6.QuantizeTiles(x, rows, cols, codes, scales, "the o_proj input"));
        Assert.Contains("the o_proj input: NaN at row 0, column 17", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => FloatE5M6.QuantizeTiles(x, rows, cols, codes, new float[2], "x"));
    }
}
