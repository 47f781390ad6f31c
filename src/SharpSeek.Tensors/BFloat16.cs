// BFloat16.cs: the bfloat16 storage type (S.E8.M7) and its widening to f32. Encoding (RNE) lives with the other
// conversions. Tested by ConversionTests.
namespace SharpSeek.Tensors;

/// <summary>A bfloat16 value stored as its 16 raw bits: the top half of an IEEE f32.</summary>
public readonly partial struct BFloat16
{
    public BFloat16(ushort bits) => Bits = bits;

    public ushort Bits { get; }

    /// <summary>The exact f32 value: the bits shifted into the top half.</summary>
    public float ToSingle() => BitConverter.UInt32BitsToSingle((uint)Bits << 16);

    public override string ToString() => ToSingle().ToString(System.Globalization.CultureInfo.InvariantCulture);
}
