// DTypeConvert.cs: bulk span conversions between f32 and BF16, F16, E4M3, E5M2, equal element by element to the scalar
// encoders in Conversions.cs. BF16 both ways and the FP8 encoders are vectorized (Vector256, then Vector128, then scalar);
// F16 both ways is vectorized to match System.Half bit for bit; E4M3 decode is vectorized too, E5M2 decode reads the 256-entry table. Named DTypeConvert, not Convert, so it never clashes with System.Convert.
// Not here: block scaling (Fp8Quant.cs). Tested by ConversionTests.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SharpSeek.Tensors.Kernels;

/// <summary>Element-wise dtype conversions over spans: <c>dst[i] = convert(src[i])</c>, with the rounding of the scalar encoders.</summary>
public static class DTypeConvert
{
    /// <summary>Widens BF16 to f32 (exact).</summary>
    public static void ToSingle(ReadOnlySpan<BFloat16> src, Span<float> dst)
    {
        CheckLengths(src.Length, dst.Length);
        ref var s = ref MemoryMarshal.GetReference(MemoryMarshal.Cast<BFloat16, ushort>(src));
        ref var d = ref MemoryMarshal.GetReference(MemoryMarshal.Cast<float, uint>(dst));
        var n = src.Length;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - Vector256<ushort>.Count; i += Vector256<ushort>.Count)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref s, (nuint)i));
                (lo << 16).StoreUnsafe(ref d, (nuint)i);
                (hi << 16).StoreUnsafe(ref d, (nuint)(i + Vector256<uint>.Count));
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            for (; i <= n - Vector128<ushort>.Count; i += Vector128<ushort>.Count)
            {
                var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref s, (nuint)i));
                (lo << 16).StoreUnsafe(ref d, (nuint)i);
                (hi << 16).StoreUnsafe(ref d, (nuint)(i + Vector128<uint>.Count));
            }
        }
        for (; i < n; i++)
        {
            Unsafe.Add(ref d, i) = (uint)Unsafe.Add(ref s, i) << 16;
        }
    }

    /// <summary>Rounds f32 to BF16, ties to even; NaN stays a quiet NaN with its sign (see <see cref="BFloat16.FromSingle"/>).</summary>
    public static void ToBFloat16(ReadOnlySpan<float> src, Span<BFloat16> dst)
    {
        CheckLengths(src.Length, dst.Length);
        ref var s = ref MemoryMarshal.GetReference(MemoryMarshal.Cast<float, uint>(src));
        ref var d = ref MemoryMarshal.GetReference(MemoryMarshal.Cast<BFloat16, ushort>(dst));
        var n = src.Length;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - Vector256<ushort>.Count; i += Vector256<ushort>.Count)
            {
                var lo = EncodeBf16(Vector256.LoadUnsafe(ref s, (nuint)i));
                var hi = EncodeBf16(Vector256.LoadUnsafe(ref s, (nuint)(i + Vector256<uint>.Count)));
                Vector256.Narrow(lo, hi).StoreUnsafe(ref d, (nuint)i);
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            for (; i <= n - Vector128<ushort>.Count; i += Vector128<ushort>.Count)
            {
                var lo = EncodeBf16(Vector128.LoadUnsafe(ref s, (nuint)i));
                var hi = EncodeBf16(Vector128.LoadUnsafe(ref s, (nuint)(i + Vector128<uint>.Count)));
                Vector128.Narrow(lo, hi).StoreUnsafe(ref d, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            Unsafe.Add(ref d, i) = BFloat16.Encode(Unsafe.Add(ref s, i));
        }
    }

    /// <summary>Widens F16 to f32 (exact; NaN payloads as <see cref="System.Half"/>'s conversion keeps them).</summary>
    public static void ToSingle(ReadOnlySpan<Half> src, Span<float> dst)
    {
        CheckLengths(src.Length, dst.Length);
        ref var s = ref MemoryMarshal.GetReference(MemoryMarshal.Cast<Half, ushort>(src));
        ref var d = ref MemoryMarshal.GetReference(MemoryMarshal.Cast<float, uint>(dst));
        var n = src.Length;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - Vector256<ushort>.Count; i += Vector256<ushort>.Count)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref s, (nuint)i));
                DecodeHalf(lo).StoreUnsafe(ref d, (nuint)i);
                DecodeHalf(hi).StoreUnsafe(ref d, (nuint)(i + Vector256<uint>.Count));
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            for (; i <= n - Vector128<ushort>.Count; i += Vector128<ushort>.Count)
            {
                var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref s, (nuint)i));
                DecodeHalf(lo).StoreUnsafe(ref d, (nuint)i);
                DecodeHalf(hi).StoreUnsafe(ref d, (nuint)(i + Vector128<uint>.Count));
            }
        }
        for (; i < n; i++)
        {
            Unsafe.Add(ref d, i) = BitConverter.SingleToUInt32Bits((float)BitConverter.UInt16BitsToHalf(Unsafe.Add(ref s, i)));
        }
    }

    /// <summary>Rounds f32 to F16 exactly as <see cref="System.Half"/>'s conversion does (ties to even, overflow to ±Inf).</summary>
    public static void ToHalf(ReadOnlySpan<float> src, Span<Half> dst)
    {
        CheckLengths(src.Length, dst.Length);
        ref var s = ref MemoryMarshal.GetReference(MemoryMarshal.Cast<float, uint>(src));
        ref var d = ref MemoryMarshal.GetReference(MemoryMarshal.Cast<Half, ushort>(dst));
        var n = src.Length;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - Vector256<ushort>.Count; i += Vector256<ushort>.Count)
            {
                var lo = EncodeHalf(Vector256.LoadUnsafe(ref s, (nuint)i));
                var hi = EncodeHalf(Vector256.LoadUnsafe(ref s, (nuint)(i + Vector256<uint>.Count)));
                Vector256.Narrow(lo, hi).StoreUnsafe(ref d, (nuint)i);
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            for (; i <= n - Vector128<ushort>.Count; i += Vector128<ushort>.Count)
            {
                var lo = EncodeHalf(Vector128.LoadUnsafe(ref s, (nuint)i));
                var hi = EncodeHalf(Vector128.LoadUnsafe(ref s, (nuint)(i + Vector128<uint>.Count)));
                Vector128.Narrow(lo, hi).StoreUnsafe(ref d, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            Unsafe.Add(ref d, i) = BitConverter.HalfToUInt16Bits((Half)BitConverter.UInt32BitsToSingle(Unsafe.Add(ref s, i)));
        }
    }

    /// <summary>Decodes E4M3FN to f32 through the table (exact; NaN for 0x7F/0xFF).</summary>
    public static void ToSingle(ReadOnlySpan<Float8E4M3> src, Span<float> dst)
    {
        CheckLengths(src.Length, dst.Length);
        DecodeE4M3(MemoryMarshal.AsBytes(src), 1f, dst);
    }

    /// <summary>Decodes E5M2 to f32 through the table (exact).</summary>
    public static void ToSingle(ReadOnlySpan<Float8E5M2> src, Span<float> dst)
        => Lookup(MemoryMarshal.AsBytes(src), Float8E5M2.DecodeTable, dst);

    /// <summary>Rounds f32 to E4M3FN, ties to even, overflow to NaN (see <see cref="Float8E4M3.FromSingle"/>).</summary>
    public static void ToFloat8E4M3(ReadOnlySpan<float> src, Span<Float8E4M3> dst)
    {
        CheckLengths(src.Length, dst.Length);
        EncodeE4M3(src, 1f, saturate: false, MemoryMarshal.AsBytes(dst));
    }

    /// <summary>Rounds f32 to E4M3FN, ties to even, clamping to ±448 (see <see cref="Float8E4M3.FromSingleSaturating"/>).</summary>
    public static void ToFloat8E4M3Saturating(ReadOnlySpan<float> src, Span<Float8E4M3> dst)
    {
        CheckLengths(src.Length, dst.Length);
        EncodeE4M3(src, 1f, saturate: true, MemoryMarshal.AsBytes(dst));
    }

    /// <summary>Rounds f32 to E5M2, ties to even, overflow to ±Inf (see <see cref="Float8E5M2.FromSingle"/>).</summary>
    public static void ToFloat8E5M2(ReadOnlySpan<float> src, Span<Float8E5M2> dst)
    {
        CheckLengths(src.Length, dst.Length);
        EncodeE5M2(src, saturate: false, MemoryMarshal.AsBytes(dst));
    }

    /// <summary>Rounds f32 to E5M2, ties to even, clamping to ±57344 (see <see cref="Float8E5M2.FromSingleSaturating"/>).</summary>
    public static void ToFloat8E5M2Saturating(ReadOnlySpan<float> src, Span<Float8E5M2> dst)
    {
        CheckLengths(src.Length, dst.Length);
        EncodeE5M2(src, saturate: true, MemoryMarshal.AsBytes(dst));
    }

    /// <summary>dst[i] = E4M3(src[i] / divisor); the caller checks the lengths. Fp8Quant uses this with the block scale.</summary>
    internal static void EncodeE4M3(ReadOnlySpan<float> src, float divisor, bool saturate, Span<byte> dst)
    {
        ref var s = ref MemoryMarshal.GetReference(src);
        ref var d = ref MemoryMarshal.GetReference(dst);
        var n = src.Length;
        var divide = divisor != 1f;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var div = Vector256.Create(divisor);
            for (; i <= n - Vector256<byte>.Count; i += Vector256<byte>.Count)
            {
                var q0 = E4M3(Load(ref s, i, div, divide), saturate);
                var q1 = E4M3(Load(ref s, i + 8, div, divide), saturate);
                var q2 = E4M3(Load(ref s, i + 16, div, divide), saturate);
                var q3 = E4M3(Load(ref s, i + 24, div, divide), saturate);
                Vector256.Narrow(Vector256.Narrow(q0, q1), Vector256.Narrow(q2, q3)).StoreUnsafe(ref d, (nuint)i);
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            var div = Vector128.Create(divisor);
            for (; i <= n - Vector128<byte>.Count; i += Vector128<byte>.Count)
            {
                var q0 = E4M3(Load(ref s, i, div, divide), saturate);
                var q1 = E4M3(Load(ref s, i + 4, div, divide), saturate);
                var q2 = E4M3(Load(ref s, i + 8, div, divide), saturate);
                var q3 = E4M3(Load(ref s, i + 12, div, divide), saturate);
                Vector128.Narrow(Vector128.Narrow(q0, q1), Vector128.Narrow(q2, q3)).StoreUnsafe(ref d, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            var x = Unsafe.Add(ref s, i);
            Unsafe.Add(ref d, i) = Float8E4M3.Encode(BitConverter.SingleToUInt32Bits(divide ? x / divisor : x), saturate);
        }
    }

    /// <summary>dst[i] = decode(src[i]) * scale, bit-identical to the table for scale 1; the caller checks the lengths.</summary>
    internal static void DecodeE4M3(ReadOnlySpan<byte> src, float scale, Span<float> dst)
    {
        ref var s = ref MemoryMarshal.GetReference(src);
        ref var d = ref MemoryMarshal.GetReference(dst);
        var n = src.Length;
        var multiply = scale != 1f;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var sc = Vector256.Create(scale);
            for (; i <= n - Vector256<byte>.Count; i += Vector256<byte>.Count)
            {
                var (b0, b1) = Vector256.Widen(Vector256.LoadUnsafe(ref s, (nuint)i));
                var (c0, c1) = Vector256.Widen(b0);
                var (c2, c3) = Vector256.Widen(b1);
                Store(DecodeE4M3(c0), sc, multiply, ref d, i);
                Store(DecodeE4M3(c1), sc, multiply, ref d, i + 8);
                Store(DecodeE4M3(c2), sc, multiply, ref d, i + 16);
                Store(DecodeE4M3(c3), sc, multiply, ref d, i + 24);
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            var sc = Vector128.Create(scale);
            for (; i <= n - Vector128<byte>.Count; i += Vector128<byte>.Count)
            {
                var (b0, b1) = Vector128.Widen(Vector128.LoadUnsafe(ref s, (nuint)i));
                var (c0, c1) = Vector128.Widen(b0);
                var (c2, c3) = Vector128.Widen(b1);
                Store(DecodeE4M3(c0), sc, multiply, ref d, i);
                Store(DecodeE4M3(c1), sc, multiply, ref d, i + 4);
                Store(DecodeE4M3(c2), sc, multiply, ref d, i + 8);
                Store(DecodeE4M3(c3), sc, multiply, ref d, i + 12);
            }
        }
        ref var table = ref MemoryMarshal.GetReference(Float8E4M3.DecodeTable);
        for (; i < n; i++)
        {
            var x = Unsafe.Add(ref table, Unsafe.Add(ref s, i)); // a byte always indexes inside the 256-entry table
            Unsafe.Add(ref d, i) = multiply ? x * scale : x;
        }
    }

    /// <summary>dst[i] = E4M3(src[i] / divisors[i]), overflow to NaN: <see cref="EncodeE4M3(ReadOnlySpan{float}, float, bool, Span{byte})"/> with a divisor per element (a
    /// 128×1 tile's scales along a row, Fp8Quant.QuantizeColumns); the caller checks the lengths.</summary>
    internal static void EncodeE4M3(ReadOnlySpan<float> src, ReadOnlySpan<float> divisors, Span<byte> dst)
    {
        ref var s = ref MemoryMarshal.GetReference(src);
        ref var v = ref MemoryMarshal.GetReference(divisors);
        ref var d = ref MemoryMarshal.GetReference(dst);
        var n = src.Length;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - Vector256<byte>.Count; i += Vector256<byte>.Count)
            {
                var q0 = E4M3(Divided(ref s, ref v, i), saturate: false);
                var q1 = E4M3(Divided(ref s, ref v, i + 8), saturate: false);
                var q2 = E4M3(Divided(ref s, ref v, i + 16), saturate: false);
                var q3 = E4M3(Divided(ref s, ref v, i + 24), saturate: false);
                Vector256.Narrow(Vector256.Narrow(q0, q1), Vector256.Narrow(q2, q3)).StoreUnsafe(ref d, (nuint)i);
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            for (; i <= n - Vector128<byte>.Count; i += Vector128<byte>.Count)
            {
                var q0 = E4M3(Divided128(ref s, ref v, i), saturate: false);
                var q1 = E4M3(Divided128(ref s, ref v, i + 4), saturate: false);
                var q2 = E4M3(Divided128(ref s, ref v, i + 8), saturate: false);
                var q3 = E4M3(Divided128(ref s, ref v, i + 12), saturate: false);
                Vector128.Narrow(Vector128.Narrow(q0, q1), Vector128.Narrow(q2, q3)).StoreUnsafe(ref d, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            Unsafe.Add(ref d, i) = Float8E4M3.Encode(BitConverter.SingleToUInt32Bits(Unsafe.Add(ref s, i) / Unsafe.Add(ref v, i)), saturate: false);
        }
    }

    /// <summary>dst[i] = decode(src[i]) · scales[i]: <see cref="DecodeE4M3(ReadOnlySpan{byte}, float, Span{float})"/>
    /// with a scale per element; the caller checks the lengths.</summary>
    internal static void DecodeE4M3(ReadOnlySpan<byte> src, ReadOnlySpan<float> scales, Span<float> dst)
    {
        ref var s = ref MemoryMarshal.GetReference(src);
        ref var v = ref MemoryMarshal.GetReference(scales);
        ref var d = ref MemoryMarshal.GetReference(dst);
        var n = src.Length;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - Vector256<byte>.Count; i += Vector256<byte>.Count)
            {
                var (b0, b1) = Vector256.Widen(Vector256.LoadUnsafe(ref s, (nuint)i));
                var (c0, c1) = Vector256.Widen(b0);
                var (c2, c3) = Vector256.Widen(b1);
                (DecodeE4M3(c0) * Vector256.LoadUnsafe(ref v, (nuint)i)).StoreUnsafe(ref d, (nuint)i);
                (DecodeE4M3(c1) * Vector256.LoadUnsafe(ref v, (nuint)(i + 8))).StoreUnsafe(ref d, (nuint)(i + 8));
                (DecodeE4M3(c2) * Vector256.LoadUnsafe(ref v, (nuint)(i + 16))).StoreUnsafe(ref d, (nuint)(i + 16));
                (DecodeE4M3(c3) * Vector256.LoadUnsafe(ref v, (nuint)(i + 24))).StoreUnsafe(ref d, (nuint)(i + 24));
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            for (; i <= n - Vector128<byte>.Count; i += Vector128<byte>.Count)
            {
                var (b0, b1) = Vector128.Widen(Vector128.LoadUnsafe(ref s, (nuint)i));
                var (c0, c1) = Vector128.Widen(b0);
                var (c2, c3) = Vector128.Widen(b1);
                (DecodeE4M3(c0) * Vector128.LoadUnsafe(ref v, (nuint)i)).StoreUnsafe(ref d, (nuint)i);
                (DecodeE4M3(c1) * Vector128.LoadUnsafe(ref v, (nuint)(i + 4))).StoreUnsafe(ref d, (nuint)(i + 4));
                (DecodeE4M3(c2) * Vector128.LoadUnsafe(ref v, (nuint)(i + 8))).StoreUnsafe(ref d, (nuint)(i + 8));
                (DecodeE4M3(c3) * Vector128.LoadUnsafe(ref v, (nuint)(i + 12))).StoreUnsafe(ref d, (nuint)(i + 12));
            }
        }
        ref var table = ref MemoryMarshal.GetReference(Float8E4M3.DecodeTable);
        for (; i < n; i++)
        {
            Unsafe.Add(ref d, i) = Unsafe.Add(ref table, Unsafe.Add(ref s, i)) * Unsafe.Add(ref v, i); // a byte always indexes inside the 256-entry table
        }
    }

    private static void EncodeE5M2(ReadOnlySpan<float> src, bool saturate, Span<byte> dst)
    {
        ref var s = ref MemoryMarshal.GetReference(MemoryMarshal.Cast<float, uint>(src));
        ref var d = ref MemoryMarshal.GetReference(dst);
        var n = src.Length;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - Vector256<byte>.Count; i += Vector256<byte>.Count)
            {
                var q0 = E5M2(Vector256.LoadUnsafe(ref s, (nuint)i), saturate);
                var q1 = E5M2(Vector256.LoadUnsafe(ref s, (nuint)(i + 8)), saturate);
                var q2 = E5M2(Vector256.LoadUnsafe(ref s, (nuint)(i + 16)), saturate);
                var q3 = E5M2(Vector256.LoadUnsafe(ref s, (nuint)(i + 24)), saturate);
                Vector256.Narrow(Vector256.Narrow(q0, q1), Vector256.Narrow(q2, q3)).StoreUnsafe(ref d, (nuint)i);
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            for (; i <= n - Vector128<byte>.Count; i += Vector128<byte>.Count)
            {
                var q0 = E5M2(Vector128.LoadUnsafe(ref s, (nuint)i), saturate);
                var q1 = E5M2(Vector128.LoadUnsafe(ref s, (nuint)(i + 4)), saturate);
                var q2 = E5M2(Vector128.LoadUnsafe(ref s, (nuint)(i + 8)), saturate);
                var q3 = E5M2(Vector128.LoadUnsafe(ref s, (nuint)(i + 12)), saturate);
                Vector128.Narrow(Vector128.Narrow(q0, q1), Vector128.Narrow(q2, q3)).StoreUnsafe(ref d, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            Unsafe.Add(ref d, i) = Float8E5M2.Encode(Unsafe.Add(ref s, i), saturate);
        }
    }

    private static void Lookup(ReadOnlySpan<byte> src, ReadOnlySpan<float> table, Span<float> dst)
    {
        CheckLengths(src.Length, dst.Length);
        ref var t = ref MemoryMarshal.GetReference(table);
        for (var i = 0; i < src.Length; i++)
        {
            dst[i] = Unsafe.Add(ref t, src[i]); // a byte always indexes inside the 256-entry table
        }
    }

    private static void CheckLengths(int srcLength, int dstLength)
    {
        if (srcLength != dstLength)
        {
            // paramName is the public methods' destination parameter, which this helper only sees as a length
#pragma warning disable CA2208
            throw new ArgumentException($"dst has {dstLength} elements, expected {srcLength} (the length of src)", "dst");
#pragma warning restore CA2208
        }
    }

    // The vector encoders mirror the scalar ones in Conversions.cs lane by lane: compute every path, then select.
    // a = |bits| fits in 31 bits, so signed compares order it correctly.

    private static Vector256<uint> EncodeBf16(Vector256<uint> bits)
    {
        var isNaN = Vector256.GreaterThan((bits & Vector256.Create(0x7FFF_FFFFu)).AsInt32(), Vector256.Create(0x7F80_0000)).AsUInt32();
        var rounded = (bits + Vector256.Create(0x7FFFu) + ((bits >> 16) & Vector256<uint>.One)) >> 16;
        return Vector256.ConditionalSelect(isNaN, (bits >> 16) | Vector256.Create(0x40u), rounded);
    }

    private static Vector128<uint> EncodeBf16(Vector128<uint> bits)
    {
        var isNaN = Vector128.GreaterThan((bits & Vector128.Create(0x7FFF_FFFFu)).AsInt32(), Vector128.Create(0x7F80_0000)).AsUInt32();
        var rounded = (bits + Vector128.Create(0x7FFFu) + ((bits >> 16) & Vector128<uint>.One)) >> 16;
        return Vector128.ConditionalSelect(isNaN, (bits >> 16) | Vector128.Create(0x40u), rounded);
    }

    // f32 -> f16 (S.E5.M10, bias 15): RNE on the top 13 dropped bits; |x| < 2^-14 rounds on the 2^-24 grid by adding 2^-1;
    // |x| >= 65520 (the midpoint past 65504) is Inf; NaN keeps its top 10 payload bits and is quieted, as System.Half does.
    private static Vector256<uint> EncodeHalf(Vector256<uint> bits)
    {
        var sign = (bits >> 16) & Vector256.Create(0x8000u);
        var a = bits & Vector256.Create(0x7FFF_FFFFu);
        var ai = a.AsInt32();
        var normal = (a + Vector256.Create(unchecked((15u - 127u) << 23) + 0xFFFu) + ((a >> 13) & Vector256<uint>.One)) >> 13;
        var magic = Vector256.Create(126u << 23);
        var sub = (a.AsSingle() + magic.AsSingle()).AsUInt32() - magic;
        var q = Vector256.ConditionalSelect(Vector256.LessThan(ai, Vector256.Create(113 << 23)).AsUInt32(), sub, normal);
        q = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(ai, Vector256.Create(0x477F_F000)).AsUInt32(), Vector256.Create(0x7C00u), q);
        var nan = Vector256.Create(0x7E00u) | ((a >> 13) & Vector256.Create(0x3FFu));
        q = Vector256.ConditionalSelect(Vector256.GreaterThan(ai, Vector256.Create(0x7F80_0000)).AsUInt32(), nan, q);
        return (q & Vector256.Create(0xFFFFu)) | sign;
    }

    private static Vector128<uint> EncodeHalf(Vector128<uint> bits)
    {
        var sign = (bits >> 16) & Vector128.Create(0x8000u);
        var a = bits & Vector128.Create(0x7FFF_FFFFu);
        var ai = a.AsInt32();
        var normal = (a + Vector128.Create(unchecked((15u - 127u) << 23) + 0xFFFu) + ((a >> 13) & Vector128<uint>.One)) >> 13;
        var magic = Vector128.Create(126u << 23);
        var sub = (a.AsSingle() + magic.AsSingle()).AsUInt32() - magic;
        var q = Vector128.ConditionalSelect(Vector128.LessThan(ai, Vector128.Create(113 << 23)).AsUInt32(), sub, normal);
        q = Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(ai, Vector128.Create(0x477F_F000)).AsUInt32(), Vector128.Create(0x7C00u), q);
        var nan = Vector128.Create(0x7E00u) | ((a >> 13) & Vector128.Create(0x3FFu));
        q = Vector128.ConditionalSelect(Vector128.GreaterThan(ai, Vector128.Create(0x7F80_0000)).AsUInt32(), nan, q);
        return (q & Vector128.Create(0xFFFFu)) | sign;
    }

    // f16 -> f32: move exponent and mantissa up 13 bits and rebias by 112; the all-ones exponent rebiases by 224 more
    // (Inf/NaN, NaN quieted); subnormals m * 2^-24 come out exactly as (2^-14 * (1 + m/1024)) - 2^-14.
    private static Vector256<uint> DecodeHalf(Vector256<uint> h)
    {
        var o = (h & Vector256.Create(0x7FFFu)) << 13;
        var exp = o & Vector256.Create(0x0F80_0000u);
        o += Vector256.Create(112u << 23);
        var special = Vector256.Equals(exp, Vector256.Create(0x0F80_0000u));
        var isNaN = special & ~Vector256.Equals(o & Vector256.Create(0x007F_FFFFu), Vector256<uint>.Zero);
        o += special & Vector256.Create(112u << 23);
        o |= isNaN & Vector256.Create(0x0040_0000u);
        var sub = ((o + Vector256.Create(1u << 23)).AsSingle() - Vector256.Create(113u << 23).AsSingle()).AsUInt32();
        o = Vector256.ConditionalSelect(Vector256.Equals(exp, Vector256<uint>.Zero), sub, o);
        return o | ((h & Vector256.Create(0x8000u)) << 16);
    }

    private static Vector128<uint> DecodeHalf(Vector128<uint> h)
    {
        var o = (h & Vector128.Create(0x7FFFu)) << 13;
        var exp = o & Vector128.Create(0x0F80_0000u);
        o += Vector128.Create(112u << 23);
        var special = Vector128.Equals(exp, Vector128.Create(0x0F80_0000u));
        var isNaN = special & ~Vector128.Equals(o & Vector128.Create(0x007F_FFFFu), Vector128<uint>.Zero);
        o += special & Vector128.Create(112u << 23);
        o |= isNaN & Vector128.Create(0x0040_0000u);
        var sub = ((o + Vector128.Create(1u << 23)).AsSingle() - Vector128.Create(113u << 23).AsSingle()).AsUInt32();
        o = Vector128.ConditionalSelect(Vector128.Equals(exp, Vector128<uint>.Zero), sub, o);
        return o | ((h & Vector128.Create(0x8000u)) << 16);
    }

    // E4M3 -> f32: S.EEEE.MMM moves up 20 bits and rebiases by 120; subnormals m * 2^-9 come out exactly as
    // (2^-6 * (1 + m/8)) - 2^-6; S.1111.111 gives the table's NaN (float.NaN, whose bits are 0xFFC00000).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> DecodeE4M3(Vector256<uint> c)
    {
        var v = c & Vector256.Create(0x7Fu);
        var o = (v << 20) + Vector256.Create(120u << 23);
        var sub = ((o + Vector256.Create(1u << 23)).AsSingle() - Vector256.Create(121u << 23).AsSingle()).AsUInt32();
        o = Vector256.ConditionalSelect(Vector256.LessThan(v, Vector256.Create(8u)), sub, o) | ((c & Vector256.Create(0x80u)) << 24);
        return Vector256.ConditionalSelect(Vector256.Equals(v, Vector256.Create(0x7Fu)), Vector256.Create(float.NaN).AsUInt32(), o).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> DecodeE4M3(Vector128<uint> c)
    {
        var v = c & Vector128.Create(0x7Fu);
        var o = (v << 20) + Vector128.Create(120u << 23);
        var sub = ((o + Vector128.Create(1u << 23)).AsSingle() - Vector128.Create(121u << 23).AsSingle()).AsUInt32();
        o = Vector128.ConditionalSelect(Vector128.LessThan(v, Vector128.Create(8u)), sub, o) | ((c & Vector128.Create(0x80u)) << 24);
        return Vector128.ConditionalSelect(Vector128.Equals(v, Vector128.Create(0x7Fu)), Vector128.Create(float.NaN).AsUInt32(), o).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector256<float> x, Vector256<float> scale, bool multiply, ref float d, int i)
        => (multiply ? x * scale : x).StoreUnsafe(ref d, (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector128<float> x, Vector128<float> scale, bool multiply, ref float d, int i)
        => (multiply ? x * scale : x).StoreUnsafe(ref d, (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Load(ref float s, int i, Vector256<float> div, bool divide)
    {
        var x = Vector256.LoadUnsafe(ref s, (nuint)i);
        return (divide ? x / div : x).AsUInt32();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> Load(ref float s, int i, Vector128<float> div, bool divide)
    {
        var x = Vector128.LoadUnsafe(ref s, (nuint)i);
        return (divide ? x / div : x).AsUInt32();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Divided(ref float s, ref float v, int i)
        => (Vector256.LoadUnsafe(ref s, (nuint)i) / Vector256.LoadUnsafe(ref v, (nuint)i)).AsUInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> Divided128(ref float s, ref float v, int i)
        => (Vector128.LoadUnsafe(ref s, (nuint)i) / Vector128.LoadUnsafe(ref v, (nuint)i)).AsUInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> E4M3(Vector256<uint> bits, bool saturate)
    {
        var sign = (bits >> 24) & Vector256.Create(0x80u);
        var a = bits & Vector256.Create(0x7FFF_FFFFu);
        var ai = a.AsInt32();
        var normal = (a + Vector256.Create(unchecked((7u - 127u) << 23) + 0x7FFFFu) + ((a >> 20) & Vector256<uint>.One)) >> 20;
        var magic = Vector256.Create(Float8E4M3.SubnormalMagicBits);
        var sub = (a.AsSingle() + magic.AsSingle()).AsUInt32() - magic;
        var q = Vector256.ConditionalSelect(Vector256.LessThan(ai, Vector256.Create((int)Float8E4M3.MinNormalBits)).AsUInt32(), sub, normal);
        if (saturate)
        {
            q = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(ai, Vector256.Create((int)Float8E4M3.MaxBits)).AsUInt32(), Vector256.Create(0x7Eu), q);
            q = Vector256.ConditionalSelect(Vector256.GreaterThan(ai, Vector256.Create(0x7F80_0000)).AsUInt32(), Vector256.Create(0x7Fu), q);
        }
        else
        {
            q = Vector256.ConditionalSelect(Vector256.GreaterThan(ai, Vector256.Create(0x43E8_0000)).AsUInt32(), Vector256.Create(0x7Fu), q);
        }
        return (q & Vector256.Create(0xFFu)) | sign;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> E4M3(Vector128<uint> bits, bool saturate)
    {
        var sign = (bits >> 24) & Vector128.Create(0x80u);
        var a = bits & Vector128.Create(0x7FFF_FFFFu);
        var ai = a.AsInt32();
        var normal = (a + Vector128.Create(unchecked((7u - 127u) << 23) + 0x7FFFFu) + ((a >> 20) & Vector128<uint>.One)) >> 20;
        var magic = Vector128.Create(Float8E4M3.SubnormalMagicBits);
        var sub = (a.AsSingle() + magic.AsSingle()).AsUInt32() - magic;
        var q = Vector128.ConditionalSelect(Vector128.LessThan(ai, Vector128.Create((int)Float8E4M3.MinNormalBits)).AsUInt32(), sub, normal);
        if (saturate)
        {
            q = Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(ai, Vector128.Create((int)Float8E4M3.MaxBits)).AsUInt32(), Vector128.Create(0x7Eu), q);
            q = Vector128.ConditionalSelect(Vector128.GreaterThan(ai, Vector128.Create(0x7F80_0000)).AsUInt32(), Vector128.Create(0x7Fu), q);
        }
        else
        {
            q = Vector128.ConditionalSelect(Vector128.GreaterThan(ai, Vector128.Create(0x43E8_0000)).AsUInt32(), Vector128.Create(0x7Fu), q);
        }
        return (q & Vector128.Create(0xFFu)) | sign;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> E5M2(Vector256<uint> bits, bool saturate)
    {
        var sign = (bits >> 24) & Vector256.Create(0x80u);
        var a = bits & Vector256.Create(0x7FFF_FFFFu);
        var ai = a.AsInt32();
        var normal = (a + Vector256.Create(unchecked((15u - 127u) << 23) + 0xFFFFFu) + ((a >> 21) & Vector256<uint>.One)) >> 21;
        var magic = Vector256.Create(Float8E5M2.SubnormalMagicBits);
        var sub = (a.AsSingle() + magic.AsSingle()).AsUInt32() - magic;
        var q = Vector256.ConditionalSelect(Vector256.LessThan(ai, Vector256.Create((int)Float8E5M2.MinNormalBits)).AsUInt32(), sub, normal);
        q = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(ai, Vector256.Create((int)Float8E5M2.InfThresholdBits)).AsUInt32(),
            Vector256.Create(saturate ? 0x7Bu : 0x7Cu), q);
        q = Vector256.ConditionalSelect(Vector256.GreaterThan(ai, Vector256.Create(0x7F80_0000)).AsUInt32(), Vector256.Create(0x7Fu), q);
        return (q & Vector256.Create(0xFFu)) | sign;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> E5M2(Vector128<uint> bits, bool saturate)
    {
        var sign = (bits >> 24) & Vector128.Create(0x80u);
        var a = bits & Vector128.Create(0x7FFF_FFFFu);
        var ai = a.AsInt32();
        var normal = (a + Vector128.Create(unchecked((15u - 127u) << 23) + 0xFFFFFu) + ((a >> 21) & Vector128<uint>.One)) >> 21;
        var magic = Vector128.Create(Float8E5M2.SubnormalMagicBits);
        var sub = (a.AsSingle() + magic.AsSingle()).AsUInt32() - magic;
        var q = Vector128.ConditionalSelect(Vector128.LessThan(ai, Vector128.Create((int)Float8E5M2.MinNormalBits)).AsUInt32(), sub, normal);
        q = Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(ai, Vector128.Create((int)Float8E5M2.InfThresholdBits)).AsUInt32(),
            Vector128.Create(saturate ? 0x7Bu : 0x7Cu), q);
        q = Vector128.ConditionalSelect(Vector128.GreaterThan(ai, Vector128.Create(0x7F80_0000)).AsUInt32(), Vector128.Create(0x7Fu), q);
        return (q & Vector128.Create(0xFFu)) | sign;
    }
}
