// TokenShard.cs: a file of token ids for training: a 32-byte header, then little-endian int32 tokens with each document
// followed by the EOS id; written through a temporary file and a rename, read through a memory map so a run touches only
// the pages it samples. Not here: tokenizing and the train/eval split (DatasetBuilder.cs), sampling (BatchSampler.cs).
// Tested by TokenShardTests.
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using SharpSeek.Model;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Training.Data;

/// <summary>A memory-mapped token shard. Layout (little-endian): bytes 0..3 magic "SSTK", 4..7 version (1), 8..15 token
/// count, 16..23 document count, 24..27 EOS id, 28..31 zero, then the tokens as int32.</summary>
public sealed class TokenShard : IDisposable
{
    public const int HeaderBytes = 32;
    public const int FormatVersion = 1;
    private const uint Magic = 0x4B545353; // "SSTK" read as a little-endian uint32

    private readonly MappedFile _file;

    private TokenShard(MappedFile file, long tokenCount, long documentCount, int eosId)
    {
        _file = file;
        TokenCount = tokenCount;
        DocumentCount = documentCount;
        EosId = eosId;
    }

    public long TokenCount { get; }

    public long DocumentCount { get; }

    /// <summary>The id that ends every document.</summary>
    public int EosId { get; }

    public string Path => _file.Path;

    /// <summary>Writes <paramref name="documents"/> to <paramref name="path"/>, each followed by <paramref name="eosId"/>;
    /// empty documents are skipped. The file appears only once complete (temporary file, then rename).</summary>
    public static void Write(string path, IEnumerable<int[]> documents, int eosId)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentOutOfRangeException.ThrowIfNegative(eosId);
        AtomicFile.Write(path, stream =>
        {
            long tokens = 0, count = 0;
            {
                stream.Write(new byte[HeaderBytes]);
                var buffer = new byte[1 << 16];
                var used = 0;
                foreach (var document in documents)
                {
                    ArgumentNullException.ThrowIfNull(document, nameof(documents));
                    if (document.Length == 0) { continue; }
                    for (var i = 0; i <= document.Length; i++)
                    {
                        var id = i < document.Length ? document[i] : eosId;
                        if (id < 0) { throw new ArgumentException($"document {count} holds token id {id} at position {i} (expected ids >= 0)", nameof(documents)); }
                        if (used == buffer.Length)
                        {
                            stream.Write(buffer);
                            used = 0;
                        }
                        BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(used), id);
                        used += 4;
                    }
                    tokens += document.Length + 1;
                    count++;
                }
                stream.Write(buffer.AsSpan(0, used));
                var header = new byte[HeaderBytes];
                BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
                BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), FormatVersion);
                BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), tokens);
                BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), count);
                BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(24), eosId);
                stream.Position = 0;
                stream.Write(header);
            }
        });
    }

    /// <summary>Maps <paramref name="path"/> and checks the header against the file: magic, version, counts, and a
    /// length of exactly header + 4 · token count. Any mismatch throws <see cref="InvalidDataException"/> naming the file.</summary>
    public static TokenShard Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!BitConverter.IsLittleEndian) { throw new PlatformNotSupportedException("token shards are read in place as little-endian int32"); }
        if (!File.Exists(path)) { throw new FileNotFoundException($"{path}: no such token shard", path); }
        var file = MappedFile.Open(path);
        try
        {
            if (file.Length < HeaderBytes) { throw new InvalidDataException($"{path}: {file.Length} bytes is shorter than the {HeaderBytes}-byte token shard header (truncated?)"); }
            var header = file.Span(0, HeaderBytes);
            var magic = BinaryPrimitives.ReadUInt32LittleEndian(header);
            if (magic != Magic) { throw new InvalidDataException($"{path}: not a token shard (magic 0x{magic:X8}, expected 0x{Magic:X8} \"SSTK\")"); }
            var version = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
            if (version != FormatVersion) { throw new InvalidDataException($"{path}: token shard version {version}, expected {FormatVersion}"); }
            var tokens = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
            var documents = BinaryPrimitives.ReadInt64LittleEndian(header[16..]);
            var eosId = BinaryPrimitives.ReadInt32LittleEndian(header[24..]);
            if (tokens < 0 || documents < 0 || documents > tokens || eosId < 0)
            {
                throw new InvalidDataException($"{path}: corrupt header (tokens {tokens}, documents {documents}, eos {eosId}; expected 0 <= documents <= tokens, eos >= 0)");
            }
            var expected = HeaderBytes + (4 * (decimal)tokens);
            if (file.Length != expected) { throw new InvalidDataException($"{path}: the header says {tokens} tokens ({expected} bytes) but the file has {file.Length} bytes (truncated or corrupt)"); }
            return new TokenShard(file, tokens, documents, eosId);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Tokens [start, start + count), read in place from the map; valid until <see cref="Dispose"/>.</summary>
    public ReadOnlySpan<int> Tokens(long start, int count)
    {
        if (start < 0 || count < 0 || start > TokenCount - count)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"{Path}: tokens [{start}, {start + count}) are outside the shard of {TokenCount} tokens");
        }
        return MemoryMarshal.Cast<byte, int>(_file.Span(HeaderBytes + (4 * start), checked(4 * count)));
    }

    public void Dispose() => _file.Dispose();
}
