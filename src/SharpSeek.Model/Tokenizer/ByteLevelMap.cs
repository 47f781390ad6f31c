// ByteLevelMap.cs: GPT-2's reversible byte <-> printable-char map that byte-level BPE runs on, and the HF ByteLevel decode
// rule. Not here: merges, pre-tokenization (ByteLevelBpe.cs). Tested by TokenizerTests.
using System.Text;

namespace SharpSeek.Model.Tokenizer;

internal static class ByteLevelMap
{
    // Printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves; the other 68 bytes (controls, space,
    // 0x7F-0xA0, 0xAD) take U+0100 upward in byte order, so space is 'Ġ' (U+0120) and '\n' is 'Ċ' (U+010A).
    public static readonly char[] ByteToChar = BuildByteToChar();

    private static readonly Dictionary<char, byte> CharToByte = Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }

    /// <summary>The UTF-8 bytes of <paramref name="text"/>, each written as its map char.</summary>
    public static string Encode(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++) { chars[i] = ByteToChar[bytes[i]]; }
        return new string(chars);
    }

    /// <summary>HF's ByteLevel decoder for one token: map chars back to bytes; a token with any char outside the map (an
    /// added token such as "&lt;｜User｜&gt;") contributes its own UTF-8 bytes instead.</summary>
    public static void AppendBytes(string token, List<byte> bytes)
    {
        var start = bytes.Count;
        foreach (var c in token)
        {
            if (!CharToByte.TryGetValue(c, out var b))
            {
                bytes.RemoveRange(start, bytes.Count - start);
                bytes.AddRange(Encoding.UTF8.GetBytes(token));
                return;
            }
            bytes.Add(b);
        }
    }
}
