// BFloat16.cs: the bfloat16 storage type (S.E8.M7). Conversions are completed in the dtype work. Tested by ConversionTests.
namespace SharpSeek.Tensors;

/// <summary>A bfloat16 value stored as its 16 raw bits.</summary>
public readonly partial struct BFloat16
{
    public BFloat16(ushort bits) => Bits = bits;

    public ushort Bits { get; }
}
