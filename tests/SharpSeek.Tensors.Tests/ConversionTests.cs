// ConversionTests.cs: every BF16/F16/E4M3/E5M2 code decodes to its formula value and re-encodes to itself; every midpoint
// between adjacent codes ties to even; overflow and saturation at their boundaries; the encoders agree with brute-force
// references on a million random floats; the bulk span conversions equal the scalar ones.
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Tests;

[Trait("Category", "Kernels")]
public sealed class ConversionTests
{
    // A small-float format described independently of the code under test: exponent and mantissa widths, the bias, and
    // whether the all-ones exponent is IEEE Inf/NaN (false for E4M3FN, whose only special code is S.1111.111 = NaN).
    private sealed record Format(string Name, int ExponentBits, int MantissaBits, bool IeeeSpecials)
    {
        public int Bias => (1 << (ExponentBits - 1)) - 1;
        public int Codes => 1 << (1 + ExponentBits + MantissaBits);
        public int SignBit => 1 << (ExponentBits + MantissaBits);

        // The value of a code in double math, straight from the layout: (-1)^s 2^(e-bias) (1 + m/2^M), or 2^(1-bias) m/2^M.
        public double Value(int code)
        {
            var sign = (code & SignBit) != 0 ? -1.0 : 1.0;
            var e = (code >> MantissaBits) & ((1 << ExponentBits) - 1);
            var m = code & ((1 << MantissaBits) - 1);
            var allOnes = e == (1 << ExponentBits) - 1;
            if (IeeeSpecials && allOnes) { return m == 0 ? sign * double.PositiveInfinity : double.NaN; }
            if (!IeeeSpecials && allOnes && m == (1 << MantissaBits) - 1) { return double.NaN; }
            var frac = m / Math.Pow(2, MantissaBits);
            return e == 0 ? sign * Math.Pow(2, 1 - Bias) * frac : sign * Math.Pow(2, e - Bias) * (1 + frac);
        }
    }

    private static readonly Format Bf16 = new("bf16", 8, 7, IeeeSpecials: true);
    private static readonly Format F16 = new("f16", 5, 10, IeeeSpecials: true);
    private static readonly Format E4M3 = new("e4m3", 4, 3, IeeeSpecials: false);
    private static readonly Format E5M2 = new("e5m2", 5, 2, IeeeSpecials: true);

    private static float DecodeBf16(int c) => new BFloat16((ushort)c).ToSingle();
    private static float DecodeF16(int c) => (float)BitConverter.UInt16BitsToHalf((ushort)c);
    private static float DecodeE4M3(int c) => new Float8E4M3((byte)c).ToSingle();
    private static float DecodeE5M2(int c) => new Float8E5M2((byte)c).ToSingle();
    private static int EncodeBf16(float x) => BFloat16.FromSingle(x).Bits;
    private static int EncodeF16(float x) => BitConverter.HalfToUInt16Bits((Half)x);
    private static int EncodeE4M3(float x) => Float8E4M3.FromSingle(x).Bits;
    private static int EncodeE4M3Sat(float x) => Float8E4M3.FromSingleSaturating(x).Bits;
    private static int EncodeE5M2(float x) => Float8E5M2.FromSingle(x).Bits;
    private static int EncodeE5M2Sat(float x) => Float8E5M2.FromSingleSaturating(x).Bits;

    public static TheoryData<string> Formats => new() { "bf16", "f16", "e4m3", "e5m2" };

