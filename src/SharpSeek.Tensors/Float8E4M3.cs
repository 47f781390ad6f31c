// Float8E4M3.cs: the OCP E4M3FN storage type (S.EEEE.MMM, no infinities). Tested by ConversionTests.
namespace SharpSeek.Tensors;

/// <summary>An FP8 E4M3FN value stored as its 8 raw bits.</summary>
public readonly partial struct Float8E4M3
{
    public Float8E4M3(byte bits) => Bits = bits;

    public byte Bits { get; }
}
