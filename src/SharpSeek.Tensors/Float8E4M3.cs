// Float8E4M3.cs: the OCP E4M3FN storage type (S.EEEE.MMM, bias 7, no infinities, NaN = S.1111.111) and its decode table.
// Encoding (RNE, saturation rules) lives with the other conversions. Tested by ConversionTests.
namespace SharpSeek.Tensors;

/// <summary>An FP8 E4M3FN value stored as its 8 raw bits.</summary>
public readonly partial struct Float8E4M3
{
    /// <summary>Largest finite magnitude, S.1111.110.</summary>
    public const float MaxValue = 448f;

    private static readonly float[] Decode = BuildDecodeTable();

    public Float8E4M3(byte bits) => Bits = bits;

    public byte Bits { get; }

    /// <summary>The f32 value of every code, indexed by the code (exact; NaN for 0x7F and 0xFF).</summary>
    public static ReadOnlySpan<float> DecodeTable => Decode;

    public float ToSingle() => Decode[Bits];

    public override string ToString() => ToSingle().ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static float[] BuildDecodeTable()
    {
        var table = new float[256];
        for (var code = 0; code < 256; code++)
        {
            var sign = (code & 0x80) != 0 ? -1f : 1f;
            var e = (code >> 3) & 0xF;
            var m = code & 0x7;
            table[code] = e == 0xF && m == 0x7 ? float.NaN
                : e == 0 ? sign * MathF.ScaleB(m, -9)                // subnormal: m/8 * 2^(1-7)
                : sign * MathF.ScaleB(8 + m, e - 7 - 3);              // (1 + m/8) * 2^(e-7)
        }
        return table;
    }
}
