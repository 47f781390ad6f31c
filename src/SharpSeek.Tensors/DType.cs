// DType.cs: the element types a Tensor can hold and their sizes. Not here: conversions (BFloat16.cs, Float8*.cs). Tested through TensorTests, ArenaTests and SafeTensorsFileTests.
namespace SharpSeek.Tensors;

/// <summary>Element type of a <see cref="Tensor"/>.</summary>
public enum DType : byte
{
    F32,
    F64,
    BF16,
    F16,
    F8E4M3,
    F8E5M2,
    I32,
    I64,
}

/// <summary>Sizes and names of <see cref="DType"/> values.</summary>
public static class DTypeInfo
{
    /// <summary>Bytes per element.</summary>
    public static int SizeOf(this DType dtype) => dtype switch
    {
        DType.F32 or DType.I32 => 4,
        DType.F64 or DType.I64 => 8,
        DType.BF16 or DType.F16 => 2,
        DType.F8E4M3 or DType.F8E5M2 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>The safetensors name of the dtype (F32, BF16, F8_E4M3, ...).</summary>
    public static string SafetensorsName(this DType dtype) => dtype switch
    {
        DType.F32 => "F32",
        DType.F64 => "F64",
        DType.BF16 => "BF16",
        DType.F16 => "F16",
        DType.F8E4M3 => "F8_E4M3",
        DType.F8E5M2 => "F8_E5M2",
        DType.I32 => "I32",
        DType.I64 => "I64",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>The dtype whose element is the CLR type <typeparamref name="T"/>.</summary>
    public static DType Of<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(float)) { return DType.F32; }
        if (typeof(T) == typeof(double)) { return DType.F64; }
        if (typeof(T) == typeof(BFloat16)) { return DType.BF16; }
        if (typeof(T) == typeof(Half)) { return DType.F16; }
        if (typeof(T) == typeof(Float8E4M3)) { return DType.F8E4M3; }
        if (typeof(T) == typeof(Float8E5M2)) { return DType.F8E5M2; }
        if (typeof(T) == typeof(int)) { return DType.I32; }
        if (typeof(T) == typeof(long)) { return DType.I64; }
        throw new NotSupportedException($"no dtype holds elements of type {typeof(T).Name}");
    }
}
