// NativeBlock.cs: one 64-byte-aligned native allocation and typed spans over it. The only owner of native memory; a
// borrowed block is a window of memory another owner holds (a MappedFile's map), never freed here and unusable once its
// owner drops it. Tested by ArenaTests and SafeTensorsFileTests.
using System.Runtime.InteropServices;

namespace SharpSeek.Tensors.Kernels;

/// <summary>A 64-byte-aligned block of native memory, freed on <see cref="Dispose"/>.</summary>
public sealed unsafe class NativeBlock : IDisposable
{
    public const int Alignment = 64;

    private readonly bool _owned = true;
    private void* _pointer;

    /// <summary>A block of <paramref name="byteLength"/> bytes, zeroed unless <paramref name="clear"/> is false (an owner
    /// that clears what it hands out, like <see cref="Arena"/>, leaves the pages untouched until used: a large block
    /// then costs no resident memory beyond what is carved from it).</summary>
    public NativeBlock(long byteLength, bool clear = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(byteLength);
        ByteLength = byteLength;
        _pointer = NativeMemory.AlignedAlloc((nuint)Math.Max(byteLength, Alignment), Alignment);
        if (clear) { NativeMemory.Clear(_pointer, (nuint)Math.Max(byteLength, Alignment)); }
    }

    // A window of memory someone else owns; Dispose only stops handing out spans over it.
    private NativeBlock(void* pointer, long byteLength)
    {
        _pointer = pointer;
        ByteLength = byteLength;
        _owned = false;
    }

    public long ByteLength { get; }

    public bool IsDisposed => _pointer == null;

    /// <summary>The address of the block (for kernels and interop).</summary>
    public nint Address => _pointer == null ? throw new ObjectDisposedException(nameof(NativeBlock)) : (nint)_pointer;

    /// <summary>A span of <paramref name="length"/> elements of <typeparamref name="T"/> starting <paramref name="byteOffset"/> bytes in.</summary>
    public Span<T> Span<T>(long byteOffset, long length) where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(_pointer == null, this);
        if (byteOffset < 0 || length < 0 || byteOffset + length * sizeof(T) > ByteLength)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"span [{byteOffset}, {byteOffset + length * sizeof(T)}) is outside the {ByteLength}-byte block");
        }
        if (length > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"a span holds at most {int.MaxValue} elements; asked for {length}");
        }
        return new Span<T>((byte*)_pointer + byteOffset, (int)length);
    }

    /// <summary>A block over <paramref name="byteLength"/> bytes at <paramref name="pointer"/> that the caller owns and keeps
    /// alive until it disposes this block (which frees nothing); the caller has checked the range.</summary>
    internal static NativeBlock Borrow(byte* pointer, long byteLength) => new(pointer, byteLength);

    public void Dispose()
    {
        if (_pointer != null)
        {
            if (_owned) { NativeMemory.AlignedFree(_pointer); }
            _pointer = null;
        }
    }
}
