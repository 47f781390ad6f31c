// Float8E5M2.cs: the OCP E5M2 storage type (S.EEEEE.MM, bias 15, IEEE-like infinities and NaNs) and its decode table.
// Encoding lives with the other conversions. Tested by ConversionTests.
namespace SharpSeek.Tensors;

/// <summary>An FP8 E5M2 value stored as its 8 raw bits.</summary>
public readonly partial struct Float8E5M2
{
    /// <summary>Largest finite magnitude, S.11110.11.</summary>
    public const float MaxValue = 57344f;

    private static readonly float[] Decode = BuildDecodeTable();

    public Float8E5M2(byte bits) => Bits = bits;

    public byte Bits { get; }

    /// <summary>The f32 value of every code, indexed by the code (exact).</summary>
    public static ReadOnlySpan<float> DecodeTable => Decode;

    public float ToSingle() => Decode[Bits];

    public override string ToString() => ToSingle().ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static float[] BuildDecodeTable()
    {
        var table = new float[256];
        for (var code = 0; code < 256; code++)
        {
            var sign = (code & 0x80) != 0 ? -1f : 1f;
            var e = (code >> 2) & 0x1F;
            var m = code & 0x3;
            table[code] = e == 0x1F ? (m == 0 ? sign * float.PositiveInfinity : float.NaN)
                : e == 0 ? sign * MathF.ScaleB(m, -16)               // subnormal: m/4 * 2^(1-15)
                : sign * MathF.ScaleB(4 + m, e - 15 - 2);             // (1 + m/4) * 2^(e-15)
        }
        return table;
    }
}
