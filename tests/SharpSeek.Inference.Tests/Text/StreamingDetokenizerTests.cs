// StreamingDetokenizerTests.cs: the pieces of a streamed decode, joined with Flush, equal ByteLevelBpe.Decode of all
// ids: for random id sequences (invalid UTF-8 and special tokens included), for CJK and emoji text whose characters
// span several tokens (those pushes return "" until the character is whole), and with special tokens skipped.
using SharpSeek.Inference.Text;
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Inference.Tests.Text;

public sealed class StreamingDetokenizerTests
{
    private static readonly string[] Corpus =
    [
        "The quick brown fox jumps over the lazy dog. 2 + 2 = 4.",
        "深度求索的模型会先思考，再回答问题。",
        "数学题：三加四等于七。你好，世界！",
        "Emoji: 🙂🚀🎉 and accents: café, naïve, Ærøskøbing.",
        "Let me think step by step about 12 * 7 = 84. 🙂",
    ];

    private static readonly ByteLevelBpe Tokenizer = BpeTrainer.Train(Enumerable.Repeat(Corpus, 20).SelectMany(c => c), 400, DeepSeekTokens.All, BpeTrainerOptions.DeepSeek);

    private static string Stream(IEnumerable<int> ids, bool skipSpecial, List<string>? pieces = null)
    {
        var detok = new StreamingDetokenizer(Tokenizer, skipSpecial);
        var text = "";
        foreach (var id in ids)
        {
            var piece = detok.Push(id);
            pieces?.Add(piece);
            text += piece;
        }
        return text + detok.Flush();
    }

    [Fact]
    public void RandomIds_JoinToDecode()
    {
        var random = new Random(31);
        for (var trial = 0; trial < 500; trial++)
        {
            var ids = Enumerable.Range(0, random.Next(0, 40)).Select(_ => random.Next(Tokenizer.VocabSize)).ToArray();
            Assert.Equal(Tokenizer.Decode(ids), Stream(ids, skipSpecial: false));
            Assert.Equal(Tokenizer.Decode(ids.Where(id => !Tokenizer.IsSpecial(id)).ToArray()), Stream(ids, skipSpecial: true));
        }
    }

    [Fact]
    public void MultiByteCharacters_WaitUntilWhole()
    {
        var text = $"{DeepSeekTokens.User}你好🙂 world 🎉{DeepSeekTokens.Assistant}{DeepSeekTokens.Think}\n深度🚀{DeepSeekTokens.Eos}";
        var ids = Tokenizer.Encode(text);
        var pieces = new List<string>();
        Assert.Equal(text, Stream(ids, skipSpecial: false, pieces));
        Assert.Contains("", pieces); // some character spans tokens
        Assert.DoesNotContain(pieces, p => p.Contains('\uFFFD', StringComparison.Ordinal));
        // An emoji the corpus never saw takes several tokens; only the last push yields it.
        var rare = new List<string>();
        Assert.Equal("🦀", Stream(Tokenizer.Encode("🦀"), skipSpecial: false, rare));
        Assert.True(rare.Count >= 2);
        Assert.Equal(Enumerable.Repeat("", rare.Count - 1).Append("🦀"), rare);
        Assert.Equal("你好🙂 world 🎉\n深度🚀", Stream(ids, skipSpecial: true));
    }

    [Fact]
    public void IncompleteTail_BecomesReplacementOnFlush()
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes("🙂");
        var ids = bytes[..3].Select(b => Tokenizer.TokenToId(ByteSymbol(b))!.Value).ToArray();
        var detok = new StreamingDetokenizer(Tokenizer);
        Assert.All(ids, id => Assert.Equal("", detok.Push(id)));
        Assert.Equal(Tokenizer.Decode(ids), detok.Flush());
        Assert.Equal("\uFFFD", Tokenizer.Decode(ids));
    }

    [Fact]
    public void UnknownId_Throws() => Assert.Throws<ArgumentOutOfRangeException>(() => new StreamingDetokenizer(Tokenizer).Push(Tokenizer.VocabSize + 5));

    // GPT-2's byte map: printable Latin-1 bytes stand for themselves, the other 68 take U+0100 upward in byte order.
    private static string ByteSymbol(byte b)
    {
        var next = 256;
        for (var x = 0; x < 256; x++)
        {
            var printable = x is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            if (x == b) { return ((char)(printable ? x : next)).ToString(); }
            if (!printable) { next++; }
        }
        throw new InvalidOperationException();
    }
}
