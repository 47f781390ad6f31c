// TokenizerTests.cs: ByteLevelBpe encode/decode on a tokenizer trained from a generated corpus: round trips (ASCII,
// CJK, emoji, whitespace runs, random code points), special tokens as single ids, HF's U+FFFD decoding of invalid UTF-8,
// per-token bytes and the special flag.
// Not here: tokenizer.json I/O (TokenizerJsonTests), training (TokenizerTrainerTests).
using System.Text;
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Model.Tests;

public sealed class TokenizerTests
{
    private static readonly Lazy<ByteLevelBpe> Trained = new(() => BpeTrainer.Train(TokenizerCorpus.Generate(seed: 7, lines: 3000), 700, DeepSeekTokens.All, BpeTrainerOptions.DeepSeek));

    public static TheoryData<string> RoundTripTexts => new()
    {
        "The quick brown fox jumps over the lazy dog. It's 2024; we'll see!",
        "naïve café, Straße, Ελληνικά, русский",
        "日本語のテキストと中文混合",
        "emoji 🎉🚀 and flags 🇫🇷, ZWJ 👩‍💻 family 👨‍👩‍👧",
        "tabs\tand   spaces    runs \n\n\n newlines\r\n  trailing   ",
        "   leading spaces",
        "\n",
        "",
        "<｜User｜>Hi<｜Assistant｜><think>\nreason</think><answer>42</answer><｜end▁of▁sentence｜>",
    };

    [Theory]
    [MemberData(nameof(RoundTripTexts))]
    public void DecodeEncode_RoundTrips(string text)
    {
        var bpe = Trained.Value;
        Assert.Equal(text, bpe.Decode(bpe.Encode(text)));
    }

    [Fact]
    public void DecodeEncode_RoundTripsRandomCodePoints()
    {
        var bpe = Trained.Value;
        var random = new Random(11);
        for (var n = 0; n < 300; n++)
        {
            var text = TokenizerCorpus.RandomString(random, random.Next(1, 40));
            Assert.Equal(text, bpe.Decode(bpe.Encode(text)));
        }
    }

    [Fact]
    public void AppendTokenBytes_JoinToDecode_AndIsSpecialMarksAddedSpecials()
    {
        var bpe = Trained.Value;
        var ids = bpe.Encode($"{DeepSeekTokens.User}深度 🙂 x{DeepSeekTokens.Eos}");
        var bytes = new List<byte>();
        foreach (var id in ids) { bpe.AppendTokenBytes(id, bytes); }
        Assert.Equal(bpe.Decode(ids), Encoding.UTF8.GetString([.. bytes]));
        Assert.Equal(Encoding.UTF8.GetBytes(DeepSeekTokens.User), bytes.Take(Encoding.UTF8.GetByteCount(DeepSeekTokens.User)));
        Assert.All(DeepSeekTokens.All, t => Assert.True(bpe.IsSpecial(bpe.TokenToId(t)!.Value)));
        Assert.False(bpe.IsSpecial(bpe.TokenToId("x")!.Value));
        Assert.Throws<ArgumentOutOfRangeException>(() => bpe.AppendTokenBytes(bpe.VocabSize, bytes));
    }

    [Fact]
    public void Encode_CompressesTrainedWords()
    {
        var bpe = Trained.Value;
        var text = string.Join('\n', TokenizerCorpus.Generate(seed: 8, lines: 200));
        var ids = bpe.Encode(text);
        Assert.True(Encoding.UTF8.GetByteCount(text) > 2.0 * ids.Length, $"{Encoding.UTF8.GetByteCount(text)} bytes in {ids.Length} tokens");
    }

