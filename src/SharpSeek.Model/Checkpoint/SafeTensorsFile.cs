// SafeTensorsFile.cs: a memory-mapped safetensors file (huggingface/safetensors:README.md: u64 little-endian header length N, N bytes of UTF-8 JSON, then
// the data section, which begins right after the header whatever N is), with the whole header validated before any
// tensor byte is read: the tensors' data_offsets must cover the data section exactly (from 0 to the file's end, no gap,
// no overlap; zero-length tensors aside), so a wrong N or bytes appended are refused rather than read out of place.
// Also conversion of float tensors to f32, and tensors read in place from the map (InPlace). Not here: FP8 block scales (CheckpointDirectory.ReadWeight), writing
// (SafeTensorsWriter.cs), shards. Tested by SafeTensorsFileTests.
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Model.Checkpoint;

/// <summary>A validated, memory-mapped safetensors file. Spans it returns are valid until <see cref="Dispose"/>.</summary>
public sealed class SafeTensorsFile : IDisposable
{
    /// <summary>The reference implementation's limit on the header (100 MB); larger lengths are rejected unread.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    // Elements converted per slice in ReadAsSingle: every slice's bytes fit one span (8 × 2^26 bytes < 2 GiB).
    private const int ConvertChunk = 1 << 26;

    private readonly MappedFile _file;
    private readonly long _dataStart;
    private readonly Dictionary<string, SafeTensorInfo> _typed;
    private readonly Dictionary<string, (string DType, long Offset, long Length)> _raw;

    private SafeTensorsFile(MappedFile file, long dataStart, List<SafeTensorInfo> typed,
        Dictionary<string, (string, long, long)> raw, Dictionary<string, string> metadata)
    {
        _file = file;
        _dataStart = dataStart;
        Tensors = typed;
        _typed = typed.ToDictionary(t => t.Name, StringComparer.Ordinal);
        _raw = raw;
        Metadata = metadata;
    }

    public string FilePath => _file.Path;

    /// <summary>The tensors with a dtype SharpSeek knows, in header order.</summary>
    public IReadOnlyList<SafeTensorInfo> Tensors { get; }

    /// <summary>Every entry's name, including U8/BOOL entries that are only readable as raw bytes.</summary>
    public IEnumerable<string> Names => Tensors.Select(t => t.Name).Concat(_raw.Keys);

