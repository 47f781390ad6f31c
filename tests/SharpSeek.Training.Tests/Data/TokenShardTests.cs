// TokenShardTests.cs: write → open round trip of random documents; empty documents skipped; truncated, padded and
// corrupt files rejected with messages naming the file; out-of-range reads rejected; writes atomic (a failed write
// leaves the old shard and no temporary file).
using System.Buffers.Binary;
using SharpSeek.Training.Data;

namespace SharpSeek.Training.Tests.Data;

public sealed class TokenShardTests : IDisposable
{
    private const int Eos = 3;
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void WriteOpen_RoundTrip_DocumentsEachFollowedByEos()
    {
        var docs = RandomDocuments(new Random(1), 37);
        var path = _dir.File("a.tokens");
        TokenShard.Write(path, docs, Eos);

        using var shard = TokenShard.Open(path);
        var expected = docs.SelectMany(d => d.Append(Eos)).ToArray();
        Assert.Equal(expected.Length, shard.TokenCount);
        Assert.Equal(37, shard.DocumentCount);
        Assert.Equal(Eos, shard.EosId);
        Assert.Equal(expected, shard.Tokens(0, expected.Length).ToArray());
        Assert.Equal(TokenShard.HeaderBytes + (4L * expected.Length), new FileInfo(path).Length);
        var rng = new Random(2);
        for (var i = 0; i < 50; i++)
        {
            var start = rng.Next(expected.Length);
            var count = rng.Next(expected.Length - start + 1);
            Assert.Equal(expected.AsSpan(start, count).ToArray(), shard.Tokens(start, count).ToArray());
        }
    }

    [Fact]
    public void Write_EmptyDocumentsSkipped_LittleEndianOnDisk()
    {
        var path = _dir.File("b.tokens");
        TokenShard.Write(path, [[], [70000, 5], [], [9]], Eos);

        var bytes = File.ReadAllBytes(path);
        Assert.Equal("SSTK"u8.ToArray(), bytes[..4]);
        Assert.Equal(70000, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(TokenShard.HeaderBytes)));
        using var shard = TokenShard.Open(path);
        Assert.Equal(2, shard.DocumentCount);
        Assert.Equal([70000, 5, Eos, 9, Eos], shard.Tokens(0, 5).ToArray());
    }

    [Fact]
    public void Open_TruncatedOrPadded_Rejected()
    {
        var path = _dir.File("c.tokens");
        TokenShard.Write(path, RandomDocuments(new Random(3), 5), Eos);
        var bytes = File.ReadAllBytes(path);

        File.WriteAllBytes(path, bytes[..^4]);
        var e = Assert.Throws<InvalidDataException>(() => TokenShard.Open(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);

        File.WriteAllBytes(path, [.. bytes, 1, 2, 3, 4]);
        Assert.Contains("but the file has", Assert.Throws<InvalidDataException>(() => TokenShard.Open(path)).Message, StringComparison.Ordinal);

        File.WriteAllBytes(path, bytes[..20]);
        Assert.Contains("shorter than the 32-byte", Assert.Throws<InvalidDataException>(() => TokenShard.Open(path)).Message, StringComparison.Ordinal);

        File.WriteAllBytes(path, []);
        Assert.Throws<InvalidDataException>(() => TokenShard.Open(path));
    }

    [Fact]
    public void Open_CorruptHeader_Rejected()
    {
        var path = _dir.File("d.tokens");
        TokenShard.Write(path, RandomDocuments(new Random(4), 5), Eos);
        var good = File.ReadAllBytes(path);

        AssertRejected(good, b => b[0] = (byte)'X', "not a token shard");
        AssertRejected(good, b => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4), 2), "version 2, expected 1");
        AssertRejected(good, b => BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(8), -5), "corrupt header");
        AssertRejected(good, b => BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(16), 1L << 40), "corrupt header");
        AssertRejected(good, b => BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(8), 1L << 61), "the header says");
        Assert.Throws<FileNotFoundException>(() => TokenShard.Open(_dir.File("missing.tokens")));

        void AssertRejected(byte[] bytes, Action<byte[]> corrupt, string message)
        {
            var copy = (byte[])bytes.Clone();
            corrupt(copy);
            File.WriteAllBytes(path, copy);
            var e = Assert.Throws<InvalidDataException>(() => TokenShard.Open(path));
            Assert.Contains(message, e.Message, StringComparison.Ordinal);
            Assert.Contains(path, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Tokens_OutOfRange_Throws()
    {
        var path = _dir.File("e.tokens");
        TokenShard.Write(path, [[11, 12, 13]], Eos);
        using var shard = TokenShard.Open(path);

        Assert.Equal([13, Eos], shard.Tokens(2, 2).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => shard.Tokens(2, 3).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => shard.Tokens(-1, 1).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => shard.Tokens(0, -1).Length);
    }

    [Fact]
    public void Write_FailingMidway_LeavesOldShardAndNoTemporaryFile()
    {
        var path = _dir.File("f.tokens");
        TokenShard.Write(path, [[21, 22]], Eos);

        Assert.Throws<InvalidOperationException>(() => TokenShard.Write(path, Failing(), Eos));
        Assert.Throws<ArgumentException>(() => TokenShard.Write(path, [[1, -4]], Eos));

        using var shard = TokenShard.Open(path);
        Assert.Equal([21, 22, Eos], shard.Tokens(0, 3).ToArray());
        Assert.Equal(["f.tokens"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName));

        static IEnumerable<int[]> Failing()
        {
            yield return [5, 6, 7];
            throw new InvalidOperationException("source failed");
        }
    }

    [Fact]
    public void Write_ManyDocuments_CrossesTheWriteBuffer()
    {
        var docs = RandomDocuments(new Random(6), 3000);
        var path = _dir.File("g.tokens");
        TokenShard.Write(path, docs, Eos);

        using var shard = TokenShard.Open(path);
        var expected = docs.SelectMany(d => d.Append(Eos)).ToArray();
        Assert.True(expected.Length * 4 > 1 << 16);
        Assert.Equal(expected, shard.Tokens(0, expected.Length).ToArray());
    }

    private static List<int[]> RandomDocuments(Random rng, int count) =>
        [.. Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, rng.Next(1, 40)).Select(_ => rng.Next(4, 100_000)).ToArray())];
}
