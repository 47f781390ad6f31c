// StreamingDetokenizer.cs: token ids to text one at a time, UTF-8 safe: the bytes of a character split across tokens
// wait until it is whole. A stateful UTF-8 decoder does the work, so the pieces joined (Flush included) equal
// ByteLevelBpe.Decode of all ids, U+FFFD replacements of invalid bytes included. Not here: the byte map (ByteLevelBpe).
// Tested by StreamingDetokenizerTests.
using System.Runtime.InteropServices;
using System.Text;
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Inference.Text;

/// <summary>Incremental detokenizer for one sequence. With <c>skipSpecialTokens</c>, special added tokens (BOS, EOS,
/// chat roles) contribute nothing, as in HF's skip_special_tokens.</summary>
public sealed class StreamingDetokenizer
{
    private readonly ByteLevelBpe _tokenizer;
    private readonly bool _skipSpecialTokens;
    private readonly Decoder _decoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
    private readonly List<byte> _bytes = new(64);
    private char[] _chars = new char[64];

    public StreamingDetokenizer(ByteLevelBpe tokenizer, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>The text this token completes; "" while a multi-byte character is still incomplete.</summary>
    public string Push(int token)
    {
        if (_skipSpecialTokens && _tokenizer.IsSpecial(token)) { return ""; }
        _bytes.Clear();
        _tokenizer.AppendTokenBytes(token, _bytes);
        return Decode(CollectionsMarshal.AsSpan(_bytes), flush: false);
    }

    /// <summary>The end of the sequence: an incomplete trailing character becomes U+FFFD, as in Decode.</summary>
    public string Flush() => Decode([], flush: true);

    private string Decode(ReadOnlySpan<byte> bytes, bool flush)
    {
        var need = _decoder.GetCharCount(bytes, flush);
        if (need > _chars.Length) { _chars = new char[Math.Max(need, 2 * _chars.Length)]; }
        var n = _decoder.GetChars(bytes, _chars, flush);
        return n == 0 ? "" : new string(_chars, 0, n);
    }
}
