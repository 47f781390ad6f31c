// SafeTensorsFileTests.cs: reading safetensors: every dtype and odd shapes round-trip through the writer and convert to
// f32 as the scalar decoders do; corrupted files (built byte by byte here) are rejected with a message that names the
// file, the tensor and the rule; the data section must be covered exactly (a header length lowered by one into the
// space padding, bytes appended, gaps); a header of any length, padded with spaces or not, reads back; tensors read in
// place from the map (aligned ones only, bounds checked, unusable once the file is closed); U8/BOOL entries stay readable
// as raw bytes.
using System.Runtime.InteropServices;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Tensors;

namespace SharpSeek.Model.Tests;

public sealed class SafeTensorsFileTests
{
    private static readonly long[][] Shapes = [[], [1], [7], [127], [128], [129], [3, 129], [129, 7], [1, 5, 3]];

    [Fact]
    public void ReadBack_EveryDTypeAndOddShapes_BytesAndSinglesMatch()
    {
        using var dir = new TempDir();
        var rng = new Random(11);
        var entries = new List<SafeTensorEntry>();
        var expected = new Dictionary<string, float[]?>();
        foreach (var dtype in Enum.GetValues<DType>())
        {
            foreach (var shape in Shapes)
            {
                var name = $"t.{dtype}.{string.Join("x", shape)}";
                var (bytes, singles) = RandomTensor(rng, dtype, shape.Aggregate(1L, (p, d) => p * d));
                entries.Add(new SafeTensorEntry(name, dtype, shape, bytes));
                expected[name] = singles;
            }
        }
        var path = dir.File("all.safetensors");
        SafeTensorsWriter.Write(path, entries, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode ok" });

        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(entries.Count, file.Tensors.Count);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal("ünïcode ok", file.Metadata["note"]);
        foreach (var e in entries)
        {
            var info = file.Info(e.Name);
            Assert.Equal(e.DType, info.DType);
            Assert.Equal(e.Shape, info.Shape);
            Assert.Equal(e.Data.Length, info.Length);
            Assert.Equal(0, info.Offset % e.DType.SizeOf());
            Assert.True(e.Data.Span.SequenceEqual(file.Bytes(e.Name)), e.Name);
            if (expected[e.Name] is { } singles)
            {
                var got = new float[singles.Length];
                file.ReadAsSingle(e.Name, got);
                Assert.Equal(Bits(singles), Bits(got));
            }
            else
            {
                var ex = Assert.Throws<InvalidOperationException>(() => file.ReadAsSingle(e.Name, new float[info.Elements]));
                Assert.Contains("not a float dtype", ex.Message, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void ReadAsSingle_WrongDestinationLength_NamesTensorAndBothCounts()
    {
        using var dir = new TempDir();
        var path = dir.File("w.safetensors");
        SafeTensorsWriter.Write(path, [new SafeTensorEntry("w", DType.F32, [3, 5], new byte[60])]);
        using var file = SafeTensorsFile.Open(path);
        var ex = Assert.Throws<ArgumentException>(() => file.ReadAsSingle("w", new float[14]));
        Assert.Contains("'w' [3, 5] has 15 elements; destination has 14", ex.Message, StringComparison.Ordinal);
        Assert.Throws<KeyNotFoundException>(() => file.Info("nope"));
    }

    public static TheoryData<string, byte[], string[]> Corrupt()
    {
        const string Ok = "\"dtype\":\"F32\",\"shape\":[2,3]";
        return new()
        {
            { "short file", new byte[5], ["truncated file", "5 bytes"] },
            { "header length past the end", CheckpointTestFiles.Raw("{}", 0, headerLength: 3), ["header length 3 runs past the end", "10 bytes"] },
            { "header length huge", CheckpointTestFiles.Raw("{}", 0, headerLength: ulong.MaxValue), ["header length 18446744073709551615 runs past the end"] },
            { "bad JSON", CheckpointTestFiles.Raw("{\"w\":{\"dtype\":", 24), ["not valid UTF-8 JSON"] },
            { "bad UTF-8", CheckpointTestFiles.Raw([(byte)'{', (byte)'"', 0xFF, 0xFE, (byte)'"', (byte)':', (byte)'1', (byte)'}'], 0), ["not valid UTF-8 JSON"] },
            { "not an object", CheckpointTestFiles.Raw("[1,2]", 0), ["header is JSON Array"] },
            { "unknown dtype", CheckpointTestFiles.Raw("{\"w\":{\"dtype\":\"F7\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2), ["tensor 'w'", "unknown dtype \"F7\""] },
            { "missing dtype", CheckpointTestFiles.Raw("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8), ["tensor 'w'", "missing dtype"] },
            { "missing shape", CheckpointTestFiles.Raw("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8), ["tensor 'w'", "missing shape"] },
            { "negative dim", CheckpointTestFiles.Raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8), ["tensor 'w'", "missing shape"] },
            { "one offset", CheckpointTestFiles.Raw("{\"w\":{" + Ok + ",\"data_offsets\":[0]}}", 24), ["tensor 'w'", "missing data_offsets"] },
            { "end before begin", CheckpointTestFiles.Raw("{\"w\":{" + Ok + ",\"data_offsets\":[24,0]}}", 24), ["tensor 'w'", "end before they begin"] },
            { "offset out of bounds", CheckpointTestFiles.Raw("{\"w\":{" + Ok + ",\"data_offsets\":[8,32]}}", 24), ["tensor 'w'", "[8, 32] out of bounds", "24 bytes"] },
            { "truncated data", CheckpointTestFiles.Raw("{\"a\":{" + Ok + ",\"data_offsets\":[0,24]},\"w\":{" + Ok + ",\"data_offsets\":[24,48]}}", 40), ["tensor 'w'", "out of bounds", "truncated"] },
            { "size mismatch", CheckpointTestFiles.Raw("{\"w\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 24), ["tensor 'w'", "size mismatch", "24 bytes", "BF16 [2, 3] needs 12"] },
            { "shape overflows", CheckpointTestFiles.Raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8), ["tensor 'w'", "overflows"] },
            { "overlap", CheckpointTestFiles.Raw("{\"a\":{" + Ok + ",\"data_offsets\":[0,24]},\"w\":{" + Ok + ",\"data_offsets\":[20,44]}}", 44), ["tensor 'w'", "overlap tensor 'a'", "[20, 44]", "[0, 24]"] },
            { "same range twice", CheckpointTestFiles.Raw("{\"w\":{" + Ok + ",\"data_offsets\":[0,24]},\"a\":{" + Ok + ",\"data_offsets\":[0,24]}}", 24), ["overlap tensor"] },
            { "duplicate name", CheckpointTestFiles.Raw("{\"w\":{" + Ok + ",\"data_offsets\":[0,24]},\"w\":{" + Ok + ",\"data_offsets\":[24,48]}}", 48), ["tensor 'w'", "duplicate name"] },
            { "gap between tensors", CheckpointTestFiles.Raw("{\"a\":{" + Ok + ",\"data_offsets\":[0,24]},\"w\":{" + Ok + ",\"data_offsets\":[28,52]}}", 52),
                ["tensor 'w'", "[28, 52] leave bytes [24, 28) after tensor 'a' unused", "expected it to begin at 24"] },
            { "first tensor not at 0", CheckpointTestFiles.Raw("{\"w\":{" + Ok + ",\"data_offsets\":[4,28]}}", 28), ["tensor 'w'", "bytes [0, 4) at the start", "begin at 0"] },
            { "bytes after the last tensor", CheckpointTestFiles.Raw("{\"w\":{" + Ok + ",\"data_offsets\":[0,24]}}", 25),
                ["data section", "has 25 bytes but the last tensor, 'w', ends at 24", "expected the tensors to end exactly at the end of the file"] },
            { "data but no tensors", CheckpointTestFiles.Raw("{}", 3), ["has 3 bytes but no tensor holds any of them"] },
            { "metadata not strings", CheckpointTestFiles.Raw("{\"__metadata__\":{\"format\":1}}", 0), ["__metadata__ 'format'", "expected a string"] },
        };
    }

    [Theory]
    [MemberData(nameof(Corrupt))]
    public void Open_CorruptFile_NamesFileTensorAndRule(string what, byte[] bytes, string[] fragments)
    {
        using var dir = new TempDir();
        var path = dir.File("bad.safetensors");
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Open(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        foreach (var fragment in fragments) { Assert.True(ex.Message.Contains(fragment, StringComparison.Ordinal), $"{what}: '{ex.Message}' lacks '{fragment}'"); }
    }

    [Fact]
    public void Open_FileWrittenThenCutShort_NamesTheLastTensor()
    {
        using var dir = new TempDir();
        var path = dir.File("cut.safetensors");
        var rng = new Random(5);
        SafeTensorsWriter.Write(path,
        [
            new SafeTensorEntry("a", DType.F32, [7], MemoryMarshal.AsBytes(CheckpointTestFiles.Random(rng, 7).AsSpan()).ToArray()),
            new SafeTensorEntry("b", DType.F32, [9], MemoryMarshal.AsBytes(CheckpointTestFiles.Random(rng, 9).AsSpan()).ToArray()),
        ]);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^3]);
        var ex = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Open(path));
        Assert.Contains("tensor 'b'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("out of bounds", ex.Message, StringComparison.Ordinal);
    }

    // The campaign's damage: a header length lowered by one still parses (the header ends in space padding) and would read
    // every tensor one byte out of place; 4 bytes appended would be ignored. Both are refused, naming file and counts.
    [Fact]
    public void Open_HeaderLengthLoweredOrBytesAppended_Refused()
    {
        using var dir = new TempDir();
        var path = dir.File("w.safetensors");
        var rng = new Random(3);
        var values = CheckpointTestFiles.Random(rng, 6);
        // A name whose header needs padding, so that N - 1 still ends inside the spaces.
        var name = Enumerable.Range(1, 8).Select(k => new string('w', k)).First(n =>
        {
            SafeTensorsWriter.Write(path, [new SafeTensorEntry(n, DType.F32, [2, 3], MemoryMarshal.AsBytes(values.AsSpan()).ToArray())]);
            var b = File.ReadAllBytes(path);
            return b[8 + (int)BitConverter.ToUInt64(b, 0) - 1] == (byte)' ';
        });
        var good = File.ReadAllBytes(path);
        var n = BitConverter.ToUInt64(good, 0);
        using (var file = SafeTensorsFile.Open(path))
        {
            var read = new float[6];
            file.ReadAsSingle(name, read);
            Assert.Equal(values, read);
        }

        var lowered = good.ToArray();
        BitConverter.GetBytes(n - 1).CopyTo(lowered, 0);
        File.WriteAllBytes(path, lowered);
        var ex = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Open(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains($"the {n - 1}-byte header) has 25 bytes but the last tensor, '{name}', ends at 24", ex.Message, StringComparison.Ordinal);
        Assert.Contains("wrong header length", ex.Message, StringComparison.Ordinal);

        File.WriteAllBytes(path, [.. good, 0, 0, 0, 0]);
        ex = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Open(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("has 28 bytes but the last tensor", ex.Message, StringComparison.Ordinal);
        Assert.Contains("expected the tensors to end exactly at the end of the file", ex.Message, StringComparison.Ordinal);
    }

    // The data section begins right after the header, whatever N is: an unpadded 111-byte header (data at file offset 119,
    // not 8-aligned) and the same header padded with trailing spaces (data at 120, or at 127) all read back exactly.
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(8)]
    public void Open_HeaderOfAnyLengthWithOrWithoutPadding_ReadsBack(int padding)
    {
        using var dir = new TempDir();
        var path = dir.File("p.safetensors");
        var values = CheckpointTestFiles.Random(new Random(9), 3);
        var header = "{\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[12,18]},\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}"
            + new string(' ', padding);
        var bf16 = values.Select(BFloat16.FromSingle).ToArray();
        byte[] data = [.. MemoryMarshal.AsBytes(values.AsSpan()), .. MemoryMarshal.AsBytes(bf16.AsSpan())];
        byte[] bytes = [.. BitConverter.GetBytes((ulong)header.Length), .. System.Text.Encoding.UTF8.GetBytes(header), .. data];
        File.WriteAllBytes(path, bytes);
        using var file = SafeTensorsFile.Open(path);
        var (w, b) = (new float[3], new float[3]);
        file.ReadAsSingle("w", w);
        file.ReadAsSingle("b", b);
        Assert.Equal(values, w);
        Assert.Equal(bf16.Select(x => x.ToSingle()), b);
    }

    // In place: an unpadded header puts the data at file offset 119, where neither the F32 nor the BF16 tensor is aligned
    // to its elements (null: read by copy); one space of padding aligns both, read in place with the stored values. The
    // map checks a window's bounds before lending it, and a tensor lent from a closed file throws instead of faulting.
    [Theory]
    [InlineData(0, false)]
    [InlineData(1, true)]
    public void InPlace_AlignedTensorsOnly_BoundsChecked_AndDeadAfterDispose(int padding, bool aligned)
    {
        using var dir = new TempDir();
        var path = dir.File("p.safetensors");
        var values = CheckpointTestFiles.Random(new Random(9), 3);
        var header = "{\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[12,18]},\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}"
            + new string(' ', padding);
        var bf16 = values.Select(BFloat16.FromSingle).ToArray();
        byte[] data = [.. MemoryMarshal.AsBytes(values.AsSpan()), .. MemoryMarshal.AsBytes(bf16.AsSpan())];
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((ulong)header.Length), .. System.Text.Encoding.UTF8.GetBytes(header), .. data]);
        var file = SafeTensorsFile.Open(path);
        var (w, b) = (file.InPlace("w"), file.InPlace("b"));
        Assert.Equal(aligned, w is not null);
        Assert.Equal(aligned, b is not null);
        if (aligned)
        {
            Assert.Equal(values, w!.Value.AsSpan<float>().ToArray());
            Assert.Equal(bf16, b!.Value.AsSpan<BFloat16>().ToArray());
            Assert.Equal(new Shape(3), b.Value.Shape);
        }
        file.Dispose();
        if (aligned) { Assert.Throws<ObjectDisposedException>(() => b!.Value.AsSpan<BFloat16>().Length); }
        using var map = SharpSeek.Tensors.Kernels.MappedFile.Open(path);
        Assert.Throws<ArgumentOutOfRangeException>(() => map.TensorAt(map.Length - 4, DType.BF16, new Shape(3)));
        Assert.Throws<ArgumentException>(() => map.TensorAt(1, DType.BF16, new Shape(1)));
    }

    [Fact]
    public void Open_RawU8AndBool_ReadableAsBytesOnly()
    {
        using var dir = new TempDir();
        var path = dir.File("raw.safetensors");
        var header = "{\"mask\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[8,11]},"
            + "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"ids\":{\"dtype\":\"U8\",\"shape\":[2,2],\"data_offsets\":[11,15]}}";
        var bytes = CheckpointTestFiles.Raw(header, 15);
        File.WriteAllBytes(path, bytes);
        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(["w"], file.Tensors.Select(t => t.Name));
        Assert.Equal(["ids", "mask", "w"], file.Names.Order(StringComparer.Ordinal));
        Assert.True(file.Contains("mask"));
        var data = bytes.AsSpan(8 + header.Length);
        Assert.True(data[8..11].SequenceEqual(file.Bytes("mask")));
        Assert.True(data[11..15].SequenceEqual(file.Bytes("ids")));
        var ex = Assert.Throws<InvalidDataException>(() => file.Info("ids"));
        Assert.Contains("dtype U8", ex.Message, StringComparison.Ordinal);
        Assert.Empty(file.Metadata);
    }

    [Fact]
    public void Open_ZeroLengthTensorsAndEmptyHeader_Accepted()
    {
        using var dir = new TempDir();
        var path = dir.File("empty.safetensors");
        File.WriteAllBytes(path, CheckpointTestFiles.Raw("{\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]},\"__metadata__\":null}", 0));
        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(0, file.Info("e").Length);
        Assert.True(file.Bytes("e").IsEmpty);
        File.WriteAllBytes(dir.File("nothing.safetensors"), CheckpointTestFiles.Raw("{}", 0));
        using var nothing = SafeTensorsFile.Open(dir.File("nothing.safetensors"));
        Assert.Empty(nothing.Tensors);
    }

    // Random bytes for `dtype` made by the scalar encoders, and the f32 values the scalar decoders give (null for integers).
    internal static (byte[] Bytes, float[]? Singles) RandomTensor(Random rng, DType dtype, long count)
    {
        var f = CheckpointTestFiles.Random(rng, count);
        switch (dtype)
        {
            case DType.F32: return (MemoryMarshal.AsBytes(f.AsSpan()).ToArray(), f);
            case DType.F64:
                var d = f.Select(x => (double)x * (1 + 1e-9)).ToArray();
                return (MemoryMarshal.AsBytes(d.AsSpan()).ToArray(), d.Select(x => (float)x).ToArray());
            case DType.BF16:
                var b = f.Select(BFloat16.FromSingle).ToArray();
                return (MemoryMarshal.AsBytes(b.AsSpan()).ToArray(), b.Select(x => x.ToSingle()).ToArray());
            case DType.F16:
                var h = f.Select(x => (Half)x).ToArray();
                return (MemoryMarshal.AsBytes(h.AsSpan()).ToArray(), h.Select(x => (float)x).ToArray());
            case DType.F8E4M3:
                var q = f.Select(x => Float8E4M3.FromSingle(x * 100)).ToArray();
                return (q.Select(x => x.Bits).ToArray(), q.Select(x => x.ToSingle()).ToArray());
            case DType.F8E5M2:
                var r = f.Select(x => Float8E5M2.FromSingle(x * 1000)).ToArray();
                return (r.Select(x => x.Bits).ToArray(), r.Select(x => x.ToSingle()).ToArray());
            case DType.I32:
                var i = f.Select(x => (int)(x * 1e6f)).ToArray();
                return (MemoryMarshal.AsBytes(i.AsSpan()).ToArray(), null);
            case DType.I64:
                var l = f.Select(x => (long)(x * 1e15)).ToArray();
                return (MemoryMarshal.AsBytes(l.AsSpan()).ToArray(), null);
            default: throw new ArgumentOutOfRangeException(nameof(dtype));
        }
    }

    internal static int[] Bits(float[] values) => [.. values.Select(BitConverter.SingleToInt32Bits)];
}
