// Float8E5M2.cs: the OCP E5M2 storage type (S.EEEEE.MM, IEEE-like). Tested by ConversionTests.
namespace SharpSeek.Tensors;

/// <summary>An FP8 E5M2 value stored as its 8 raw bits.</summary>
public readonly partial struct Float8E5M2
{
    public Float8E5M2(byte bits) => Bits = bits;

    public byte Bits { get; }
}
