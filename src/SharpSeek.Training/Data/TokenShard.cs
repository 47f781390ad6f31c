// TokenShard.cs: a file of token ids for training: a 32-byte header, then little-endian int32 tokens with each document
// followed by the EOS id, and for fine-tuning data a loss mask (a byte per token: 1 where the token is a target, 0 for
// prompts and padding); written through a temporary file and a rename, read through a memory map so a run touches only
// the pages it samples. Not here: tokenizing and the train/eval split (DatasetBuilder.cs), packing fine-tuning examples
// (the RL project's Sft/), sampling (BatchSampler.cs). Tested by TokenShardTests.
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using SharpSeek.Model;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Training.Data;

/// <summary>A memory-mapped token shard. Layout (little-endian): bytes 0..3 magic "SSTK", 4..7 version (1), 8..15 token
/// count, 16..23 document count, 24..27 EOS id, 28..31 flags (bit 0: a loss mask follows), then the tokens as int32,
/// then, when flagged, one byte per token (1: the token is a target, 0: it is not).</summary>
public sealed class TokenShard : IDisposable
{
    public const int HeaderBytes = 32;
    public const int FormatVersion = 1;
    /// <summary>The target a batch carries where the loss mask is 0: cross-entropy skips it (the default
    /// ObjectiveOptions.IgnoreIndex, PyTorch's ignore_index).</summary>
    public const int IgnoredTarget = -100;

    private const uint Magic = 0x4B545353; // "SSTK" read as a little-endian uint32
    private const int MaskFlag = 1;

    private readonly MappedFile _file;

    private TokenShard(MappedFile file, long tokenCount, long documentCount, int eosId, bool hasLossMask)
    {
        _file = file;
        TokenCount = tokenCount;
        DocumentCount = documentCount;
        EosId = eosId;
        HasLossMask = hasLossMask;
    }

    public long TokenCount { get; }

    public long DocumentCount { get; }

    /// <summary>The id that ends every document.</summary>
    public int EosId { get; }

    public string Path => _file.Path;

    /// <summary>Whether a loss mask follows the tokens (fine-tuning data); without one every token is a target.</summary>
    public bool HasLossMask { get; }

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
                stream.Position = 0;
                stream.Write(Header(tokens, count, eosId, 0));
            }
        });
    }

    /// <summary>Writes <paramref name="tokens"/> as they are (the caller has placed every EOS and any padding) with
    /// their loss mask; <paramref name="documents"/> is the number of examples they hold. Throws when the lengths
    /// differ, a token is negative or a mask byte is not 0 or 1.</summary>
    public static void WriteMasked(string path, ReadOnlySpan<int> tokens, ReadOnlySpan<byte> mask, long documents, int eosId)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegative(documents);
        ArgumentOutOfRangeException.ThrowIfNegative(eosId);
        if (mask.Length != tokens.Length) { throw new ArgumentException($"{tokens.Length} tokens but {mask.Length} mask bytes; expected one mask byte per token", nameof(mask)); }
        if (documents > tokens.Length) { throw new ArgumentOutOfRangeException(nameof(documents), documents, $"more documents than the {tokens.Length} tokens"); }
        var bytes = new byte[HeaderBytes + (5L * tokens.Length)];
        Header(tokens.Length, documents, eosId, MaskFlag).CopyTo(bytes, 0);
        for (var i = 0; i < tokens.Length; i++)
        {
            if (tokens[i] < 0) { throw new ArgumentException($"token {i} is {tokens[i]} (expected ids >= 0)", nameof(tokens)); }
            if (mask[i] > 1) { throw new ArgumentException($"mask byte {i} is {mask[i]} (expected 0 or 1)", nameof(mask)); }
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(HeaderBytes + (4 * i)), tokens[i]);
        }
        mask.CopyTo(bytes.AsSpan(HeaderBytes + (4 * tokens.Length)));
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    private static byte[] Header(long tokens, long documents, int eosId, int flags)
    {
        var header = new byte[HeaderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), FormatVersion);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), tokens);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), documents);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(24), eosId);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(28), flags);
        return header;
    }

    /// <summary>Maps <paramref name="path"/> and checks the header against the file: magic, version, counts, flags, and
    /// a length of exactly header + 4 · token count (+ token count with a loss mask). Any mismatch throws
    /// <see cref="InvalidDataException"/> naming the file.</summary>
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
            var flags = BinaryPrimitives.ReadInt32LittleEndian(header[28..]);
            if (tokens < 0 || documents < 0 || documents > tokens || eosId < 0 || (flags & ~MaskFlag) != 0)
            {
                throw new InvalidDataException($"{path}: corrupt header (tokens {tokens}, documents {documents}, eos {eosId}, flags {flags}; expected 0 <= documents <= tokens, eos >= 0, flags 0 or 1)");
            }
            var masked = flags == MaskFlag;
            var expected = HeaderBytes + ((masked ? 5 : 4) * (decimal)tokens);
            if (file.Length != expected) { throw new InvalidDataException($"{path}: the header says {tokens} tokens{(masked ? " and their loss mask" : "")} ({expected} bytes) but the file has {file.Length} bytes (truncated or corrupt)"); }
            return new TokenShard(file, tokens, documents, eosId, masked);
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

    /// <summary>The (inputs, targets) pair of the window of <paramref name="inputs"/>.Length + 1 tokens at
    /// <paramref name="start"/>: inputs are tokens [start, start + T), targets tokens [start + 1, start + T], each
    /// target whose loss-mask byte is 0 replaced by <see cref="IgnoredTarget"/>.</summary>
    public void Window(long start, Span<int> inputs, Span<int> targets)
    {
        if (targets.Length != inputs.Length) { throw new ArgumentException($"inputs has {inputs.Length} and targets {targets.Length} elements; expected equal lengths", nameof(targets)); }
        var tokens = Tokens(start, inputs.Length + 1);
        tokens[..^1].CopyTo(inputs);
        tokens[1..].CopyTo(targets);
        if (!HasLossMask) { return; }
        var mask = _file.Span(HeaderBytes + (4 * TokenCount) + start + 1, targets.Length);
        for (var i = 0; i < targets.Length; i++)
        {
            if (mask[i] == 0) { targets[i] = IgnoredTarget; }
        }
    }

    public void Dispose() => _file.Dispose();
}
