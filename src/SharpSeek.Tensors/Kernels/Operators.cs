// Operators.cs: the operator interfaces (unary, binary, ternary, aggregation) and the ONE driver that runs them over spans
// with 512/256/128-bit then scalar dispatch by IsHardwareAccelerated, tails included, splitting large maps over WorkerPool.
// Not here: the operator structs themselves (Elementwise.cs), row kernels (Softmax.cs, RmsNorm.cs, ...). Tested by ElementwiseTests.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SharpSeek.Tensors.Kernels;

/// <summary>y = f(x), written once per vector width. Implemented by readonly structs, so the driver is specialised per op.</summary>
public interface IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    T Invoke(T x);
    Vector128<T> Invoke(Vector128<T> x);
    Vector256<T> Invoke(Vector256<T> x);
    Vector512<T> Invoke(Vector512<T> x);
}

/// <summary>z = f(x, y).</summary>
public interface IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    T Invoke(T x, T y);
    Vector128<T> Invoke(Vector128<T> x, Vector128<T> y);
    Vector256<T> Invoke(Vector256<T> x, Vector256<T> y);
    Vector512<T> Invoke(Vector512<T> x, Vector512<T> y);
}

/// <summary>w = f(x, y, z).</summary>
public interface ITernaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    T Invoke(T x, T y, T z);
    Vector128<T> Invoke(Vector128<T> x, Vector128<T> y, Vector128<T> z);
    Vector256<T> Invoke(Vector256<T> x, Vector256<T> y, Vector256<T> z);
    Vector512<T> Invoke(Vector512<T> x, Vector512<T> y, Vector512<T> z);
}

/// <summary>An associative combine (add, max) with its identity, used to fold a span to one value.</summary>
public interface IAggregationOperator<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    T Identity { get; }
}

/// <summary>
/// The elementwise driver: <c>Map</c> applies an operator to every index, <c>Aggregate</c> folds a transformed span.
/// Spans must be equal in length (else <see cref="ArgumentException"/>); a destination may be the same span as a source,
/// but must not partially overlap one. Results never depend on the thread count.
/// </summary>
public static unsafe class Operators
{
    /// <summary>Maps of at least this many elements are split over <see cref="WorkerPool.Current"/>.</summary>
    public const int ParallelThreshold = 1 << 16;

    private const int Chunk = 1 << 14;

    public static void Map<T, TOp>(ReadOnlySpan<T> x, Span<T> y, TOp op)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TOp : struct, IUnaryOperator<T>
    {
        CheckLength(nameof(y), x.Length, y.Length);
        if (x.Length < ParallelThreshold || WorkerPool.Current.Threads == 1)
        {
            MapSerial(x, y, op);
            return;
        }
        fixed (T* px = x, py = y)
        {
            var work = new UnaryWork<T, TOp> { X = px, Y = py, Length = x.Length, Op = op };
            WorkerPool.Current.For((x.Length + Chunk - 1) / Chunk, ref work);
        }
    }

