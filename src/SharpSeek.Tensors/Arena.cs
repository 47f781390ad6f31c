// Arena.cs: bump allocation of tensors for one lifetime (parameters, gradients, optimizer state, step activations).
// The first pass grows by chunks; Reset() folds them into one block sized for the high-water mark (plus 1/16, so a
// peak that creeps up keeps the block), so after warm-up a step allocates nothing, natively or on the GC heap. Mark/Rewind give back, in stack order, what an op allocated for
// its own use (the FP8 and BF16 Linears' quantized copies and transposes). Not here: freeing single tensors. Tested by ArenaTests.
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors;

/// <summary>
/// A bump allocator for tensors of one lifetime. Tensors are views into the arena's 64-byte-aligned native blocks and
/// become invalid on <see cref="Reset"/> or <see cref="Dispose"/>.
/// </summary>
public sealed class Arena : IDisposable
{
    private readonly List<NativeBlock> _blocks = [];
    private readonly string _name;
    private long _used;       // bytes used in the current (last) block
    private long _totalUsed;  // bytes handed out since the last Reset, over all blocks
    private long _highWater;

    // A reset block is this fraction (1/16) larger than the high-water mark: untouched pages cost no memory, and a step
    // whose peak creeps up a little (a MoE routing of other loads) does not trade the block for a fresh one again.
    private const long Headroom = 16;

    public Arena(string name, long initialBytes = 1 << 20)
    {
        _name = name;
        _blocks.Add(new NativeBlock(Math.Max(initialBytes, NativeBlock.Alignment), clear: false));
    }

    public string Name => _name;

    /// <summary>Bytes handed out since the last reset.</summary>
    public long UsedBytes => _totalUsed;

    /// <summary>Largest <see cref="UsedBytes"/> seen.</summary>
    public long HighWaterBytes => Math.Max(_highWater, _totalUsed);

    /// <summary>Native bytes held.</summary>
    public long CapacityBytes
    {
        get
        {
            long c = 0;
            foreach (var b in _blocks) { c += b.ByteLength; }
            return c;
        }
    }

    /// <summary>Number of native blocks held (1 after a reset that followed growth).</summary>
    public int BlockCount => _blocks.Count;

    /// <summary>A new tensor of the given dtype and shape, zero-filled.</summary>
    public Tensor Allocate(DType dtype, Shape shape)
    {
        var bytes = shape.ElementCount * dtype.SizeOf();
        var (block, offset) = Carve(bytes);
        block.Span<byte>(offset, bytes).Clear();
        return new Tensor(block, offset / dtype.SizeOf(), shape, shape.ContiguousStrides(), dtype);
    }

    /// <summary>A new tensor whose memory holds whatever was there: for a kernel that writes every element before any is
    /// read (a quantizer, a transpose), where zero-filling would be a second pass over it.</summary>
    public Tensor AllocateUninitialized(DType dtype, Shape shape)
    {
        var (block, offset) = Carve(shape.ElementCount * dtype.SizeOf());
        return new Tensor(block, offset / dtype.SizeOf(), shape, shape.ContiguousStrides(), dtype);
    }

    /// <summary>A new tensor with element type <typeparamref name="T"/>, zero-filled.</summary>
    public Tensor Allocate<T>(params ReadOnlySpan<long> dims) where T : unmanaged => Allocate(DTypeInfo.Of<T>(), new Shape(dims));

    /// <summary>A new tensor with element type <typeparamref name="T"/>, zero-filled.</summary>
    public Tensor Allocate<T>(params ReadOnlySpan<int> dims) where T : unmanaged => Allocate(DTypeInfo.Of<T>(), new Shape(dims));

    /// <summary>A new tensor holding a copy of <paramref name="values"/> in the given shape.</summary>
    public Tensor FromSpan<T>(ReadOnlySpan<T> values, params ReadOnlySpan<long> dims) where T : unmanaged
    {
        var shape = new Shape(dims);
        if (shape.ElementCount != values.Length)
        {
            throw new ArgumentException($"{values.Length} values do not fill shape {shape} ({shape.ElementCount} elements)", nameof(values));
        }
        var t = Allocate(DTypeInfo.Of<T>(), shape);
        values.CopyTo(t.AsSpan<T>());
        return t;
    }

    private (NativeBlock Block, long Offset) Carve(long bytes)
    {
        var aligned = (bytes + NativeBlock.Alignment - 1) / NativeBlock.Alignment * NativeBlock.Alignment;
        var current = _blocks[^1];
        if (_used + aligned > current.ByteLength)
        {
            // Grow: a new chunk at least as large as everything so far, so the number of chunks stays logarithmic.
            current = new NativeBlock(Math.Max(aligned, CapacityBytes), clear: false);
            _blocks.Add(current);
            _used = 0;
        }
        var offset = _used;
        _used += aligned;
        _totalUsed += aligned;
        return (current, offset);
    }

    /// <summary>The current top, for <see cref="Rewind"/>.</summary>
    public ArenaMark Mark() => new(_blocks.Count, _used, _totalUsed);

    /// <summary>A mark that rewinds when disposed: <c>using var scratch = arena.Scope();</c> around an op's own temporaries.</summary>
    public ArenaScope Scope() => new(this, Mark());

    /// <summary>Gives back everything allocated since <paramref name="mark"/> (those tensors become invalid; older ones
    /// stay valid). Blocks grown since are released; the high-water mark keeps the peak, so the next
    /// <see cref="Reset"/> still sizes one block for it.</summary>
    public void Rewind(ArenaMark mark)
    {
        if (mark.Blocks < 1 || mark.Blocks > _blocks.Count || mark.TotalUsed > _totalUsed || (mark.Blocks == _blocks.Count && mark.Used > _used))
        {
            throw new InvalidOperationException($"arena '{_name}': a rewind to {mark} past the current top ({_blocks.Count} blocks, {_used} bytes in the last), after a Reset or an out-of-order rewind");
        }
        _highWater = Math.Max(_highWater, _totalUsed);
        for (var i = _blocks.Count - 1; i >= mark.Blocks; i--)
        {
            _blocks[i].Dispose();
            _blocks.RemoveAt(i);
        }
        (_used, _totalUsed) = (mark.Used, mark.TotalUsed);
    }

    /// <summary>Invalidates every tensor handed out; if the arena grew, its blocks are replaced by one block of the high-water size.</summary>
    public void Reset()
    {
        _highWater = Math.Max(_highWater, _totalUsed);
        if (_blocks.Count > 1 || _blocks[0].ByteLength < _highWater) // grown, or a rewind gave the growth back
        {
            foreach (var b in _blocks) { b.Dispose(); }
            _blocks.Clear();
            _blocks.Add(new NativeBlock(_highWater + (_highWater / Headroom), clear: false));
        }
        _used = 0;
        _totalUsed = 0;
    }

    public void Dispose()
    {
        foreach (var b in _blocks) { b.Dispose(); }
        _blocks.Clear();
    }

    public override string ToString() => $"Arena '{_name}': {UsedBytes} of {CapacityBytes} bytes in {BlockCount} block(s)";
}

/// <summary>An arena's top at one moment (<see cref="Arena.Mark"/>).</summary>
public readonly record struct ArenaMark(int Blocks, long Used, long TotalUsed);

/// <summary>Rewinds its arena to the mark it was made at when disposed (<see cref="Arena.Scope"/>).</summary>
public readonly struct ArenaScope(Arena arena, ArenaMark mark) : IDisposable
{
    public void Dispose() => arena.Rewind(mark);
}
