// MappedFile.cs: a read-only memory map of a whole file, handed out as bounds-checked ReadOnlySpan<byte> windows, so
// checkpoint readers touch only the pages they read and never copy a tensor they only convert, or as tensors read in
// place (a BF16 checkpoint's weights, with no copy at all), which stop working when the map is disposed. Not here: any
// file format (Model/Checkpoint/SafeTensorsFile.cs). Tested by SafeTensorsFileTests.
using System.IO.MemoryMappedFiles;

namespace SharpSeek.Tensors.Kernels;

/// <summary>A read-only view of a file's bytes through a memory map. Spans from <see cref="Span"/> are valid until
/// <see cref="Dispose"/>; the file is open for reading (others may read, rename or delete it meanwhile).</summary>
public sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly List<NativeBlock> _lent = [];
    private byte* _pointer;
    private bool _disposed;

    private MappedFile(string path, long length, MemoryMappedFile? map, MemoryMappedViewAccessor? view)
    {
        Path = path;
        Length = length;
        _map = map;
        _view = view;
        if (view is not null)
        {
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref _pointer);
            _pointer += view.PointerOffset;
        }
    }

    /// <summary>The path the file was opened with.</summary>
    public string Path { get; }

    /// <summary>The file's size in bytes when it was opened.</summary>
    public long Length { get; }

    /// <summary>Maps <paramref name="path"/> read-only. An empty file gives an empty view (a map of zero bytes does not exist).</summary>
    public static MappedFile Open(string path)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        try
        {
            var length = stream.Length;
            if (length == 0)
            {
                stream.Dispose();
                return new MappedFile(path, 0, null, null);
            }
            var map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            try
            {
                return new MappedFile(path, length, map, map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read));
            }
            catch
            {
                map.Dispose();
                throw;
            }
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Bytes [offset, offset + length) of the file. Throws <see cref="ArgumentOutOfRangeException"/> naming the range
    /// and the file size when the window does not lie inside the file.</summary>
    public ReadOnlySpan<byte> Span(long offset, int length)
    {
        CheckRange(offset, length);
        return length == 0 ? [] : new ReadOnlySpan<byte>(_pointer + offset, length);
    }

    /// <summary>A contiguous tensor of <paramref name="dtype"/> and <paramref name="shape"/> over the file's bytes from
    /// <paramref name="offset"/>, read in place: nothing is copied, and the pages are read when the tensor is. The range
    /// is checked first, and the offset must be a multiple of the element size. The tensor's memory belongs to this
    /// map: reading it after <see cref="Dispose"/> throws <see cref="ObjectDisposedException"/>. Never write to it (the
    /// map is read-only: a write faults).</summary>
    public Tensor TensorAt(long offset, DType dtype, Shape shape)
    {
        var bytes = shape.ElementCount * dtype.SizeOf();
        CheckRange(offset, bytes);
        if (offset % dtype.SizeOf() != 0)
        {
            throw new ArgumentException($"{Path}: a {dtype} tensor at byte {offset} is not aligned to its {dtype.SizeOf()}-byte elements", nameof(offset));
        }
        var block = NativeBlock.Borrow(_pointer + offset, bytes);
        lock (_lent) { _lent.Add(block); }
        return new Tensor(block, 0, shape, shape.ContiguousStrides(), dtype);
    }

    private void CheckRange(long offset, long length)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (offset < 0 || length < 0 || offset > Length - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset),
                $"{Path}: bytes [{offset}, {offset + length}) are outside the file of {Length} bytes");
        }
    }

    public void Dispose()
    {
        if (_disposed) { return; }
        _disposed = true;
        lock (_lent)
        {
            foreach (var block in _lent) { block.Dispose(); } // before the unmap: a lent tensor now throws instead of faulting
            _lent.Clear();
        }
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _pointer = null;
            _view.Dispose();
        }
        _map?.Dispose();
    }
}
