// TokenizerTrainerTests.cs: BpeTrainer is deterministic (same merges twice, and whatever the order of the texts), fills
// the vocab exactly, keeps special tokens whole, rejects impossible sizes, and on tinyshakespeare at vocab 2048 reaches
// the compression we measured. Not here: encoding (TokenizerTests), files (TokenizerJsonTests).
using System.Diagnostics;
using System.Text;
using SharpSeek.Model.Tokenizer;
using Xunit.Abstractions;

namespace SharpSeek.Model.Tests;

public sealed class TokenizerTrainerTests(ITestOutputHelper output)
{
    [Fact]
    public void Train_IsDeterministic_WhateverTheTextOrder()
    {
        var texts = TokenizerCorpus.Generate(seed: 21, lines: 1200);
        var first = BpeTrainer.Train(texts, 600, DeepSeekTokens.All);
        var second = BpeTrainer.Train(texts, 600, DeepSeekTokens.All);
        var shuffled = texts.ToArray();
        new Random(22).Shuffle(shuffled);
        var third = BpeTrainer.Train(shuffled, 600, DeepSeekTokens.All);
        Assert.Equal(600 - 256 - DeepSeekTokens.All.Count, first.Merges.Count);
        Assert.Equal(first.Merges, second.Merges);
        Assert.Equal(first.Merges, third.Merges);
    }

    [Fact]
    public void Train_FillsTheVocab_BytesFirstSpecialsLast()
    {
        var bpe = BpeTrainer.Train(TokenizerCorpus.Generate(seed: 23, lines: 800), 457, DeepSeekTokens.All, BpeTrainerOptions.DeepSeek);
        Assert.Equal(457, bpe.VocabSize);
        for (var b = 0; b < 256; b++) { Assert.Equal(b, bpe.TokenToId(TokenizerTests.ByteSymbol(b))); }
        Assert.Equal(Enumerable.Range(457 - DeepSeekTokens.All.Count, DeepSeekTokens.All.Count), bpe.AddedTokens.Select(t => t.Id));
        Assert.Equal(457 - DeepSeekTokens.All.Count, bpe.BosId);
        // Every merge result is a vocab entry with an id between the bytes and the specials.
        Assert.All(bpe.Merges, m => Assert.InRange(bpe.TokenToId(m.Left + m.Right)!.Value, 256, 457 - DeepSeekTokens.All.Count - 1));
    }

    [Fact]
    public void Train_SpecialTokensInTheCorpus_AreNeverMerged()
    {
        // The corpus is full of chat markup; no learned token may hold any part of a special token's bytes run together.
        var texts = TokenizerCorpus.Generate(seed: 25, lines: 600)
            .Select((line, i) => $"{DeepSeekTokens.User}{line}{DeepSeekTokens.Assistant}{DeepSeekTokens.Think}{i}{DeepSeekTokens.ThinkEnd}{DeepSeekTokens.Eos}").ToList();
        var bpe = BpeTrainer.Train(texts, 500, DeepSeekTokens.All, BpeTrainerOptions.DeepSeek);
        var learned = bpe.Merges.Select(m => m.Left + m.Right).ToList();
        Assert.DoesNotContain(learned, t => t.Contains("think", StringComparison.Ordinal) || t.Contains("ï½ľ", StringComparison.Ordinal));
        var ids = bpe.Encode(texts[0]);
        Assert.Equal(bpe.TokenToId(DeepSeekTokens.User), ids[0]);
        Assert.Equal(bpe.EosId, ids[^1]);
        Assert.Equal(texts[0], bpe.Decode(ids));
    }

    [Fact]
    public void Train_TooSmallVocab_Throws()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => BpeTrainer.Train(["abc"], 260, DeepSeekTokens.All));
        Assert.Contains("256 byte tokens + 9 special tokens", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => BpeTrainer.Train(["abc"], 300, ["<a>"], new BpeTrainerOptions { BosToken = "<b>" }));
    }

    [Fact]
    public void Train_RunsOutOfPairs_StopsEarly()
    {
        var lines = new List<string>();
        var bpe = BpeTrainer.Train(["ab ab ab"], 1000, [], new BpeTrainerOptions { Progress = lines.Add });
        Assert.Equal([("a", "b"), ("Ġ", "ab")], bpe.Merges);
        Assert.Equal(258, bpe.VocabSize);
        Assert.Contains(lines, l => l.StartsWith("stopped at 258 tokens", StringComparison.Ordinal));
    }

    [Fact]
    public void Train_TinyShakespeare_CompressesBeyondTheFloor()
    {
        var path = Path.Combine(Repo.Root, "..", "shared", "data", "tinyshakespeare.txt");
        if (!File.Exists(path))
        {
            output.WriteLine($"skipped: {Path.GetFullPath(path)} not found (the public-domain Tiny Shakespeare text this test trains on)");
            return;
        }
        var text = File.ReadAllText(path);
        var clock = Stopwatch.StartNew();
        var bpe = BpeTrainer.Train([text], 2048, DeepSeekTokens.All, BpeTrainerOptions.DeepSeek);
        var trainSeconds = clock.Elapsed.TotalSeconds;
        var ids = bpe.Encode(text);
        var ratio = (double)Encoding.UTF8.GetByteCount(text) / ids.Length;
        output.WriteLine($"vocab {bpe.VocabSize}, {ids.Length:N0} tokens, {ratio:F3} bytes/token, trained in {trainSeconds:F1} s, encoded in {clock.Elapsed.TotalSeconds - trainSeconds:F1} s");
        Assert.Equal(2048, bpe.VocabSize);
        Assert.True(ratio > 3.0, $"compression {ratio:F3} bytes/token; measured 3.133 when this floor was set");
        Assert.Equal(text, bpe.Decode(ids));
    }
}