    [Fact]
    public void Encode_LongPieces_MergeAsTheLowestRankLeftmostScanDoes()
    {
        // The rule written the slow way (scan every adjacent pair, merge the lowest rank, the leftmost of equal ranks)
        // against the heap the tokenizer uses, on pieces long enough that their merge orders interleave: one letter
        // repeated, and random letters from the trained alphabet (ByteLevelUseRegex splits none of them).
        var bpe = Trained.Value;
        var ranks = new Dictionary<(int, int), (int Rank, int Id)>();
        for (var rank = 0; rank < bpe.Merges.Count; rank++)
        {
            var (left, right) = bpe.Merges[rank];
            ranks.TryAdd((bpe.TokenToId(left)!.Value, bpe.TokenToId(right)!.Value), (rank, bpe.TokenToId(left + right)!.Value));
        }
        int[] Slow(string piece)
        {
            var symbols = piece.Select(ch => bpe.TokenToId(ch.ToString())!.Value).ToList(); // ASCII letters are their own byte-level symbols
            while (true)
            {
                var (best, at, id) = (int.MaxValue, -1, -1);
                for (var i = 0; i + 1 < symbols.Count; i++)
                {
                    if (ranks.TryGetValue((symbols[i], symbols[i + 1]), out var m) && m.Rank < best) { (best, at, id) = (m.Rank, i, m.Id); }
                }
                if (at < 0) { return [.. symbols]; }
                symbols[at] = id;
                symbols.RemoveAt(at + 1);
            }
        }
        var random = new Random(11);
        const string Letters = "thequickbrownfxjmpsvlazydg";
        var (l, r) = bpe.Merges.First(m => m.Left.Length == 1 && m.Right.Length == 1 && char.IsAsciiLetterLower(m.Left[0]) && char.IsAsciiLetterLower(m.Right[0]));
        var pair = string.Concat(Enumerable.Repeat(l + r, 150));
        var pieces = new List<string> { pair, pair + l, r + pair, new(l[0], 301), l + new string(r[0], 97) };
        for (var p = 0; p < 40; p++) { pieces.Add(new string([.. Enumerable.Range(0, random.Next(2, 400)).Select(_ => Letters[random.Next(Letters.Length)])])); }
        foreach (var piece in pieces) { Assert.Equal(Slow(piece), bpe.Encode(piece)); }
        var compressed = bpe.Encode(pair);
        Assert.True(compressed.Length <= 150, $"150 × '{l}{r}' gave {compressed.Length} tokens; expected at least the pair's merge to apply");
    }

    [Fact]
    public void SpecialTokens_AreSingleIdsBetweenOrdinaryText()
    {
        var bpe = Trained.Value;
        foreach (var special in DeepSeekTokens.All)
        {
            var id = bpe.TokenToId(special);
            Assert.NotNull(id);
            Assert.Equal([id.Value], bpe.Encode(special));
            Assert.Equal(special, bpe.IdToToken(id.Value));
            int[] expected = [.. bpe.Encode("abc de"), id.Value, .. bpe.Encode("\nxyz")];
            Assert.Equal(expected, bpe.Encode($"abc de{special}\nxyz"));
        }
        int[] twice = [bpe.TokenToId(DeepSeekTokens.Think)!.Value, bpe.TokenToId(DeepSeekTokens.ThinkEnd)!.Value, bpe.TokenToId(DeepSeekTokens.Think)!.Value];
        Assert.Equal(twice, bpe.Encode("<think></think><think>"));
    }

    [Fact]
    public void SpecialTokens_HaveTheConfiguredIds()
    {
        var bpe = Trained.Value;
        Assert.Equal(bpe.TokenToId(DeepSeekTokens.Bos), bpe.BosId);
        Assert.Equal(bpe.TokenToId(DeepSeekTokens.Eos), bpe.EosId);
        Assert.Equal(bpe.TokenToId(DeepSeekTokens.Pad), bpe.PadId);
        Assert.All(bpe.AddedTokens, t => Assert.True(t.Special));
        Assert.Equal(DeepSeekTokens.All, bpe.AddedTokens.Select(t => t.Content));
    }

