// CodePointFold.cs: lets .NET's UTF-16 Regex split text as HF's code-point regex (Oniguruma) does. Every surrogate
// pair becomes one BMP stand-in char of the same Unicode category, so a class such as [^\p{L}\p{P}]? or \p{N}{1,3}
// sees one char per code point; piece bounds are mapped back to the original string. Not here: the splitting itself
// (ByteLevelBpe.PreTokenize). Tested by TokenizerHfParityTests and TokenizerRealVocabParityTests.
using System.Globalization;

namespace SharpSeek.Model.Tokenizer;

internal static class CodePointFold
{
    // Per UnicodeCategory, the first BMP char of that category from U+0100 on, outside the CJK, kana and Hangul blocks
    // that split patterns name by range (DeepSeek-V3's CJK split); '\uFFFD' where the BMP has none.
    private static readonly char[] StandIns = BuildStandIns();

    /// <summary>The text with each surrogate pair replaced by its stand-in, and for every folded index (plus one past
    /// the end) the index in <paramref name="text"/> where that char starts; null when the text has no pair.</summary>
    public static (string Folded, int[]? Starts) Fold(string text)
    {
        var pairs = 0;
        for (var i = 0; i + 1 < text.Length; i++)
        {
            if (char.IsSurrogatePair(text[i], text[i + 1])) { pairs++; i++; }
        }
        if (pairs == 0) { return (text, null); }
        var folded = new char[text.Length - pairs];
        var starts = new int[folded.Length + 1];
        var at = 0;
        for (var i = 0; i < text.Length; i++, at++)
        {
            starts[at] = i;
            if (i + 1 < text.Length && char.IsSurrogatePair(text[i], text[i + 1]))
            {
                folded[at] = StandIns[(int)CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1]))];
                i++;
            }
            else
            {
                folded[at] = text[i];
            }
        }
        starts[folded.Length] = text.Length;
        return (new string(folded), starts);
    }

    private static char[] BuildStandIns()
    {
        var standIns = new char[32];
        Array.Fill(standIns, '\uFFFD');
        var found = new bool[32];
        for (int c = 0x100; c <= 0xFFFF; c++)
        {
            if (c is >= 0x2E80 and <= 0x9FFF or >= 0xAC00 and <= 0xDFFF or >= 0xF900 and <= 0xFAFF) { continue; }
            var category = (int)CharUnicodeInfo.GetUnicodeCategory((char)c);
            if (!found[category]) { (found[category], standIns[category]) = (true, (char)c); }
        }
        return standIns;
    }
}
