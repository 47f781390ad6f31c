// FloatE5M6.cs: the 12-bit E5M6 format DeepSeek-V3 caches the o_proj input in (arXiv:2412.19437 §3.3.3, "a customized
// E5M6 data format"), with its quantizer over 1×128 tiles whose scales are integral powers of two. The paper gives no
// layout; the assumption here is FP16's with the mantissa cut to 6 bits: S.EEEEE.MMMMMM, bias 15, subnormals at
// exponent field 0 (down to 2⁻²⁰), exponent field 31 for infinities and NaNs, largest finite (2 − 2⁻⁶)·2¹⁵ = 65024,
// round to nearest, ties to even. With power-of-two scales a tile requantized from its own codes gets the same codes,
// which is what lets the paper convert the cache from 1×128 to 128×1 tiles without new error. Stored in the low 12 bits
// of a ushort. Not here: which tensor uses it. Tested by FloatE5M6Tests.
namespace SharpSeek.Tensors;

/// <summary>An E5M6 value as its 12 raw bits (in a ushort).</summary>
public readonly struct FloatE5M6
{
    /// <summary>Largest finite magnitude, S.11110.111111.</summary>
    public const float MaxValue = 65024f;

    /// <summary>Elements per scale along a row.</summary>
    public const int Tile = 128;

    private const int MantissaBits = 6;
    private const int Bias = 15;
    private static readonly float[] Decode = BuildDecodeTable();

    public FloatE5M6(ushort bits) => Bits = (ushort)(bits & 0xFFF);

    public ushort Bits { get; }

    /// <summary>The f32 value of every code (4096), indexed by the code (exact).</summary>
    public static ReadOnlySpan<float> DecodeTable => Decode;

    public float ToSingle() => Decode[Bits];

    public override string ToString() => ToSingle().ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The nearest E5M6 value to <paramref name="x"/> (ties to even); beyond the largest finite value by half a
    /// step or more, infinity; NaN stays NaN.</summary>
    public static FloatE5M6 FromSingle(float x)
    {
        var sign = float.IsNegative(x) ? 1 << 11 : 0;
        if (float.IsNaN(x)) { return new FloatE5M6((ushort)0xFFF); }
        double a = Math.Abs(x);
        if (double.IsInfinity(a)) { return new FloatE5M6((ushort)(sign | (0x1F << MantissaBits))); }
        int field, mantissa;
        if (a < Math.ScaleB(1.0, 1 - Bias))
        {
            // subnormal: a multiple of 2^(1 − bias − 6); the double quotient is exact, its rounding the only one
            var m = (int)Math.Round(Math.ScaleB(a, Bias - 1 + MantissaBits), MidpointRounding.ToEven);
            (field, mantissa) = m == 1 << MantissaBits ? (1, 0) : (0, m);
        }
        else
        {
            var e = Math.ILogB(a);
            var m = (long)Math.Round(Math.ScaleB(a, MantissaBits - e), MidpointRounding.ToEven); // in [64, 128]
            if (m == 2 << MantissaBits) { (e, m) = (e + 1, 1 << MantissaBits); }
            if (e + Bias >= 0x1F) { return new FloatE5M6((ushort)(sign | (0x1F << MantissaBits))); }
            (field, mantissa) = (e + Bias, (int)m - (1 << MantissaBits));
        }
        return new FloatE5M6((ushort)(sign | (field << MantissaBits) | mantissa));
    }

    /// <summary>values (rows, cols) → codes and one power-of-two scale per row per 1×128 tile: scale = 2^⌈log2(amax /
    /// MaxValue)⌉ (at least 2⁻¹²⁶; 1 for an all-zero tile), codes = E5M6(x / scale). A NaN or infinity throws
    /// <see cref="Kernels.NonFiniteTensorException"/> naming <paramref name="what"/>.</summary>
    public static void QuantizeTiles(ReadOnlySpan<float> values, int rows, int cols, Span<ushort> codes, Span<float> scales, string what)
    {
        var tiles = (cols + Tile - 1) / Tile;
        if (rows < 0 || cols < 0 || values.Length < (long)rows * cols || codes.Length < (long)rows * cols || scales.Length < (long)rows * tiles)
        {
            throw new ArgumentException($"E5M6 tiles of ({rows}, {cols}): expected at least {(long)rows * cols} values and codes and {(long)rows * tiles} scales; got {values.Length}, {codes.Length} and {scales.Length}");
        }
        for (var r = 0; r < rows; r++)
        {
            for (var t = 0; t < tiles; t++)
            {
                var start = (r * cols) + (t * Tile);
                var tile = values.Slice(start, Math.Min(Tile, cols - (t * Tile)));
                var amax = 0f;
                for (var i = 0; i < tile.Length; i++)
                {
                    if (!float.IsFinite(tile[i])) { throw new Kernels.NonFiniteTensorException($"{what}: {tile[i]} at row {r}, column {(t * Tile) + i}; expected finite values"); }
                    amax = Math.Max(amax, Math.Abs(tile[i]));
                }
                var exponent = Math.Clamp((int)Math.Ceiling(Math.Log2(amax / (double)MaxValue)), -126, 127); // a normal f32 scale
                var scale = amax == 0 ? 1f : MathF.ScaleB(1f, exponent);
                scales[(r * tiles) + t] = scale;
                for (var i = 0; i < tile.Length; i++) { codes[start + i] = FromSingle(tile[i] / scale).Bits; }
            }
        }
    }

    /// <summary>Inverse of <see cref="QuantizeTiles"/>: x[r, c] = E5M6(codes[r, c]) · scales[r, c / 128], exact in f32.</summary>
    public static void DequantizeTiles(ReadOnlySpan<ushort> codes, ReadOnlySpan<float> scales, int rows, int cols, Span<float> values)
    {
        var tiles = (cols + Tile - 1) / Tile;
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < cols; c++) { values[(r * cols) + c] = Decode[codes[(r * cols) + c] & 0xFFF] * scales[(r * tiles) + (c / Tile)]; }
        }
    }

    private static float[] BuildDecodeTable()
    {
        var table = new float[1 << 12];
        for (var code = 0; code < table.Length; code++)
        {
            var sign = (code & 0x800) != 0 ? -1f : 1f;
            var e = (code >> MantissaBits) & 0x1F;
            var m = code & ((1 << MantissaBits) - 1);
            table[code] = e == 0x1F ? (m == 0 ? sign * float.PositiveInfinity : float.NaN)
                : e == 0 ? sign * MathF.ScaleB(m, 1 - Bias - MantissaBits)                  // m/64 · 2^(1−15)
                : sign * MathF.ScaleB((1 << MantissaBits) + m, e - Bias - MantissaBits);   // (1 + m/64) · 2^(e−15)
        }
        return table;
    }
}
