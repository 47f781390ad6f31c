// TokenizerCommandTests.cs: `sharpseek tokenizer train|encode` as a user runs them: training on a generated corpus
// writes HF files and reports the vocab size and compression; encode prints ids (and JSON that parses); bad paths exit 1
// with the message and no stack trace.
using System.Text;
using System.Text.Json;

namespace SharpSeek.Cli.Tests;

public sealed class TokenizerCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"sharpseek-tokcli-{Guid.NewGuid():N}");

    public TokenizerCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Corpus()
    {
        var random = new Random(31);
        string[] words = ["the", "king", "queen", "shall", "speak", "thou", "art", "noble", "lord", "日本", "🎉"];
        var sb = new StringBuilder();
        for (var line = 0; line < 1500; line++)
        {
            for (var w = random.Next(3, 12); w > 0; w--) { sb.Append(words[random.Next(words.Length)]).Append(w > 1 ? ' ' : '.'); }
            sb.Append('\n');
        }
        var corpus = Path.Combine(_dir, "corpus");
        Directory.CreateDirectory(corpus);
        File.WriteAllText(Path.Combine(corpus, "a.txt"), sb.ToString());
        return corpus;
    }

    [Fact]
    public void TrainThenEncode_WritesHfFilesAndEncodesSpecialTokensWhole()
    {
        var output = Path.Combine(_dir, "tok");
        var (code, text) = CliTests.Run("tokenizer", "train", "--input", Corpus(), "--vocab-size", "301", "--out", output);
        Assert.True(code == 0, text);
        Assert.Contains("vocab size 301", text, StringComparison.Ordinal);
        Assert.Contains("bytes/token on the input", text, StringComparison.Ordinal);
        Assert.Contains("merge ", text, StringComparison.Ordinal); // progress lines
        Assert.True(File.Exists(Path.Combine(output, "tokenizer.json")));
        Assert.True(File.Exists(Path.Combine(output, "tokenizer_config.json")));

        (code, text) = CliTests.Run("tokenizer", "encode", "--tokenizer", output, "--text", "<｜User｜>the king<think>", "--json");
        Assert.True(code == 0, text);
        using var doc = JsonDocument.Parse(text);
        var tokens = doc.RootElement.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()).ToArray();
        var ids = doc.RootElement.GetProperty("ids").EnumerateArray().Select(t => t.GetInt32()).ToArray();
        Assert.Equal("<｜User｜>", tokens[0]);
        Assert.Equal("<think>", tokens[^1]);
        Assert.Equal(tokens.Length, ids.Length);
        Assert.Equal("the king", string.Concat(tokens[1..^1]).Replace('Ġ', ' '));
        Assert.All(ids, id => Assert.InRange(id, 0, 300));

        (code, text) = CliTests.Run("tokenizer", "encode", "--tokenizer", Path.Combine(output, "tokenizer.json"), "--text", "the queen");
        Assert.True(code == 0, text);
        Assert.Contains("ids: ", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_MissingTokenizer_ExitsOneWithThePath()
    {
        var (code, text) = CliTests.Run("tokenizer", "encode", "--tokenizer", "/no/such/tokenizer", "--text", "x");
        Assert.Equal(1, code);
        Assert.Contains("/no/such/tokenizer", text, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_TooSmallVocab_ExitsOneNamingTheMinimum()
    {
        var (code, text) = CliTests.Run("tokenizer", "train", "--input", Corpus(), "--vocab-size", "100", "--out", Path.Combine(_dir, "tok"));
        Assert.Equal(1, code);
        Assert.Contains("256 byte tokens + 9 special tokens", text, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
    }
}