    [Fact]
    public void Decode_InvalidUtf8_GivesReplacementChars()
    {
        var bpe = Trained.Value;
        int Byte(int b) => bpe.TokenToId(ByteSymbol(b))!.Value;
        Assert.Equal("h\uFFFDh", bpe.Decode([Byte('h'), Byte(0xE6), Byte('h')]));          // lone lead byte of 日
        Assert.Equal("\uFFFD", bpe.Decode([Byte(0xF0), Byte(0x9F), Byte(0x8E)]));           // emoji cut after 3 of 4 bytes
        Assert.Equal("\uFFFD\uFFFDa", bpe.Decode([Byte(0xFF), Byte(0xFE), Byte('a')]));     // bytes UTF-8 never uses
        Assert.Equal("🎉", bpe.Decode([Byte(0xF0), Byte(0x9F), Byte(0x8E), Byte(0x89)]));   // whole again
    }

    [Fact]
    public void Decode_UnknownId_ThrowsNamingTheId()
    {
        var bpe = Trained.Value;
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => bpe.Decode([5, bpe.VocabSize + 3]));
        Assert.Contains($"token id {bpe.VocabSize + 3}", e.Message, StringComparison.Ordinal);
    }

    // GPT-2's byte map written out independently of the product: printable Latin-1 maps to itself, the rest to U+0100 on.
    internal static string ByteSymbol(int b)
    {
        var next = 256;
        for (var i = 0; i < b; i++)
        {
            if (!Printable(i)) { next++; }
        }
        return ((char)(Printable(b) ? b : next)).ToString();

        static bool Printable(int i) => i is >= 33 and <= 126 or >= 161 and <= 172 or >= 174 and <= 255;
    }
}

/// <summary>Seeded text for tokenizer tests: words from syllables, numbers, punctuation, newlines, some CJK and emoji.</summary>
internal static class TokenizerCorpus
{
    private static readonly string[] Syllables = ["th", "e", "an", "ing", "re", "st", "o", "ka", "mi", "lo", "qu", "is", "er", "ou", "ch", "a", "y", "ble"];
    private static readonly string[] Extras = ["日本", "語", "中文", "🎉", "🚀", "é", "ß", "—", "…"];
    private static readonly string[] Punctuation = [".", ",", "!", "?", ";", ":", "'s", "'ll", "(", ")", "\"", "-"];

    public static List<string> Generate(int seed, int lines)
    {
        var random = new Random(seed);
        var result = new List<string>(lines);
        var line = new StringBuilder();
        for (var l = 0; l < lines; l++)
        {
            line.Clear();
            var words = random.Next(3, 15);
            for (var w = 0; w < words; w++)
            {
                if (w > 0) { line.Append(random.Next(20) == 0 ? "  " : " "); }
                var kind = random.Next(20);
                if (kind == 0) { line.Append(random.Next(0, 100000)); }
                else if (kind == 1) { line.Append(Extras[random.Next(Extras.Length)]); }
                else
                {
                    var word = string.Concat(Enumerable.Range(0, random.Next(1, 4)).Select(_ => Syllables[random.Next(Syllables.Length)]));
                    line.Append(random.Next(8) == 0 ? char.ToUpperInvariant(word[0]) + word[1..] : word);
                }
                if (random.Next(6) == 0) { line.Append(Punctuation[random.Next(Punctuation.Length)]); }
            }
            line.Append(random.Next(5) == 0 ? "\n\n" : "\n");
            result.Add(line.ToString());
        }
        return result;
    }

    // Code points from ASCII, Latin-1, CJK, Hangul and the emoji plane, plus whitespace; never a lone surrogate.
    public static string RandomString(Random random, int length)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < length; i++)
        {
            var codePoint = random.Next(6) switch
            {
                0 => random.Next(0x20, 0x7F),
                1 => random.Next(0xA0, 0x250),
                2 => random.Next(0x4E00, 0x9FFF),
                3 => random.Next(0xAC00, 0xD7A3),
                4 => random.Next(0x1F300, 0x1FAFF),
                _ => " \t\n\r\u3000"[random.Next(5)],
            };
            sb.Append(char.ConvertFromUtf32(codePoint));
        }
        return sb.ToString();
    }
}