    /// <summary>The header's <c>__metadata__</c> (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Maps <paramref name="path"/> and validates its header; throws <see cref="InvalidDataException"/> naming the
    /// file, the tensor and the violated rule.</summary>
    public static SafeTensorsFile Open(string path)
    {
        if (!BitConverter.IsLittleEndian) { throw new PlatformNotSupportedException("safetensors data is little-endian; this machine is not"); }
        var file = MappedFile.Open(path);
        try
        {
            var (dataStart, typed, raw, metadata) = ReadHeader(file);
            return new SafeTensorsFile(file, dataStart, typed, raw, metadata);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>True when the file has an entry named <paramref name="name"/> (raw U8/BOOL entries included).</summary>
    public bool Contains(string name) => _typed.ContainsKey(name) || _raw.ContainsKey(name);

    public SafeTensorInfo Info(string name)
    {
        if (_typed.TryGetValue(name, out var info)) { return info; }
        if (_raw.TryGetValue(name, out var raw))
        {
            throw new InvalidDataException($"{FilePath}: tensor '{name}' has dtype {raw.DType}, which is readable only as raw bytes (Bytes)");
        }
        throw new KeyNotFoundException($"{FilePath}: no tensor named '{name}'");
    }

    /// <summary>The tensor's stored bytes (little-endian), straight from the map.</summary>
    public ReadOnlySpan<byte> Bytes(string name)
    {
        long offset, length;
        if (_raw.TryGetValue(name, out var raw)) { (offset, length) = (raw.Offset, raw.Length); }
        else
        {
            var info = Info(name);
            (offset, length) = (info.Offset, info.Length);
        }
        if (length > int.MaxValue)
        {
            throw new NotSupportedException($"{FilePath}: tensor '{name}' holds {length} bytes; one span holds at most {int.MaxValue}");
        }
        return _file.Span(_dataStart + offset, (int)length);
    }

    /// <summary>The tensor as stored (dtype, shape, row-major), read in place from the map, nothing copied: valid until
    /// <see cref="Dispose"/>, after which reading it throws <see cref="ObjectDisposedException"/>. Null when its bytes do
    /// not start at a multiple of its element size (a header the writer did not pad), for a caller to read by copy.</summary>
    public Tensor? InPlace(string name)
    {
        var info = Info(name);
        var offset = _dataStart + info.Offset; // inside the file: the header's offsets were checked against the data section at Open
        return offset % info.DType.SizeOf() != 0 ? null : _file.TensorAt(offset, info.DType, new Shape(info.Shape));
    }

    /// <summary>Converts a F32/F64/BF16/F16/F8_E4M3/F8_E5M2 tensor to f32 (FP8 codes as they are, no block scale).
    /// <paramref name="destination"/> must hold exactly product(shape) elements.</summary>
    public void ReadAsSingle(string name, Span<float> destination)
    {
        var info = Info(name);
        if (destination.Length != info.Elements)
        {
            throw new ArgumentException(
                $"{FilePath}: tensor '{name}' {info.ShapeText} has {info.Elements} elements; destination has {destination.Length}", nameof(destination));
        }
        if (info.DType is DType.I32 or DType.I64)
        {
            throw new InvalidOperationException($"{FilePath}: tensor '{name}' has dtype {info.DType.SafetensorsName()}, not a float dtype");
        }
        var size = info.DType.SizeOf();
        for (var done = 0; done < destination.Length; done += ConvertChunk)
        {
            var n = Math.Min(ConvertChunk, destination.Length - done);
            var src = _file.Span(_dataStart + info.Offset + ((long)done * size), n * size);
            var dst = destination.Slice(done, n);
            switch (info.DType)
            {
                case DType.F32: MemoryMarshal.Cast<byte, float>(src).CopyTo(dst); break;
                case DType.BF16: DTypeConvert.ToSingle(MemoryMarshal.Cast<byte, BFloat16>(src), dst); break;
                case DType.F16: DTypeConvert.ToSingle(MemoryMarshal.Cast<byte, Half>(src), dst); break;
                case DType.F8E4M3: DTypeConvert.ToSingle(MemoryMarshal.Cast<byte, Float8E4M3>(src), dst); break;
                case DType.F8E5M2: DTypeConvert.ToSingle(MemoryMarshal.Cast<byte, Float8E5M2>(src), dst); break;
                case DType.F64:
                    var doubles = MemoryMarshal.Cast<byte, double>(src);
                    for (var i = 0; i < n; i++) { dst[i] = (float)doubles[i]; }
                    break;
                default: throw new InvalidOperationException($"unhandled dtype {info.DType}");
            }
        }
    }

    public void Dispose() => _file.Dispose();

    // ---- header validation: every rule is checked before any data byte is touched

    private static (long, List<SafeTensorInfo>, Dictionary<string, (string, long, long)>, Dictionary<string, string>) ReadHeader(MappedFile file)
    {
        var path = file.Path;
        if (file.Length < 8)
        {
            throw new InvalidDataException($"{path}: truncated file: {file.Length} bytes, shorter than the 8-byte header length");
        }
        var n = BitConverter.ToUInt64(file.Span(0, 8));
        if (n > (ulong)(file.Length - 8))
        {
            throw new InvalidDataException($"{path}: header length {n} runs past the end of the file ({file.Length} bytes, so at most {file.Length - 8})");
        }
        if (n > MaxHeaderBytes)
        {
            throw new InvalidDataException($"{path}: header length {n} exceeds the {MaxHeaderBytes}-byte limit");
        }
        var dataStart = 8 + (long)n;
        var dataLength = file.Length - dataStart;
        var headerBytes = file.Span(8, (int)n);
        // JsonDocument checks UTF-8 only when a string is decoded; check all of it up front.
        if (!Utf8.IsValid(headerBytes)) { throw new InvalidDataException($"{path}: the header is not valid UTF-8 JSON: invalid UTF-8 bytes"); }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(headerBytes.ToArray());
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: the header is not valid UTF-8 JSON: {e.Message}", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{path}: the header is JSON {doc.RootElement.ValueKind}, expected an object of tensors");
            }
            var typed = new List<SafeTensorInfo>();
            var raw = new Dictionary<string, (string, long, long)>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var spans = new List<(long Begin, long End, string Name)>();
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name)) { throw new InvalidDataException($"{path}: tensor '{property.Name}': duplicate name in the header"); }
                if (property.Name == "__metadata__")
                {
                    ReadMetadata(path, property.Value, metadata);
                    continue;
                }
                var (dtypeName, dtype, shape, begin, end) = ReadEntry(path, property.Name, property.Value, dataLength);
                spans.Add((begin, end, property.Name));
                if (dtype is { } known) { typed.Add(new SafeTensorInfo(property.Name, known, shape, begin, end - begin)); }
                else { raw.Add(property.Name, (dtypeName, begin, end - begin)); }
            }
            CheckCoverage(path, spans, n, dataLength);
            return (dataStart, typed, raw, metadata);
        }
    }

    // The data section must be exactly the tensors' bytes: sorted by begin, each non-empty tensor starts where the previous
    // one ended, the first at 0, the last at the end of the file. Zero-length tensors occupy nothing and are skipped.
    private static void CheckCoverage(string path, List<(long Begin, long End, string Name)> spans, ulong headerLength, long dataLength)
    {
        spans.RemoveAll(s => s.End == s.Begin);
        spans.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        var (start, end, last) = (0L, 0L, "");
        foreach (var (begin, stop, name) in spans)
        {
            if (begin < end)
            {
                throw new InvalidDataException($"{path}: tensor '{name}': data_offsets [{begin}, {stop}] overlap tensor '{last}' [{start}, {end}]");
            }
            if (begin > end)
            {
                var after = last.Length == 0 ? "at the start of the data section" : $"after tensor '{last}'";
                throw new InvalidDataException($"{path}: tensor '{name}': data_offsets [{begin}, {stop}] leave bytes [{end}, {begin}) {after} "
                    + $"unused; expected it to begin at {end} (the tensors must cover the data section without gaps)");
            }
            (start, end, last) = (begin, stop, name);
        }
        if (end != dataLength)
        {
            var what = last.Length == 0 ? "no tensor holds any of them" : $"the last tensor, '{last}', ends at {end}";
            throw new InvalidDataException($"{path}: the data section (after the 8-byte length and the {headerLength}-byte header) has "
                + $"{dataLength} bytes but {what}; expected the tensors to end exactly at the end of the file (a wrong header "
                + "length, or bytes appended?)");
        }
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind == JsonValueKind.Null) { return; }
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"{path}: __metadata__ is JSON {value.ValueKind}, expected an object of strings");
        }
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
            {
                throw new InvalidDataException($"{path}: __metadata__ '{item.Name}' is JSON {item.Value.ValueKind}, expected a string");
            }
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static (string, DType?, long[], long, long) ReadEntry(string path, string name, JsonElement entry, long dataLength)
    {
        InvalidDataException Fail(string rule) => new($"{path}: tensor '{name}': {rule}");
        if (entry.ValueKind != JsonValueKind.Object) { throw Fail($"entry is JSON {entry.ValueKind}, expected an object with dtype, shape, data_offsets"); }
        if (!entry.TryGetProperty("dtype", out var dtypeJson) || dtypeJson.ValueKind != JsonValueKind.String)
        {
            throw Fail("missing dtype (a string such as \"BF16\")");
        }
        var dtypeName = dtypeJson.GetString()!;
        DType? dtype = dtypeName switch
        {
            "F32" => DType.F32,
            "F64" => DType.F64,
            "BF16" => DType.BF16,
            "F16" => DType.F16,
            "F8_E4M3" => DType.F8E4M3,
            "F8_E5M2" => DType.F8E5M2,
            "I32" => DType.I32,
            "I64" => DType.I64,
            "U8" or "BOOL" => null,
            _ => throw Fail($"unknown dtype \"{dtypeName}\" (known: F32, F64, BF16, F16, F8_E4M3, F8_E5M2, I32, I64, U8, BOOL)"),
        };
        var shape = Integers(entry, "shape", -1) ?? throw Fail("missing shape (an array of non-negative integers)");
        var offsets = Integers(entry, "data_offsets", 2) ?? throw Fail("missing data_offsets (an array [begin, end] of non-negative integers)");
        var (begin, end) = (offsets[0], offsets[1]);
        if (end < begin) { throw Fail($"data_offsets [{begin}, {end}] end before they begin"); }
        if (end > dataLength)
        {
            throw Fail($"data_offsets [{begin}, {end}] out of bounds: the data section has {dataLength} bytes (file truncated?)");
        }
        long expected;
        try
        {
            expected = checked(shape.Aggregate(1L, (p, d) => p * d) * (dtype?.SizeOf() ?? 1));
        }
        catch (OverflowException)
        {
            throw Fail($"shape {SafeTensorInfo.Format(shape)} overflows a 64-bit byte count");
        }
        if (end - begin != expected)
        {
            throw Fail($"size mismatch: data_offsets [{begin}, {end}] hold {end - begin} bytes, but {dtypeName} {SafeTensorInfo.Format(shape)} needs {expected}");
        }
        return (dtypeName, dtype, shape, begin, end);
    }

    // An array of non-negative integers (of exactly `count` items when count >= 0), or null when absent or malformed.
    private static long[]? Integers(JsonElement entry, string key, int count)
    {
        if (!entry.TryGetProperty(key, out var array) || array.ValueKind != JsonValueKind.Array) { return null; }
        if (count >= 0 && array.GetArrayLength() != count) { return null; }
        var values = new long[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var v) || v < 0) { return null; }
            values[i++] = v;
        }
        return values;
    }
}
