// SafeTensorsWriterTests.cs: the writer's bytes: the reference layout for a one-tensor file, header padded with spaces to
// a multiple of 8, deterministic output whatever the input order, element-size alignment of every tensor, atomic
// replacement with no temporary left behind, and bad input named.
using System.Runtime.InteropServices;
using System.Text;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Tensors;

namespace SharpSeek.Model.Tests;

public sealed class SafeTensorsWriterTests
{
    [Fact]
    public void Write_OneTensor_ReferenceLayout()
    {
        using var dir = new TempDir();
        var path = dir.File("one.safetensors");
        byte[] data = [1, 2, 3, 4, 5, 6];
        SafeTensorsWriter.Write(path, [new SafeTensorEntry("w", DType.BF16, [3], data)], new Dictionary<string, string> { ["format"] = "pt" });

        const string Json = "{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,6]}}";
        var padded = Json + new string(' ', (8 - (Json.Length % 8)) % 8);
        byte[] expected = [.. BitConverter.GetBytes((ulong)padded.Length), .. Encoding.UTF8.GetBytes(padded), .. data];
        Assert.Equal(expected, File.ReadAllBytes(path));
        Assert.Equal(0, padded.Length % 8);
        Assert.NotEqual(Json.Length, padded.Length); // this header does need padding, so the test exercises it
    }

    [Fact]
    public void Write_SameTensorsInAnyOrder_IdenticalBytes()
    {
        using var dir = new TempDir();
        var rng = new Random(3);
        var entries = new List<SafeTensorEntry>();
        foreach (var (name, dtype, shape) in new (string, DType, long[])[]
        {
            ("z.bias", DType.F32, [7]), ("a.weight", DType.BF16, [3, 129]), ("m.q", DType.F8E4M3, [129, 5]),
            ("b.f64", DType.F64, [1]), ("k.half", DType.F16, [127]), ("c.i64", DType.I64, [2, 3]),
        })
        {
            entries.Add(new SafeTensorEntry(name, dtype, shape, SafeTensorsFileTests.RandomTensor(rng, dtype, shape.Aggregate(1L, (p, d) => p * d)).Bytes));
        }
        var meta = new Dictionary<string, string> { ["b"] = "2", ["a"] = "1" };
        SafeTensorsWriter.Write(dir.File("1.safetensors"), entries, meta);
        SafeTensorsWriter.Write(dir.File("2.safetensors"), [.. Enumerable.Reverse(entries)], new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" });
        var bytes = File.ReadAllBytes(dir.File("1.safetensors"));
        Assert.Equal(bytes, File.ReadAllBytes(dir.File("2.safetensors")));

        // Header: a multiple of 8, padded with spaces; data: largest element size first, each tensor aligned to its size.
        var n = (int)BitConverter.ToUInt64(bytes);
        Assert.Equal(0, n % 8);
        var header = Encoding.UTF8.GetString(bytes, 8, n);
        Assert.Equal(header.TrimEnd(' ').Length + ((8 - (header.TrimEnd(' ').Length % 8)) % 8), n);
        using var file = SafeTensorsFile.Open(dir.File("1.safetensors"));
        Assert.All(file.Tensors, t => Assert.Equal(0, (8 + n + t.Offset) % t.DType.SizeOf()));
        var ordered = file.Tensors.OrderBy(t => t.Offset).ToList();
        Assert.Equal(0, ordered[0].Offset);
        for (var i = 1; i < ordered.Count; i++) { Assert.Equal(ordered[i - 1].Offset + ordered[i - 1].Length, ordered[i].Offset); }
        Assert.Equal(bytes.Length - 8 - n, ordered[^1].Offset + ordered[^1].Length);
        Assert.Equal(["a", "b"], file.Metadata.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Write_OverExistingFile_ReplacesItAndLeavesNoTemporary()
    {
        using var dir = new TempDir();
        var path = dir.File("w.safetensors");
        File.WriteAllText(path, "old contents");
        var values = CheckpointTestFiles.Random(new Random(8), 129);
        SafeTensorsWriter.Write(path, [new SafeTensorEntry("w", DType.F32, [129], MemoryMarshal.AsBytes(values.AsSpan()).ToArray())]);
        Assert.Equal([path], Directory.GetFiles(dir.Path));
        using var file = SafeTensorsFile.Open(path);
        var got = new float[129];
        file.ReadAsSingle("w", got);
        Assert.Equal(values, got);
    }

    [Fact]
    public void Write_BadInput_NamesTheTensorAndLeavesNoFile()
    {
        using var dir = new TempDir();
        var path = dir.File("bad.safetensors");
        var ex = Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(path, [new SafeTensorEntry("w", DType.BF16, [2, 3], new byte[10])]));
        Assert.Contains("tensor 'w': 10 bytes of data, but BF16 [2, 3] needs 12", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(path,
            [new SafeTensorEntry("w", DType.F32, [1], new byte[4]), new SafeTensorEntry("w", DType.F32, [1], new byte[4])]));
        Assert.Contains("'w' appears twice", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(path, [new SafeTensorEntry("__metadata__", DType.F32, [1], new byte[4])]));
        Assert.Contains("reserved", ex.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }
}
