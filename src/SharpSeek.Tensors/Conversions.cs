// Conversions.cs: the scalar f32 -> BF16/E4M3/E5M2 encoders (round to nearest, ties to even) and their overflow rules.
// f16 is System.Half, whose conversion is already RNE. Not here: bulk span conversions (Kernels/Convert.cs), block
// scaling (Kernels/Fp8Quant.cs). Tested by ConversionTests.
namespace SharpSeek.Tensors;

public readonly partial struct BFloat16
{
    /// <summary>
    /// Rounds <paramref name="value"/> to the nearest bfloat16, ties to even, on the top 16 bits of its f32 encoding.
    /// Values past the largest finite bfloat16 round to ±Inf; NaN stays a quiet NaN with its sign; -0 stays -0;
    /// subnormals round like every other value (gradual underflow).
    /// </summary>
    public static BFloat16 FromSingle(float value) => new(Encode(BitConverter.SingleToUInt32Bits(value)));

    internal static ushort Encode(uint bits)
    {
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000)
        {
            return (ushort)((bits >> 16) | 0x0040); // quiet the NaN; the sign and top payload bits survive
        }
        // RNE: add just under half an ulp, plus one when the kept lsb is odd, and let the carry ripple into the exponent.
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }
}

public readonly partial struct Float8E4M3
{
    // |x| bits at and above which each path changes: 480 = 1.875 * 2^8 (first value past the code S.1111.111), the
    // rounding midpoint 464 between 448 and 480, and 2^-6, the smallest normal.
    internal const uint MaxBits = 0x43E0_0000;                // 448f
    internal const uint MinNormalBits = 121u << 23;           // 2^-6
    // Adding 2^14 to |x| < 2^-6 leaves the f32 ulp at 2^-9, the E4M3 subnormal step, so the f32 add does the RNE.
    internal const uint SubnormalMagicBits = 141u << 23;      // 2^14

    /// <summary>
    /// Rounds <paramref name="value"/> to the nearest E4M3FN value, ties to even, as PyTorch's <c>float8_e4m3fn</c> does.
    /// The code S.1111.111 is NaN, so |x| in [448, 464] gives ±448 and |x| &gt; 464 (the midpoint to the NaN code),
    /// ±Inf and NaN give NaN (0x7F, or 0xFF when negative). Subnormals round to the 2^-9 grid; below 2^-10 gives ±0.
    /// </summary>
    public static Float8E4M3 FromSingle(float value) => new(Encode(BitConverter.SingleToUInt32Bits(value), saturate: false));

    /// <summary>
    /// Like <see cref="FromSingle"/>, but finite values and ±Inf past 448 clamp to ±448 (NVIDIA <c>__NV_SATFINITE</c>);
    /// NaN still gives NaN.
    /// </summary>
    public static Float8E4M3 FromSingleSaturating(float value) => new(Encode(BitConverter.SingleToUInt32Bits(value), saturate: true));

    internal static byte Encode(uint bits, bool saturate)
    {
        var sign = (byte)((bits >> 24) & 0x80);
        var a = bits & 0x7FFF_FFFF;
        byte q;
        if (a > 0x7F80_0000)
        {
            q = 0x7F;
        }
        else if (saturate && a >= MaxBits)
        {
            q = 0x7E;
        }
        else if (a > 0x43E8_0000) // 464f: past the tie with 448, RNE would land on the NaN code (or beyond it)
        {
            q = 0x7F;
        }
        else if (a < MinNormalBits)
        {
            var sum = BitConverter.SingleToUInt32Bits(BitConverter.UInt32BitsToSingle(a) + BitConverter.UInt32BitsToSingle(SubnormalMagicBits));
            q = (byte)(sum - SubnormalMagicBits); // 0..8; 8 is the smallest normal, code 0x08
        }
        else
        {
            // rebias 127 -> 7 and round the 23-bit mantissa to 3 bits (RNE), carry into the exponent
            q = (byte)((a + unchecked((7u - 127u) << 23) + 0x7FFFF + ((a >> 20) & 1)) >> 20);
        }
        return (byte)(q | sign);
    }
}

public readonly partial struct Float8E5M2
{
    // 61440 = 1.875 * 2^15, the midpoint between 57344 and 2^16 (the Inf code); ties go to the even code, Inf.
    internal const uint InfThresholdBits = 0x4770_0000;       // 61440f
    internal const uint MaxBits = 0x4760_0000;                // 57344f
    internal const uint MinNormalBits = 113u << 23;           // 2^-14
    // Adding 2^7 to |x| < 2^-14 leaves the f32 ulp at 2^-16, the E5M2 subnormal step.
    internal const uint SubnormalMagicBits = 134u << 23;      // 2^7

    /// <summary>
    /// Rounds <paramref name="value"/> to the nearest E5M2 value, ties to even, as PyTorch's <c>float8_e5m2</c> does:
    /// |x| &gt;= 61440 (the midpoint past 57344) and ±Inf give ±Inf, NaN gives NaN (0x7F, or 0xFF when negative).
    /// Subnormals round to the 2^-16 grid; below 2^-17 gives ±0.
    /// </summary>
    public static Float8E5M2 FromSingle(float value) => new(Encode(BitConverter.SingleToUInt32Bits(value), saturate: false));

    /// <summary>Like <see cref="FromSingle"/>, but finite values and ±Inf past 57344 clamp to ±57344; NaN still gives NaN.</summary>
    public static Float8E5M2 FromSingleSaturating(float value) => new(Encode(BitConverter.SingleToUInt32Bits(value), saturate: true));

    internal static byte Encode(uint bits, bool saturate)
    {
        var sign = (byte)((bits >> 24) & 0x80);
        var a = bits & 0x7FFF_FFFF;
        byte q;
        if (a > 0x7F80_0000)
        {
            q = 0x7F;
        }
        else if (a >= InfThresholdBits)
        {
            q = saturate ? (byte)0x7B : (byte)0x7C;
        }
        else if (a < MinNormalBits)
        {
            var sum = BitConverter.SingleToUInt32Bits(BitConverter.UInt32BitsToSingle(a) + BitConverter.UInt32BitsToSingle(SubnormalMagicBits));
            q = (byte)(sum - SubnormalMagicBits); // 0..4; 4 is the smallest normal, code 0x04
        }
        else
        {
            // rebias 127 -> 15 and round the 23-bit mantissa to 2 bits (RNE), carry into the exponent
            q = (byte)((a + unchecked((15u - 127u) << 23) + 0xFFFFF + ((a >> 21) & 1)) >> 21);
        }
        return (byte)(q | sign);
    }
}