    private static (Format Format, Func<int, float> Decode, Func<float, int> Encode) Pick(string name) => name switch
    {
        "bf16" => (Bf16, DecodeBf16, EncodeBf16),
        "f16" => (F16, DecodeF16, EncodeF16),
        "e4m3" => (E4M3, DecodeE4M3, EncodeE4M3),
        "e5m2" => (E5M2, DecodeE5M2, EncodeE5M2),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void Decode_EveryCode_MatchesLayoutFormula(string name)
    {
        var (format, decode, _) = Pick(name);
        for (var c = 0; c < format.Codes; c++)
        {
            var expected = format.Value(c);
            var actual = decode(c);
            if (double.IsNaN(expected))
            {
                Assert.True(float.IsNaN(actual), $"{name} code 0x{c:X} should be NaN, got {actual}");
                continue;
            }
            Assert.True(expected == actual, $"{name} code 0x{c:X}: expected {expected}, got {actual}");
            Assert.Equal((c & format.SignBit) != 0, float.IsNegative(actual)); // -0 keeps its sign
        }
    }

    [Fact]
    public void Decode_KnownValues()
    {
        Assert.Equal(448f, DecodeE4M3(0x7E));
        Assert.Equal(-448f, DecodeE4M3(0xFE));
        Assert.Equal(MathF.ScaleB(1, -9), DecodeE4M3(0x01));
        Assert.Equal(MathF.ScaleB(1, -6), DecodeE4M3(0x08));
        Assert.True(float.IsNaN(DecodeE4M3(0x7F)) && float.IsNaN(DecodeE4M3(0xFF)));
        Assert.Equal(240f, DecodeE4M3(0x77)); // S.1110.111: E4M3FN uses the all-ones exponent for normals
        Assert.Equal(57344f, DecodeE5M2(0x7B));
        Assert.Equal(MathF.ScaleB(1, -16), DecodeE5M2(0x01));
        Assert.Equal(float.PositiveInfinity, DecodeE5M2(0x7C));
        Assert.Equal(float.NegativeInfinity, DecodeE5M2(0xFC));
        foreach (var nan in new[] { 0x7D, 0x7E, 0x7F, 0xFD, 0xFE, 0xFF }) { Assert.True(float.IsNaN(DecodeE5M2(nan))); }
        Assert.Equal(1f, DecodeBf16(0x3F80));
        Assert.Equal(float.PositiveInfinity, DecodeBf16(0x7F80));
        Assert.Equal(65504f, DecodeF16(0x7BFF));
        Assert.True(float.IsNegative(DecodeE4M3(0x80)) && DecodeE4M3(0x80) == 0f);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Encode_OfDecode_IsIdentityForEveryNonNaNCode(string name)
    {
        var (format, decode, encode) = Pick(name);
        for (var c = 0; c < format.Codes; c++)
        {
            var x = decode(c);
            if (float.IsNaN(x)) { continue; }
            Assert.True(encode(x) == c, $"{name} code 0x{c:X} ({x}) re-encodes to 0x{encode(x):X}");
            if (name == "e4m3") { Assert.Equal(c, EncodeE4M3Sat(x)); }
            if (name == "e5m2" && !float.IsInfinity(x)) { Assert.Equal(c, EncodeE5M2Sat(x)); }
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Encode_MidpointsTieToEven_AndNeighboursRoundToTheNearerCode(string name)
    {
        var (format, decode, encode) = Pick(name);
        Func<float, int> saturating = name switch
        {
            "e4m3" => EncodeE4M3Sat,
            "e5m2" => EncodeE5M2Sat,
            _ => encode,
        };
        // positive finite codes are ordered like their values; each adjacent pair (c, c + 1) has one even code
        for (var c = 0; c + 1 < format.SignBit; c++)
        {
            double lo = decode(c), hi = decode(c + 1);
            if (!double.IsFinite(lo) || !double.IsFinite(hi)) { continue; }
            var mid = (lo + hi) / 2;
            var midF = (float)mid;
            Assert.True(midF == mid, $"{name}: midpoint {mid} of 0x{c:X} is not an f32");
            var even = (c & 1) == 0 ? c : c + 1;
            foreach (var enc in new[] { encode, saturating })
            {
                Assert.True(enc(midF) == even, $"{name}: midpoint {mid} between 0x{c:X} and 0x{c + 1:X} gave 0x{enc(midF):X}");
                Assert.Equal(even | format.SignBit, enc(-midF));
                Assert.Equal(c, enc(MathF.BitDecrement(midF)));
                Assert.Equal(c + 1, enc(MathF.BitIncrement(midF)));
                Assert.Equal(c | format.SignBit, enc(-MathF.BitDecrement(midF)));
                Assert.Equal((c + 1) | format.SignBit, enc(-MathF.BitIncrement(midF)));
            }
        }
    }

    [Fact]
    public void Encode_E4M3_OverflowGoesToNaN_SaturatingClampsTo448()
    {
        Assert.Equal(0x7E, EncodeE4M3(448f));
        Assert.Equal(0x7E, EncodeE4M3(464f));                       // tie between 448 and the NaN code goes to even 448
        Assert.Equal(0xFE, EncodeE4M3(-464f));
        Assert.Equal(0x7F, EncodeE4M3(MathF.BitIncrement(464f)));
        Assert.Equal(0x7F, EncodeE4M3(MathF.BitDecrement(480f)));
        Assert.Equal(0x7F, EncodeE4M3(480f));
        Assert.Equal(0xFF, EncodeE4M3(-480f));
        Assert.Equal(0x7F, EncodeE4M3(float.MaxValue));
        Assert.Equal(0x7F, EncodeE4M3(float.PositiveInfinity));
        Assert.Equal(0xFF, EncodeE4M3(float.NegativeInfinity));
        Assert.Equal(0x7F, EncodeE4M3(float.NaN) & 0x7F);
        Assert.Equal(0xFF, EncodeE4M3(BitConverter.UInt32BitsToSingle(0xFFC0_0000)));
        Assert.Equal(0x7F, EncodeE4M3(BitConverter.UInt32BitsToSingle(0x7F80_0001))); // signalling NaN

        Assert.Equal(0x7E, EncodeE4M3Sat(MathF.BitIncrement(464f)));
        Assert.Equal(0x7E, EncodeE4M3Sat(480f));
        Assert.Equal(0x7E, EncodeE4M3Sat(float.MaxValue));
        Assert.Equal(0x7E, EncodeE4M3Sat(float.PositiveInfinity));
        Assert.Equal(0xFE, EncodeE4M3Sat(float.NegativeInfinity));
        Assert.Equal(0xFE, EncodeE4M3Sat(-1e6f));
        Assert.Equal(0x7F, EncodeE4M3Sat(BitConverter.UInt32BitsToSingle(0x7FC0_0000)));
        Assert.Equal(0xFF, EncodeE4M3Sat(BitConverter.UInt32BitsToSingle(0xFFC0_0000)));
    }

    [Fact]
    public void Encode_E5M2_OverflowGoesToInf_SaturatingClampsTo57344()
    {
        Assert.Equal(0x7B, EncodeE5M2(57344f));
        Assert.Equal(0x7B, EncodeE5M2(MathF.BitDecrement(61440f)));
        Assert.Equal(0x7C, EncodeE5M2(61440f));                     // tie between 57344 (odd) and Inf (even)
        Assert.Equal(0xFC, EncodeE5M2(-61440f));
        Assert.Equal(0x7C, EncodeE5M2(65536f));
        Assert.Equal(0x7C, EncodeE5M2(float.MaxValue));
        Assert.Equal(0x7C, EncodeE5M2(float.PositiveInfinity));
        Assert.Equal(0xFC, EncodeE5M2(float.NegativeInfinity));
        Assert.Equal(0x7F, EncodeE5M2(BitConverter.UInt32BitsToSingle(0x7FC0_0000)));
        Assert.Equal(0xFF, EncodeE5M2(BitConverter.UInt32BitsToSingle(0xFFC0_0000)));

        Assert.Equal(0x7B, EncodeE5M2Sat(61440f));
        Assert.Equal(0x7B, EncodeE5M2Sat(float.MaxValue));
        Assert.Equal(0x7B, EncodeE5M2Sat(float.PositiveInfinity));
        Assert.Equal(0xFB, EncodeE5M2Sat(float.NegativeInfinity));
        Assert.Equal(0x7F, EncodeE5M2Sat(BitConverter.UInt32BitsToSingle(0x7F80_0001)));
    }

    [Fact]
    public void Encode_BFloat16_OverflowRoundsToInf_NaNStaysQuietNaNWithSign()
    {
        Assert.Equal(0x7F7F, EncodeBf16(BitConverter.UInt32BitsToSingle(0x7F7F_7FFF)));
        Assert.Equal(0x7F80, EncodeBf16(BitConverter.UInt32BitsToSingle(0x7F7F_8000))); // tie, odd 0x7F7F -> Inf
        Assert.Equal(0x7F80, EncodeBf16(float.MaxValue));
        Assert.Equal(0xFF80, EncodeBf16(float.MinValue));
        Assert.Equal(0x7F80, EncodeBf16(float.PositiveInfinity));
        Assert.Equal(0xFF80, EncodeBf16(float.NegativeInfinity));
        Assert.Equal(0x7FC0, EncodeBf16(BitConverter.UInt32BitsToSingle(0x7F80_0001)));   // would round to Inf unquieted
        Assert.Equal(0xFFC0, EncodeBf16(BitConverter.UInt32BitsToSingle(0xFF80_0001)));
        Assert.Equal(0x7FFF, EncodeBf16(BitConverter.UInt32BitsToSingle(0x7FFF_FFFF)));   // no carry out of a NaN
        Assert.Equal(0x7FE0, EncodeBf16(BitConverter.UInt32BitsToSingle(0x7FE0_0000)));
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Encode_ZeroAndUnderflow_KeepTheSign(string name)
    {
        var (format, decode, encode) = Pick(name);
        Assert.Equal(0, encode(0f));
        Assert.Equal(format.SignBit, encode(-0f));
        var half = (float)(decode(1) / 2);
        Assert.Equal(0, encode(half));                                // tie to even zero
        Assert.Equal(format.SignBit, encode(-half));
        Assert.Equal(1, encode(MathF.BitIncrement(half)));
        Assert.Equal(0, encode(float.Epsilon));
        Assert.Equal(format.SignBit, encode(-float.Epsilon));
    }

    // Brute force: the nearest entry of the positive code table in double, ties to the even code, where the first code past
    // the largest finite one (the NaN code of E4M3FN, Inf of E5M2) stands for the next value on the grid and absorbs
    // everything at or beyond it. Saturating: beyond the largest finite value clamps to it.
    private static int ReferenceFp8(float x, Func<int, float> decode, int maxCode, double nextValue, bool saturate)
    {
        var sign = float.IsNegative(x) ? 0x80 : 0;
        double a = Math.Abs(x);
        if (float.IsNaN(x)) { return 0x7F | sign; }
        double max = decode(maxCode);
        if (saturate && a >= max) { return maxCode | sign; }
        if (a >= nextValue) { return (maxCode + 1) | sign; }
        var best = 0;
        var bestErr = double.PositiveInfinity;
        for (var c = 0; c <= maxCode + 1; c++)
        {
            var v = c == maxCode + 1 ? nextValue : decode(c);
            var err = Math.Abs(v - a);
            if (err < bestErr || (err == bestErr && (c & 1) == 0)) { best = c; bestErr = err; }
        }
        return best | sign;
    }

    // Independent RNE in double: scale by the ulp of |x|'s binade (clamped at the subnormal binade), round half to even.
    private static int ReferenceIeee(float x, Format f)
    {
        if (float.IsNaN(x)) { return -1; }
        var sign = float.IsNegative(x) ? f.SignBit : 0;
        double a = Math.Abs(x);
        var maxExp = (1 << f.ExponentBits) - 2 - f.Bias;
        var max = Math.Pow(2, maxExp) * (2 - Math.Pow(2, -f.MantissaBits));
        if (double.IsInfinity(a)) { return sign | (((1 << f.ExponentBits) - 1) << f.MantissaBits); }
        var exp = a == 0 ? 1 - f.Bias : Math.Max(Math.ILogB(a), 1 - f.Bias);
        var ulp = Math.Pow(2, exp - f.MantissaBits);
        var r = Math.Round(a / ulp, MidpointRounding.ToEven) * ulp;
        if (r > max) { return sign | (((1 << f.ExponentBits) - 1) << f.MantissaBits); }
        // find the code of r: exact, because r is on the grid
        var e = r < Math.Pow(2, 1 - f.Bias) ? 0 : Math.ILogB(r) + f.Bias;
        var m = e == 0 ? r / Math.Pow(2, 1 - f.Bias - f.MantissaBits) : ((r / Math.Pow(2, e - f.Bias)) - 1) * Math.Pow(2, f.MantissaBits);
        return sign | (e << f.MantissaBits) | (int)m;
    }

    private static float[] RandomFloats(int seed, int count, int exponentCenter, int exponentSpread)
    {
        var rng = new Random(seed);
        var specials = new[]
        {
            0f, -0f, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue, float.PositiveInfinity, float.NegativeInfinity,
            float.NaN, BitConverter.UInt32BitsToSingle(0x7F80_0001), BitConverter.UInt32BitsToSingle(0xFFFF_FFFF),
            BitConverter.UInt32BitsToSingle(0x0080_0000), BitConverter.UInt32BitsToSingle(0x007F_FFFF), 1f, -1f,
            // the overflow boundaries and the smallest-subnormal ties of each format
            448f, 464f, MathF.BitIncrement(464f), -MathF.BitIncrement(464f), 480f, 57344f, MathF.BitDecrement(61440f), 61440f, -61440f,
            65504f, 65520f, MathF.BitDecrement(65520f), MathF.ScaleB(1, -10), MathF.ScaleB(1, -17), MathF.ScaleB(1, -25),
            MathF.BitIncrement(MathF.ScaleB(1, -10)), MathF.ScaleB(3, -10), MathF.ScaleB(3, -17), MathF.ScaleB(1, -6), MathF.ScaleB(1, -14),
        };
        var xs = new float[count];
        specials.CopyTo(xs, 0);
        for (var i = specials.Length; i < count; i++)
        {
            var mantissa = (uint)rng.Next(1 << 23);
            // every odd draw is an exact tie of one format in its normal range (f16, bf16, e4m3, e5m2 in turn)
            mantissa = (i & 7) switch
            {
                1 => (mantissa & ~0x1FFFu) | 0x1000,
                3 => (mantissa & ~0xFFFFu) | 0x8000,
                5 => (mantissa & ~0xF_FFFFu) | 0x8_0000,
                7 => (mantissa & ~0x1F_FFFFu) | 0x10_0000,
                _ => mantissa,
            };
            // half the draws are uniform over every bit pattern (every exponent), half sit near the format's range
            var exponent = (i & 1) == 0 ? (uint)rng.Next(256) : (uint)Math.Clamp(exponentCenter + rng.Next(-exponentSpread, exponentSpread + 1), 0, 255);
            var sign = (uint)rng.Next(2) << 31;
            xs[i] = BitConverter.UInt32BitsToSingle(sign | (exponent << 23) | mantissa);
        }
        return xs;
    }

    [Fact]
    public void Encode_Fp8_AgreesWithBruteForceNearestCode()
    {
        // 250k floats per encoder, 1M in all
        var xs = RandomFloats(seed: 11, count: 250_000, exponentCenter: 127, exponentSpread: 20);
        foreach (var x in xs)
        {
            Assert.Equal(ReferenceFp8(x, DecodeE4M3, 0x7E, 480, saturate: false), EncodeE4M3(x));
            Assert.Equal(ReferenceFp8(x, DecodeE4M3, 0x7E, 480, saturate: true), EncodeE4M3Sat(x));
            Assert.Equal(ReferenceFp8(x, DecodeE5M2, 0x7B, 65536, saturate: false), EncodeE5M2(x));
            Assert.Equal(ReferenceFp8(x, DecodeE5M2, 0x7B, 65536, saturate: true), EncodeE5M2Sat(x));
        }
    }

    [Fact]
    public void Encode_BFloat16AndHalf_AgreeWithDoubleRounding()
    {
        var xs = RandomFloats(seed: 12, count: 500_000, exponentCenter: 127, exponentSpread: 30);
        foreach (var x in xs)
        {
            if (float.IsNaN(x))
            {
                Assert.True(float.IsNaN(BFloat16.FromSingle(x).ToSingle()));
                Assert.True(Half.IsNaN((Half)x));
                continue;
            }
            var bf = ReferenceIeee(x, Bf16);
            Assert.True(bf == EncodeBf16(x), $"bf16({x:R}, 0x{BitConverter.SingleToUInt32Bits(x):X8}): expected 0x{bf:X4}, got 0x{EncodeBf16(x):X4}");
            var h = ReferenceIeee(x, F16);
            Assert.True(h == EncodeF16(x), $"f16({x:R}): expected 0x{h:X4}, got 0x{EncodeF16(x):X4}");
        }
    }

    public static TheoryData<int> Seeds => new() { 1, 2 };

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Bulk_EqualsScalar_ForLengths0To300(int seed)
    {
        var all = RandomFloats(seed, 301, exponentCenter: 127, exponentSpread: 20);
        var rng = new Random(seed);
        rng.Shuffle(all); // the specials land at random positions, inside vector blocks and tails
        for (var n = 0; n <= 300; n++)
        {
            var src = all.AsSpan(0, n);
            var bf = new BFloat16[n];
            var h = new Half[n];
            var e4 = new Float8E4M3[n];
            var e4s = new Float8E4M3[n];
            var e5 = new Float8E5M2[n];
            var e5s = new Float8E5M2[n];
            DTypeConvert.ToBFloat16(src, bf);
            DTypeConvert.ToHalf(src, h);
            DTypeConvert.ToFloat8E4M3(src, e4);
            DTypeConvert.ToFloat8E4M3Saturating(src, e4s);
            DTypeConvert.ToFloat8E5M2(src, e5);
            DTypeConvert.ToFloat8E5M2Saturating(src, e5s);
            var back = new float[n];
            for (var i = 0; i < n; i++)
            {
                Assert.Equal(EncodeBf16(src[i]), bf[i].Bits);
                Assert.Equal(EncodeF16(src[i]), BitConverter.HalfToUInt16Bits(h[i]));
                Assert.Equal(EncodeE4M3(src[i]), e4[i].Bits);
                Assert.Equal(EncodeE4M3Sat(src[i]), e4s[i].Bits);
                Assert.Equal(EncodeE5M2(src[i]), e5[i].Bits);
                Assert.Equal(EncodeE5M2Sat(src[i]), e5s[i].Bits);
            }
            DTypeConvert.ToSingle(bf, back);
            for (var i = 0; i < n; i++) { Assert.Equal(BitConverter.SingleToUInt32Bits(bf[i].ToSingle()), BitConverter.SingleToUInt32Bits(back[i])); }
            DTypeConvert.ToSingle(h, back);
            for (var i = 0; i < n; i++) { Assert.Equal(BitConverter.SingleToUInt32Bits((float)h[i]), BitConverter.SingleToUInt32Bits(back[i])); }
            DTypeConvert.ToSingle(e4, back);
            for (var i = 0; i < n; i++) { Assert.Equal(BitConverter.SingleToUInt32Bits(e4[i].ToSingle()), BitConverter.SingleToUInt32Bits(back[i])); }
            DTypeConvert.ToSingle(e5, back);
            for (var i = 0; i < n; i++) { Assert.Equal(BitConverter.SingleToUInt32Bits(e5[i].ToSingle()), BitConverter.SingleToUInt32Bits(back[i])); }
        }
    }

    [Fact]
    public void Bulk_BFloat16_EveryCodeWidensExactly()
    {
        var codes = new BFloat16[65536];
        for (var c = 0; c < codes.Length; c++) { codes[c] = new BFloat16((ushort)c); }
        var wide = new float[codes.Length];
        DTypeConvert.ToSingle(codes, wide);
        for (var c = 0; c < codes.Length; c++) { Assert.Equal((uint)c << 16, BitConverter.SingleToUInt32Bits(wide[c])); }
    }

    [Fact]
    public void Bulk_Half_EveryCodeWidensLikeSystemHalf_AndNarrowsBack()
    {
        var codes = new Half[65536];
        for (var c = 0; c < codes.Length; c++) { codes[c] = BitConverter.UInt16BitsToHalf((ushort)c); }
        var wide = new float[codes.Length];
        DTypeConvert.ToSingle(codes, wide);
        var narrow = new Half[codes.Length];
        DTypeConvert.ToHalf(wide, narrow);
        for (var c = 0; c < codes.Length; c++)
        {
            Assert.Equal(BitConverter.SingleToUInt32Bits((float)codes[c]), BitConverter.SingleToUInt32Bits(wide[c]));
            Assert.Equal(BitConverter.HalfToUInt16Bits((Half)wide[c]), BitConverter.HalfToUInt16Bits(narrow[c]));
        }
    }

    [Fact]
    public void Bulk_Fp8_EveryCodeDecodesLikeTheTable()
    {
        // every code four times over (1024 = vector blocks only), then shifted by 7 so the tails see every code too
        for (var shift = 0; shift < 8; shift += 7)
        {
            var codes = Enumerable.Range(0, 1024 + shift).Select(c => (byte)((c + shift) & 0xFF)).ToArray();
            var e4 = codes.Select(c => new Float8E4M3(c)).ToArray();
            var e5 = codes.Select(c => new Float8E5M2(c)).ToArray();
            var wide = new float[codes.Length];
            DTypeConvert.ToSingle(e4, wide);
            for (var i = 0; i < codes.Length; i++) { Assert.Equal(BitConverter.SingleToUInt32Bits(DecodeE4M3(codes[i])), BitConverter.SingleToUInt32Bits(wide[i])); }
            DTypeConvert.ToSingle(e5, wide);
            for (var i = 0; i < codes.Length; i++) { Assert.Equal(BitConverter.SingleToUInt32Bits(DecodeE5M2(codes[i])), BitConverter.SingleToUInt32Bits(wide[i])); }
        }
    }

    [Fact]
    public void Bulk_LengthMismatch_ThrowsNamingBothLengths()
    {
        var e = Assert.Throws<ArgumentException>(() => DTypeConvert.ToBFloat16(new float[5], new BFloat16[4]));
        Assert.Contains("4", e.Message, StringComparison.Ordinal);
        Assert.Contains("5", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => DTypeConvert.ToSingle(new Float8E4M3[3], new float[2]));
        Assert.Throws<ArgumentException>(() => DTypeConvert.ToFloat8E5M2(new float[3], new Float8E5M2[4]));
    }
}
