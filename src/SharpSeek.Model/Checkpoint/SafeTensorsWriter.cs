// SafeTensorsWriter.cs: writes one safetensors file atomically and deterministically: header keys sorted, header padded
// with spaces to a multiple of 8 (as the reference implementation does), data laid out by element size (largest first)
// then by name, so every tensor starts aligned to its element size and the offsets are contiguous. Not here: reading
// (SafeTensorsFile.cs), shards (CheckpointWriter.cs). Tested by SafeTensorsWriterTests.
using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using SharpSeek.Tensors;

namespace SharpSeek.Model.Checkpoint;

/// <summary>Writes safetensors files: the same tensors and metadata always give the same bytes.</summary>
public static class SafeTensorsWriter
{
    private static readonly JsonWriterOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes <paramref name="tensors"/> (and <c>__metadata__</c> when given) to <paramref name="path"/> through a
    /// temporary file and a rename. Throws <see cref="ArgumentException"/> naming a tensor whose byte count is not
    /// product(shape) × dtype size, or a duplicate or reserved name.</summary>
    public static void Write(string path, IReadOnlyList<SafeTensorEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in tensors)
        {
            if (t.Name.Length == 0 || t.Name == "__metadata__") { throw new ArgumentException($"tensor name '{t.Name}' is reserved or empty", nameof(tensors)); }
            if (!names.Add(t.Name)) { throw new ArgumentException($"tensor '{t.Name}' appears twice", nameof(tensors)); }
            if (t.Shape.Any(d => d < 0)) { throw new ArgumentException($"tensor '{t.Name}': shape {SafeTensorInfo.Format(t.Shape)} has a negative dimension", nameof(tensors)); }
            var expected = t.Shape.Aggregate(1L, (p, d) => checked(p * d)) * t.DType.SizeOf();
            if (t.Data.Length != expected)
            {
                throw new ArgumentException(
                    $"tensor '{t.Name}': {t.Data.Length} bytes of data, but {t.DType.SafetensorsName()} {SafeTensorInfo.Format(t.Shape)} needs {expected}", nameof(tensors));
            }
        }

        var layout = tensors.OrderByDescending(t => t.DType.SizeOf()).ThenBy(t => t.Name, StringComparer.Ordinal).ToList();
        var offsets = new Dictionary<string, (long Begin, long End)>(StringComparer.Ordinal);
        var at = 0L;
        foreach (var t in layout)
        {
            offsets[t.Name] = (at, at + t.Data.Length);
            at += t.Data.Length;
        }

        var header = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(header, Json))
        {
            json.WriteStartObject();
            if (metadata is not null)
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal)) { json.WriteString(key, value); }
                json.WriteEndObject();
            }
            foreach (var t in tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
            {
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.DType.SafetensorsName());
                json.WriteStartArray("shape");
                foreach (var d in t.Shape) { json.WriteNumberValue(d); }
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offsets[t.Name].Begin);
                json.WriteNumberValue(offsets[t.Name].End);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        // The data section starts at 8 + N; spaces pad N to a multiple of 8 so it starts 8-byte aligned.
        var padding = (8 - (header.WrittenCount % 8)) % 8;

        AtomicFile.Write(path, stream =>
        {
            stream.Write(BitConverter.GetBytes((ulong)(header.WrittenCount + padding)));
            stream.Write(header.WrittenSpan);
            for (var i = 0; i < padding; i++) { stream.WriteByte((byte)' '); }
            foreach (var t in layout) { stream.Write(t.Data.Span); }
        });
    }
}