    public static void Map<T, TOp>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> z, TOp op)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TOp : struct, IBinaryOperator<T>
    {
        CheckLength(nameof(y), x.Length, y.Length);
        CheckLength(nameof(z), x.Length, z.Length);
        if (x.Length < ParallelThreshold || WorkerPool.Current.Threads == 1)
        {
            MapSerial(x, y, z, op);
            return;
        }
        fixed (T* px = x, py = y, pz = z)
        {
            var work = new BinaryWork<T, TOp> { X = px, Y = py, Z = pz, Length = x.Length, Op = op };
            WorkerPool.Current.For((x.Length + Chunk - 1) / Chunk, ref work);
        }
    }

    public static void Map<T, TOp>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> z, Span<T> w, TOp op)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TOp : struct, ITernaryOperator<T>
    {
        CheckLength(nameof(y), x.Length, y.Length);
        CheckLength(nameof(z), x.Length, z.Length);
        CheckLength(nameof(w), x.Length, w.Length);
        if (x.Length < ParallelThreshold || WorkerPool.Current.Threads == 1)
        {
            MapSerial(x, y, z, w, op);
            return;
        }
        fixed (T* px = x, py = y, pz = z, pw = w)
        {
            var work = new TernaryWork<T, TOp> { X = px, Y = py, Z = pz, W = pw, Length = x.Length, Op = op };
            WorkerPool.Current.For((x.Length + Chunk - 1) / Chunk, ref work);
        }
    }

    /// <summary>agg over i of transform(x[i]), folded in a fixed order (serial, so independent of the thread count).</summary>
    public static T Aggregate<T, TTransform, TAgg>(ReadOnlySpan<T> x, TTransform transform, TAgg agg)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TTransform : struct, IUnaryOperator<T>
        where TAgg : struct, IAggregationOperator<T>
    {
        var n = x.Length;
        var i = 0;
        var result = agg.Identity;
        ref var rx = ref MemoryMarshal.GetReference(x);
        if (Vector512.IsHardwareAccelerated && n >= Vector512<T>.Count)
        {
            var acc = Vector512.Create(agg.Identity);
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                acc = agg.Invoke(acc, transform.Invoke(Vector512.LoadUnsafe(ref rx, (nuint)i)));
            }
            for (var k = 0; k < Vector512<T>.Count; k++) { result = agg.Invoke(result, acc.GetElement(k)); }
        }
        if (Vector256.IsHardwareAccelerated && n - i >= Vector256<T>.Count)
        {
            // Four accumulators hide the add latency; they are combined in a fixed order.
            var c = Vector256<T>.Count;
            var a0 = Vector256.Create(agg.Identity);
            var a1 = a0;
            var a2 = a0;
            var a3 = a0;
            for (; i <= n - 4 * c; i += 4 * c)
            {
                a0 = agg.Invoke(a0, transform.Invoke(Vector256.LoadUnsafe(ref rx, (nuint)i)));
                a1 = agg.Invoke(a1, transform.Invoke(Vector256.LoadUnsafe(ref rx, (nuint)(i + c))));
                a2 = agg.Invoke(a2, transform.Invoke(Vector256.LoadUnsafe(ref rx, (nuint)(i + 2 * c))));
                a3 = agg.Invoke(a3, transform.Invoke(Vector256.LoadUnsafe(ref rx, (nuint)(i + 3 * c))));
            }
            for (; i <= n - c; i += c)
            {
                a0 = agg.Invoke(a0, transform.Invoke(Vector256.LoadUnsafe(ref rx, (nuint)i)));
            }
            var acc = agg.Invoke(agg.Invoke(a0, a1), agg.Invoke(a2, a3));
            for (var k = 0; k < c; k++) { result = agg.Invoke(result, acc.GetElement(k)); }
        }
        if (Vector128.IsHardwareAccelerated && n - i >= Vector128<T>.Count)
        {
            var acc = Vector128.Create(agg.Identity);
            for (; i <= n - Vector128<T>.Count; i += Vector128<T>.Count)
            {
                acc = agg.Invoke(acc, transform.Invoke(Vector128.LoadUnsafe(ref rx, (nuint)i)));
            }
            for (var k = 0; k < Vector128<T>.Count; k++) { result = agg.Invoke(result, acc.GetElement(k)); }
        }
        for (; i < n; i++)
        {
            result = agg.Invoke(result, transform.Invoke(Unsafe.Add(ref rx, i)));
        }
        return result;
    }

    /// <summary>agg over i of transform(x[i], y[i]) (a dot product with multiply and add).</summary>
    public static T Aggregate<T, TTransform, TAgg>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, TTransform transform, TAgg agg)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TTransform : struct, IBinaryOperator<T>
        where TAgg : struct, IAggregationOperator<T>
    {
        CheckLength(nameof(y), x.Length, y.Length);
        var n = x.Length;
        var i = 0;
        var result = agg.Identity;
        ref var rx = ref MemoryMarshal.GetReference(x);
        ref var ry = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated && n >= Vector512<T>.Count)
        {
            var acc = Vector512.Create(agg.Identity);
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                acc = agg.Invoke(acc, transform.Invoke(Vector512.LoadUnsafe(ref rx, (nuint)i), Vector512.LoadUnsafe(ref ry, (nuint)i)));
            }
            for (var k = 0; k < Vector512<T>.Count; k++) { result = agg.Invoke(result, acc.GetElement(k)); }
        }
        if (Vector256.IsHardwareAccelerated && n - i >= Vector256<T>.Count)
        {
            var c = Vector256<T>.Count;
            var a0 = Vector256.Create(agg.Identity);
            var a1 = a0;
            for (; i <= n - 2 * c; i += 2 * c)
            {
                a0 = agg.Invoke(a0, transform.Invoke(Vector256.LoadUnsafe(ref rx, (nuint)i), Vector256.LoadUnsafe(ref ry, (nuint)i)));
                a1 = agg.Invoke(a1, transform.Invoke(Vector256.LoadUnsafe(ref rx, (nuint)(i + c)), Vector256.LoadUnsafe(ref ry, (nuint)(i + c))));
            }
            for (; i <= n - c; i += c)
            {
                a0 = agg.Invoke(a0, transform.Invoke(Vector256.LoadUnsafe(ref rx, (nuint)i), Vector256.LoadUnsafe(ref ry, (nuint)i)));
            }
            var acc = agg.Invoke(a0, a1);
            for (var k = 0; k < c; k++) { result = agg.Invoke(result, acc.GetElement(k)); }
        }
        if (Vector128.IsHardwareAccelerated && n - i >= Vector128<T>.Count)
        {
            var acc = Vector128.Create(agg.Identity);
            for (; i <= n - Vector128<T>.Count; i += Vector128<T>.Count)
            {
                acc = agg.Invoke(acc, transform.Invoke(Vector128.LoadUnsafe(ref rx, (nuint)i), Vector128.LoadUnsafe(ref ry, (nuint)i)));
            }
            for (var k = 0; k < Vector128<T>.Count; k++) { result = agg.Invoke(result, acc.GetElement(k)); }
        }
        for (; i < n; i++)
        {
            result = agg.Invoke(result, transform.Invoke(Unsafe.Add(ref rx, i), Unsafe.Add(ref ry, i)));
        }
        return result;
    }

    /// <summary>agg over i of transform(x[i], y[i], z[i]).</summary>
    public static T Aggregate<T, TTransform, TAgg>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> z, TTransform transform, TAgg agg)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TTransform : struct, ITernaryOperator<T>
        where TAgg : struct, IAggregationOperator<T>
    {
        CheckLength(nameof(y), x.Length, y.Length);
        CheckLength(nameof(z), x.Length, z.Length);
        var n = x.Length;
        var i = 0;
        var result = agg.Identity;
        ref var rx = ref MemoryMarshal.GetReference(x);
        ref var ry = ref MemoryMarshal.GetReference(y);
        ref var rz = ref MemoryMarshal.GetReference(z);
        if (Vector512.IsHardwareAccelerated && n >= Vector512<T>.Count)
        {
            var acc = Vector512.Create(agg.Identity);
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                acc = agg.Invoke(acc, transform.Invoke(Vector512.LoadUnsafe(ref rx, (nuint)i), Vector512.LoadUnsafe(ref ry, (nuint)i),
                    Vector512.LoadUnsafe(ref rz, (nuint)i)));
            }
            for (var k = 0; k < Vector512<T>.Count; k++) { result = agg.Invoke(result, acc.GetElement(k)); }
        }
        if (Vector256.IsHardwareAccelerated && n - i >= Vector256<T>.Count)
        {
            var acc = Vector256.Create(agg.Identity);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                acc = agg.Invoke(acc, transform.Invoke(Vector256.LoadUnsafe(ref rx, (nuint)i), Vector256.LoadUnsafe(ref ry, (nuint)i),
                    Vector256.LoadUnsafe(ref rz, (nuint)i)));
            }
            for (var k = 0; k < Vector256<T>.Count; k++) { result = agg.Invoke(result, acc.GetElement(k)); }
        }
        if (Vector128.IsHardwareAccelerated && n - i >= Vector128<T>.Count)
        {
            var acc = Vector128.Create(agg.Identity);
            for (; i <= n - Vector128<T>.Count; i += Vector128<T>.Count)
            {
                acc = agg.Invoke(acc, transform.Invoke(Vector128.LoadUnsafe(ref rx, (nuint)i), Vector128.LoadUnsafe(ref ry, (nuint)i),
                    Vector128.LoadUnsafe(ref rz, (nuint)i)));
            }
            for (var k = 0; k < Vector128<T>.Count; k++) { result = agg.Invoke(result, acc.GetElement(k)); }
        }
        for (; i < n; i++)
        {
            result = agg.Invoke(result, transform.Invoke(Unsafe.Add(ref rx, i), Unsafe.Add(ref ry, i), Unsafe.Add(ref rz, i)));
        }
        return result;
    }

    internal static void MapSerial<T, TOp>(ReadOnlySpan<T> x, Span<T> y, TOp op)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TOp : struct, IUnaryOperator<T>
    {
        var n = x.Length;
        var i = 0;
        ref var rx = ref MemoryMarshal.GetReference(x);
        ref var ry = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                op.Invoke(Vector512.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                op.Invoke(Vector256.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            for (; i <= n - Vector128<T>.Count; i += Vector128<T>.Count)
            {
                op.Invoke(Vector128.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            Unsafe.Add(ref ry, i) = op.Invoke(Unsafe.Add(ref rx, i));
        }
    }

    internal static void MapSerial<T, TOp>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> z, TOp op)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TOp : struct, IBinaryOperator<T>
    {
        var n = x.Length;
        var i = 0;
        ref var rx = ref MemoryMarshal.GetReference(x);
        ref var ry = ref MemoryMarshal.GetReference(y);
        ref var rz = ref MemoryMarshal.GetReference(z);
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                op.Invoke(Vector512.LoadUnsafe(ref rx, (nuint)i), Vector512.LoadUnsafe(ref ry, (nuint)i)).StoreUnsafe(ref rz, (nuint)i);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                op.Invoke(Vector256.LoadUnsafe(ref rx, (nuint)i), Vector256.LoadUnsafe(ref ry, (nuint)i)).StoreUnsafe(ref rz, (nuint)i);
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            for (; i <= n - Vector128<T>.Count; i += Vector128<T>.Count)
            {
                op.Invoke(Vector128.LoadUnsafe(ref rx, (nuint)i), Vector128.LoadUnsafe(ref ry, (nuint)i)).StoreUnsafe(ref rz, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            Unsafe.Add(ref rz, i) = op.Invoke(Unsafe.Add(ref rx, i), Unsafe.Add(ref ry, i));
        }
    }

    internal static void MapSerial<T, TOp>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> z, Span<T> w, TOp op)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TOp : struct, ITernaryOperator<T>
    {
        var n = x.Length;
        var i = 0;
        ref var rx = ref MemoryMarshal.GetReference(x);
        ref var ry = ref MemoryMarshal.GetReference(y);
        ref var rz = ref MemoryMarshal.GetReference(z);
        ref var rw = ref MemoryMarshal.GetReference(w);
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                op.Invoke(Vector512.LoadUnsafe(ref rx, (nuint)i), Vector512.LoadUnsafe(ref ry, (nuint)i), Vector512.LoadUnsafe(ref rz, (nuint)i))
                    .StoreUnsafe(ref rw, (nuint)i);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                op.Invoke(Vector256.LoadUnsafe(ref rx, (nuint)i), Vector256.LoadUnsafe(ref ry, (nuint)i), Vector256.LoadUnsafe(ref rz, (nuint)i))
                    .StoreUnsafe(ref rw, (nuint)i);
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            for (; i <= n - Vector128<T>.Count; i += Vector128<T>.Count)
            {
                op.Invoke(Vector128.LoadUnsafe(ref rx, (nuint)i), Vector128.LoadUnsafe(ref ry, (nuint)i), Vector128.LoadUnsafe(ref rz, (nuint)i))
                    .StoreUnsafe(ref rw, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            Unsafe.Add(ref rw, i) = op.Invoke(Unsafe.Add(ref rx, i), Unsafe.Add(ref ry, i), Unsafe.Add(ref rz, i));
        }
    }

    internal static void CheckLength(string name, long expected, long actual)
    {
        if (expected != actual)
        {
            throw new ArgumentException($"{name} must have {expected} elements, but has {actual}", name);
        }
    }

    private struct UnaryWork<T, TOp> : IWorkItem
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TOp : struct, IUnaryOperator<T>
    {
        public T* X;
        public T* Y;
        public int Length;
        public TOp Op;

        public readonly void Execute(int index, int worker)
        {
            var start = index * Chunk;
            var n = Math.Min(Chunk, Length - start);
            MapSerial(new ReadOnlySpan<T>(X + start, n), new Span<T>(Y + start, n), Op);
        }
    }

    private struct BinaryWork<T, TOp> : IWorkItem
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TOp : struct, IBinaryOperator<T>
    {
        public T* X;
        public T* Y;
        public T* Z;
        public int Length;
        public TOp Op;

        public readonly void Execute(int index, int worker)
        {
            var start = index * Chunk;
            var n = Math.Min(Chunk, Length - start);
            MapSerial(new ReadOnlySpan<T>(X + start, n), new ReadOnlySpan<T>(Y + start, n), new Span<T>(Z + start, n), Op);
        }
    }

    private struct TernaryWork<T, TOp> : IWorkItem
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TOp : struct, ITernaryOperator<T>
    {
        public T* X;
        public T* Y;
        public T* Z;
        public T* W;
        public int Length;
        public TOp Op;

        public readonly void Execute(int index, int worker)
        {
            var start = index * Chunk;
            var n = Math.Min(Chunk, Length - start);
            MapSerial(new ReadOnlySpan<T>(X + start, n), new ReadOnlySpan<T>(Y + start, n), new ReadOnlySpan<T>(Z + start, n),
                new Span<T>(W + start, n), Op);
        }
    }
}
