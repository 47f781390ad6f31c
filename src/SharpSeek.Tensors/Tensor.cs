// Tensor.cs: a strided view over arena memory; owns nothing, so views (slice, narrow, transpose, reshape) are free.
// Not here: math (Kernels/, Ops/). Tested by TensorTests.
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors;

/// <summary>
/// A typed, shaped, strided view of native memory held by an <see cref="Arena"/>. A value type: creating views
/// allocates nothing. Kernels read contiguous tensors through <see cref="AsSpan{T}"/>.
/// </summary>
public readonly struct Tensor
{
    private readonly NativeBlock? _block;
    private readonly long _offset; // in elements
    private readonly Dims _strides; // in elements

    internal Tensor(NativeBlock block, long offset, Shape shape, Dims strides, DType dtype)
    {
        _block = block;
        _offset = offset;
        Shape = shape;
        _strides = strides;
        DType = dtype;
    }

    public Shape Shape { get; }

    public DType DType { get; }

    public int Rank => Shape.Rank;

    public long ElementCount => Shape.ElementCount;

    /// <summary>False for <c>default(Tensor)</c>.</summary>
    public bool IsValid => _block is not null;

    /// <summary>Offset of the first element, in elements, from the start of the underlying block.</summary>
    public long Offset => _offset;

    public long Size(int axis) => Shape[NormalizeAxis(axis)];

    public long Stride(int axis) => _strides[NormalizeAxis(axis)];

    /// <summary>True when the elements are dense and row-major.</summary>
    public bool IsContiguous
    {
        get
        {
            long expected = 1;
            for (var i = Rank - 1; i >= 0; i--)
            {
                if (Shape[i] != 1 && _strides[i] != expected) { return false; }
                expected *= Shape[i];
            }
            return true;
        }
    }

    /// <summary>The elements of a contiguous tensor.</summary>
    public Span<T> AsSpan<T>() where T : unmanaged
    {
        var block = Block();
        var want = DTypeInfo.Of<T>();
        if (want != DType)
        {
            throw new InvalidOperationException($"tensor of dtype {DType} and shape {Shape} read as {want}");
        }
        if (!IsContiguous)
        {
            throw new InvalidOperationException($"tensor of shape {Shape} with strides {StridesString()} is not contiguous; call Contiguous() first");
        }
        return block.Span<T>(_offset * DType.SizeOf(), ElementCount);
    }

    /// <summary>The raw bytes of a contiguous tensor.</summary>
    public Span<byte> AsBytes()
    {
        var block = Block();
        if (!IsContiguous)
        {
            throw new InvalidOperationException($"tensor of shape {Shape} with strides {StridesString()} is not contiguous; call Contiguous() first");
        }
        return block.Span<byte>(_offset * DType.SizeOf(), ElementCount * DType.SizeOf());
    }

    /// <summary>Row <paramref name="row"/> of a contiguous tensor seen as a (Rows, Last) matrix.</summary>
    public Span<T> Row<T>(long row) where T : unmanaged
    {
        var last = Shape.Last;
        if ((ulong)row >= (ulong)Shape.Rows)
        {
            throw new ArgumentOutOfRangeException(nameof(row), $"row {row} out of range for shape {Shape} ({Shape.Rows} rows)");
        }
        return AsSpan<T>().Slice((int)(row * last), (int)last);
    }

    /// <summary>Elements [start, start + length) along <paramref name="axis"/>; shares memory.</summary>
    public Tensor Narrow(int axis, long start, long length)
    {
        axis = NormalizeAxis(axis);
        if (start < 0 || length < 0 || start + length > Shape[axis])
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"narrow [{start}, {start + length}) is outside axis {axis} of shape {Shape}");
        }
        var dims = ShapeDims();
        dims[axis] = length;
        return new Tensor(Block(), _offset + start * _strides[axis], new Shape(((ReadOnlySpan<long>)dims)[..Rank]), _strides, DType);
    }

    /// <summary>Index <paramref name="index"/> along axis 0, dropping that axis; shares memory.</summary>
    public Tensor Slice(long index)
    {
        if (Rank == 0 || (ulong)index >= (ulong)Shape[0])
        {
            throw new ArgumentOutOfRangeException(nameof(index), $"index {index} is outside axis 0 of shape {Shape}");
        }
        var dims = ShapeDims();
        var strides = default(Dims);
        for (var i = 1; i < Rank; i++)
        {
            dims[i - 1] = dims[i];
            strides[i - 1] = _strides[i];
        }
        return new Tensor(Block(), _offset + index * _strides[0], new Shape(((ReadOnlySpan<long>)dims)[..(Rank - 1)]), strides, DType);
    }

    /// <summary>Swaps two axes; shares memory (the result is usually not contiguous).</summary>
    public Tensor Transpose(int axis0, int axis1)
    {
        axis0 = NormalizeAxis(axis0);
        axis1 = NormalizeAxis(axis1);
        var dims = ShapeDims();
        var strides = _strides;
        (dims[axis0], dims[axis1]) = (dims[axis1], dims[axis0]);
        (strides[axis0], strides[axis1]) = (strides[axis1], strides[axis0]);
        return new Tensor(Block(), _offset, new Shape(((ReadOnlySpan<long>)dims)[..Rank]), strides, DType);
    }

    /// <summary>The same elements in another shape; the tensor must be contiguous. One dimension may be -1.</summary>
    public Tensor Reshape(params ReadOnlySpan<long> dims)
    {
        var resolved = default(Dims);
        var inferAt = -1;
        long known = 1;
        for (var i = 0; i < dims.Length; i++)
        {
            if (dims[i] == -1)
            {
                if (inferAt >= 0) { throw new ArgumentException($"reshape of {Shape}: only one dimension may be -1", nameof(dims)); }
                inferAt = i;
            }
            else
            {
                known *= dims[i];
            }
            resolved[i] = dims[i];
        }
        if (inferAt >= 0)
        {
            if (known == 0 || ElementCount % known != 0)
            {
                throw new ArgumentException($"cannot reshape {Shape} ({ElementCount} elements) into {FormatDims(dims)}", nameof(dims));
            }
            resolved[inferAt] = ElementCount / known;
        }
        var shape = new Shape(((ReadOnlySpan<long>)resolved)[..dims.Length]);
        if (shape.ElementCount != ElementCount)
        {
            throw new ArgumentException($"cannot reshape {Shape} ({ElementCount} elements) into {shape} ({shape.ElementCount} elements)", nameof(dims));
        }
        if (!IsContiguous)
        {
            throw new InvalidOperationException($"cannot reshape non-contiguous tensor of shape {Shape} with strides {StridesString()}; call Contiguous() first");
        }
        return new Tensor(Block(), _offset, shape, shape.ContiguousStrides(), DType);
    }

    /// <summary>The same elements in another shape (see <see cref="Reshape(ReadOnlySpan{long})"/>).</summary>
    public Tensor Reshape(params ReadOnlySpan<int> dims)
    {
        Span<long> l = stackalloc long[dims.Length];
        for (var i = 0; i < dims.Length; i++) { l[i] = dims[i]; }
        return Reshape((ReadOnlySpan<long>)l);
    }

    /// <summary>This tensor if contiguous, else a dense copy allocated in <paramref name="arena"/>.</summary>
    public Tensor Contiguous(Arena arena)
    {
        if (IsContiguous) { return this; }
        var dst = arena.Allocate(DType, Shape);
        CopyTo(dst);
        return dst;
    }

    /// <summary>Copies the elements (any strides) into <paramref name="destination"/>, which must have the same shape and dtype.</summary>
    public void CopyTo(Tensor destination)
    {
        ExpectSameShape(this, destination, "copy");
        if (destination.DType != DType)
        {
            throw new ArgumentException($"copy: source dtype {DType} differs from destination dtype {destination.DType}", nameof(destination));
        }
        var size = DType.SizeOf();
        var src = Block();
        var dst = destination.Block();
        if (IsContiguous && destination.IsContiguous)
        {
            src.Span<byte>(_offset * size, ElementCount * size).CopyTo(dst.Span<byte>(destination._offset * size, ElementCount * size));
            return;
        }
        // Strided copy, one innermost run at a time.
        var count = ElementCount;
        if (count == 0) { return; }
        var last = Rank == 0 ? 1 : Shape[Rank - 1];
        var index = default(Dims);
        for (long done = 0; done < count; done += last)
        {
            long so = _offset, dof = destination._offset;
            for (var i = 0; i < Rank - 1; i++)
            {
                so += index[i] * _strides[i];
                dof += index[i] * destination._strides[i];
            }
            var ss = Rank == 0 ? 1 : _strides[Rank - 1];
            var ds = Rank == 0 ? 1 : destination._strides[Rank - 1];
            for (long j = 0; j < last; j++)
            {
                src.Span<byte>((so + j * ss) * size, size).CopyTo(dst.Span<byte>((dof + j * ds) * size, size));
            }
            for (var i = Rank - 2; i >= 0; i--)
            {
                if (++index[i] < Shape[i]) { break; }
                index[i] = 0;
            }
        }
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming both shapes unless they are equal.</summary>
    public static void ExpectSameShape(Tensor a, Tensor b, string what)
    {
        if (a.Shape != b.Shape)
        {
            throw new ArgumentException($"{what}: shape mismatch, {a.Shape} vs {b.Shape}");
        }
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming both dtypes unless they are equal.</summary>
    public void ExpectDType(DType expected, string what)
    {
        if (DType != expected)
        {
            throw new ArgumentException($"{what}: expected dtype {expected}, got {DType} (shape {Shape})");
        }
    }

    public override string ToString() => IsValid ? $"Tensor({DType}, {Shape})" : "Tensor(invalid)";

    private NativeBlock Block() => _block ?? throw new InvalidOperationException("default(Tensor) has no storage");

    private int NormalizeAxis(int axis)
    {
        var a = axis < 0 ? axis + Rank : axis;
        if ((uint)a >= (uint)Rank)
        {
            throw new ArgumentOutOfRangeException(nameof(axis), $"axis {axis} out of range for shape {Shape}");
        }
        return a;
    }

    private Dims ShapeDims()
    {
        var d = default(Dims);
        for (var i = 0; i < Rank; i++) { d[i] = Shape[i]; }
        return d;
    }

    private string StridesString()
    {
        var parts = new string[Rank];
        for (var i = 0; i < Rank; i++) { parts[i] = _strides[i].ToString(System.Globalization.CultureInfo.InvariantCulture); }
        return "(" + string.Join(", ", parts) + ")";
    }

    private static string FormatDims(ReadOnlySpan<long> dims)
    {
        var parts = new string[dims.Length];
        for (var i = 0; i < dims.Length; i++) { parts[i] = dims[i].ToString(System.Globalization.CultureInfo.InvariantCulture); }
        return "(" + string.Join(", ", parts) + ")";
    }
}
