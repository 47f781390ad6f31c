// TokenizerHfParityTests.cs: ids and decoded text of ByteLevelBpe against golden files written by Hugging Face tokenizers
// (tools/hf-tokenizer/make_golden.mjs) for three tokenizer.json layouts: our own Save, DeepSeek-V3's and Qwen2's.
// Not here: hand-computed ids (TokenizerJsonTests), training (TokenizerTrainerTests).
using System.Text;
using System.Text.Json;
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Model.Tests;

public sealed class TokenizerHfParityTests
{
    private sealed record Golden(string[] Texts, int[][] Ids, string[] Decoded, string[][] Pieces);

    private static readonly JsonSerializerOptions ReadOptions = new() { PropertyNameCaseInsensitive = true };

    private static string TokenizerPath(string name) => Repo.Data(Path.Combine("tokenizer", $"{name}.tokenizer.json"));

    private static Golden LoadGolden(string name)
    {
        var path = Repo.Data(Path.Combine("tokenizer", $"{name}.expected.json"));
        var golden = JsonSerializer.Deserialize<Golden>(File.ReadAllText(path), ReadOptions)
            ?? throw new InvalidDataException($"{path}: empty golden file");
        Assert.True(golden.Texts.Length == golden.Ids.Length && golden.Texts.Length == golden.Decoded.Length && golden.Texts.Length == golden.Pieces.Length,
            $"{path}: {golden.Texts.Length} texts, {golden.Ids.Length} id rows, {golden.Decoded.Length} decoded, {golden.Pieces.Length} piece rows; expected equal counts");
        return golden;
    }

    [Theory]
    [InlineData("trained")]
    [InlineData("deepseek_v3")]
    [InlineData("qwen2")]
    public void EncodeGivesHfIds(string name)
    {
        var bpe = ByteLevelBpe.Load(TokenizerPath(name));
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

    [Theory]
    [InlineData("trained")]
    [InlineData("deepseek_v3")]
    [InlineData("qwen2")]
    public void DecodeGivesHfText(string name)
    {
        var bpe = ByteLevelBpe.Load(TokenizerPath(name));
        var golden = LoadGolden(name);
        for (var i = 0; i < golden.Texts.Length; i++)
        {
            Assert.Equal(golden.Decoded[i], bpe.Decode(golden.Ids[i]));
        }
    }

    // The regex split alone (HF's pre-tokenizer on the raw text, no normalizer, no added tokens): piece bounds must match
    // even where the vocab has no merge that would show a difference in ids.
    [Theory]
    [InlineData("trained")]
    [InlineData("deepseek_v3")]
    [InlineData("qwen2")]
    public void PreTokenizeGivesHfPieces(string name)
    {
        var bpe = ByteLevelBpe.Load(TokenizerPath(name));
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

    // The golden files must exercise what they claim: special tokens as single ids, real merges, every layout feature.
    [Theory]
    [InlineData("trained", 1, false, 9)]
    [InlineData("deepseek_v3", 3, false, 9)]
    [InlineData("qwen2", 1, true, 3)]
    public void GoldenFilesCoverTheLayout(string name, int splits, bool nfc, int specials)
    {
        var bpe = ByteLevelBpe.Load(TokenizerPath(name));
        var golden = LoadGolden(name);
        Assert.Equal(splits, bpe.SplitPatterns.Count);
        Assert.Equal(nfc, bpe.Nfc);
        Assert.False(bpe.ByteLevelUseRegex);
        Assert.Equal(specials, bpe.AddedTokens.Count);
        Assert.True(bpe.Merges.Count > 500, $"{name}: {bpe.Merges.Count} merges; expected a trained vocabulary");

        var all = golden.Ids.SelectMany(row => row).ToHashSet();
        var addedIds = bpe.AddedTokens.Select(t => t.Id).ToHashSet();
        Assert.True(all.Overlaps(addedIds), $"{name}: no special token id appears in the golden ids");
        Assert.Contains(all, id => id >= 256 && !addedIds.Contains(id)); // merged tokens, not only bytes
        Assert.Contains(golden.Texts, t => t.Length == 0);
        Assert.Contains(golden.Texts, t => t.Contains("\r\n", StringComparison.Ordinal));
        Assert.Contains(golden.Texts, t => t.Contains('\u200d', StringComparison.Ordinal)); // emoji ZWJ sequence
        Assert.Contains(golden.Texts, t => t.Contains('\u0301', StringComparison.Ordinal)); // combining acute accent
        Assert.Contains(golden.Texts, t => t.Contains("123456789", StringComparison.Ordinal));
        Assert.Contains(golden.Texts, t => t.Any(c => c is >= '\u4e00' and <= '\u9fa5'));
        Assert.Contains(golden.Texts, t => bpe.AddedTokens.Any(a => t.Contains(a.Content, StringComparison.Ordinal) && t.Length > a.Content.Length));
    }
}
