// Shape.cs: a tensor shape of up to MaxRank dimensions, stored inline so that views allocate nothing. Tested by TensorTests.
using System.Runtime.CompilerServices;
using System.Text;

namespace SharpSeek.Tensors;

/// <summary>Inline storage for up to <see cref="Shape.MaxRank"/> dimension sizes or strides.</summary>
[InlineArray(Shape.MaxRank)]
public struct Dims
{
    private long _element0;
}

/// <summary>An immutable tensor shape, row-major, at most <see cref="MaxRank"/> dimensions.</summary>
public readonly struct Shape : IEquatable<Shape>
{
    public const int MaxRank = 6;

    private readonly Dims _dims;

    public int Rank { get; }

    public Shape(params ReadOnlySpan<long> dims)
    {
        if (dims.Length > MaxRank)
        {
            throw new ArgumentException($"shape has rank {dims.Length}; at most {MaxRank} dimensions are supported", nameof(dims));
        }
        Rank = dims.Length;
        for (var i = 0; i < dims.Length; i++)
        {
            if (dims[i] < 0)
            {
                throw new ArgumentException($"shape dimension {i} is {dims[i]}; sizes must be >= 0", nameof(dims));
            }
            _dims[i] = dims[i];
        }
    }

    public Shape(params ReadOnlySpan<int> dims)
    {
        if (dims.Length > MaxRank)
        {
            throw new ArgumentException($"shape has rank {dims.Length}; at most {MaxRank} dimensions are supported", nameof(dims));
        }
        Rank = dims.Length;
        for (var i = 0; i < dims.Length; i++)
        {
            if (dims[i] < 0)
            {
                throw new ArgumentException($"shape dimension {i} is {dims[i]}; sizes must be >= 0", nameof(dims));
            }
            _dims[i] = dims[i];
        }
    }

    public long this[int axis]
    {
        get
        {
            if ((uint)axis >= (uint)Rank) { throw new ArgumentOutOfRangeException(nameof(axis), $"axis {axis} out of range for a rank-{Rank} shape {this}"); }
            return _dims[axis];
        }
    }

    /// <summary>Dimension sizes as a new array.</summary>
    public long[] ToArray()
    {
        var a = new long[Rank];
        for (var i = 0; i < Rank; i++) { a[i] = _dims[i]; }
        return a;
    }

    public long ElementCount
    {
        get
        {
            long n = 1;
            for (var i = 0; i < Rank; i++) { n *= _dims[i]; }
            return n;
        }
    }

    /// <summary>Last dimension (1 for a scalar).</summary>
    public long Last => Rank == 0 ? 1 : _dims[Rank - 1];

    /// <summary>Product of all dimensions but the last: the number of rows of the row-major matrix view.</summary>
    public long Rows
    {
        get
        {
            long n = 1;
            for (var i = 0; i < Rank - 1; i++) { n *= _dims[i]; }
            return n;
        }
    }

    /// <summary>Dense row-major strides in elements.</summary>
    public Dims ContiguousStrides()
    {
        var s = default(Dims);
        long acc = 1;
        for (var i = Rank - 1; i >= 0; i--)
        {
            s[i] = acc;
            acc *= _dims[i];
        }
        return s;
    }

    public bool Equals(Shape other)
    {
        if (Rank != other.Rank) { return false; }
        for (var i = 0; i < Rank; i++)
        {
            if (_dims[i] != other._dims[i]) { return false; }
        }
        return true;
    }

    public override bool Equals(object? obj) => obj is Shape s && Equals(s);

    public override int GetHashCode()
    {
        var h = new HashCode();
        for (var i = 0; i < Rank; i++) { h.Add(_dims[i]); }
        return h.ToHashCode();
    }

    public static bool operator ==(Shape a, Shape b) => a.Equals(b);

    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);

    public override string ToString()
    {
        var sb = new StringBuilder("(");
        for (var i = 0; i < Rank; i++)
        {
            if (i > 0) { sb.Append(", "); }
            sb.Append(_dims[i]);
        }
        if (Rank == 1) { sb.Append(','); }
        return sb.Append(')').ToString();
    }
}
