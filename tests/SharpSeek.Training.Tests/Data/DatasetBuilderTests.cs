// DatasetBuilderTests.cs: the train/held-out split is deterministic in the seed, keeps documents whole and in order,
// holds out about evalFraction of them, never leaves the eval shard empty; bad inputs fail with messages. Ends with the
// whole pipeline on the generated corpus: train a 512-token BPE, build shards, check document lengths, sample batches.
using SharpSeek.Model.Tokenizer;
using SharpSeek.Training.Data;
using SharpSeek.Training.Tasks;

namespace SharpSeek.Training.Tests.Data;

public sealed class DatasetBuilderTests : IDisposable
{
    private static readonly Lazy<ByteLevelBpe> SmallTokenizer = new(() =>
        BpeTrainer.Train(ReasoningCorpus.Generate(100, 300), 300, DeepSeekTokens.All, BpeTrainerOptions.DeepSeek));

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Build_SplitIsDeterministicWholeDocumentAndInOrder()
    {
        var tokenizer = SmallTokenizer.Value;
        var texts = ReasoningCorpus.Generate(1, 1000).ToList();
        var encoded = texts.Select(tokenizer.Encode).ToList();

        var (train, eval) = DatasetBuilder.Build(texts, tokenizer, _dir.File("a"), evalFraction: 0.1, seed: 3);
        var (train2, eval2) = DatasetBuilder.Build(texts, tokenizer, _dir.File("b"), evalFraction: 0.1, seed: 3);
        var (_, evalOther) = DatasetBuilder.Build(texts, tokenizer, _dir.File("c"), evalFraction: 0.1, seed: 4);

        Assert.Equal(File.ReadAllBytes(train), File.ReadAllBytes(train2));
        Assert.Equal(File.ReadAllBytes(eval), File.ReadAllBytes(eval2));
        Assert.NotEqual(File.ReadAllBytes(eval), File.ReadAllBytes(evalOther));

        var trainDocs = Documents(train, tokenizer.EosId!.Value);
        var evalDocs = Documents(eval, tokenizer.EosId!.Value);
        Assert.InRange(evalDocs.Count, 60, 140);
        Assert.Equal(1000, trainDocs.Count + evalDocs.Count);
        // Each split is a subsequence of the encoded documents, and together they are all of them.
        var positions = new List<int>();
        foreach (var split in new[] { trainDocs, evalDocs })
        {
            var last = -1;
            foreach (var doc in split)
            {
                var at = FindAfter(encoded, doc, last);
                Assert.True(at > last, "documents must stay whole and in input order");
                positions.Add(at);
                last = at;
            }
        }
        Assert.Equal(Enumerable.Range(0, 1000), positions.Order());
    }

    [Fact]
    public void Build_FewDocuments_StillHoldsOneOut()
    {
        var tokenizer = SmallTokenizer.Value;
        var texts = ReasoningCorpus.Generate(2, 3).ToList();
        var (train, eval) = DatasetBuilder.Build(texts, tokenizer, _dir.Path, evalFraction: 0.02, seed: 0);

        using var trainShard = TokenShard.Open(train);
        using var evalShard = TokenShard.Open(eval);
        Assert.Equal(2, trainShard.DocumentCount);
        Assert.Equal(1, evalShard.DocumentCount);
        Assert.Equal([.. tokenizer.Encode(texts[2]), tokenizer.EosId!.Value], evalShard.Tokens(0, (int)evalShard.TokenCount).ToArray());
    }

    [Fact]
    public void Build_NoEvalFraction_EmptyEvalShardAndProgressReported()
    {
        var lines = new List<string>();
        var (train, eval) = DatasetBuilder.Build(ReasoningCorpus.Generate(2, 20), SmallTokenizer.Value, _dir.Path, evalFraction: 0, progress: lines.Add);

        using var evalShard = TokenShard.Open(eval);
        using var trainShard = TokenShard.Open(train);
        Assert.Equal(0, evalShard.TokenCount);
        Assert.Equal(20, trainShard.DocumentCount);
        Assert.Contains(lines, l => l.Contains("20 documents", StringComparison.Ordinal));
    }

    [Fact]
    public void Build_BadInput_Throws()
    {
        var tokenizer = SmallTokenizer.Value;
        Assert.Contains("leaving the train split empty", Assert.Throws<ArgumentException>(() => DatasetBuilder.Build(["only one"], tokenizer, _dir.Path)).Message, StringComparison.Ordinal);
        Assert.Contains("no non-empty document", Assert.Throws<ArgumentException>(() => DatasetBuilder.Build(["", ""], tokenizer, _dir.Path)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => DatasetBuilder.Build(["a", "b"], tokenizer, _dir.Path, evalFraction: 1));
        var noEos = BpeTrainer.Train(["abc abd"], 260, []);
        Assert.Contains("no EOS", Assert.Throws<ArgumentException>(() => DatasetBuilder.Build(["a", "b"], noEos, _dir.Path)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Pipeline_GeneratedCorpus_Bpe512_ShardsAndBatches()
    {
        var texts = ReasoningCorpus.Generate(5, 3000).ToList();
        var tokenizer = BpeTrainer.Train(texts, 512, DeepSeekTokens.All, BpeTrainerOptions.DeepSeek);
        Assert.Equal(512, tokenizer.VocabSize);

        // Every document plus its EOS fits a 256-token window, apart from R1-Zero's fixed preamble; the tags are single tokens.
        var preamble = tokenizer.Encode(R1ZeroTemplate.Preamble).Length;
        var lengths = texts.Select(t => tokenizer.Encode(t).Length).ToList();
        var besides = texts.Select((t, i) => lengths[i] - (t.StartsWith(R1ZeroTemplate.Preamble, StringComparison.Ordinal) ? preamble : 0)).ToList();
        Assert.True(besides.Max() < 256, $"longest document: {besides.Max()} tokens besides the preamble");
        Assert.InRange(lengths.Average(), 40, 200);
        Assert.Single(tokenizer.Encode("<think>"));
        Assert.Single(tokenizer.Encode("</answer>"));

        var (trainPath, evalPath) = DatasetBuilder.Build(texts, tokenizer, _dir.Path, seed: 1);
        using var train = TokenShard.Open(trainPath);
        using var eval = TokenShard.Open(evalPath);
        Assert.Equal(lengths.Sum(l => l + 1L), train.TokenCount + eval.TokenCount);

        const int Batch = 4, SeqLen = 256;
        var sampler = new BatchSampler(train, Batch, SeqLen, seed: 7);
        var inputs = new int[Batch * SeqLen];
        var targets = new int[Batch * SeqLen];
        sampler.Next(inputs, targets);
        Assert.Equal(inputs.AsSpan(1, SeqLen - 1).ToArray(), targets.AsSpan(0, SeqLen - 1).ToArray());
        var text = tokenizer.Decode(inputs.AsSpan(0, SeqLen));
        Assert.Contains("</think>", text, StringComparison.Ordinal);
        Assert.Contains(DeepSeekTokens.Eos, text, StringComparison.Ordinal);
        var evalBatches = new EvalBatches(eval, Batch, SeqLen, maxBatches: 4).All().ToList();
        Assert.NotEmpty(evalBatches);
    }

    private static List<int[]> Documents(string path, int eos)
    {
        using var shard = TokenShard.Open(path);
        var tokens = shard.Tokens(0, (int)shard.TokenCount).ToArray();
        var docs = new List<int[]>();
        var start = 0;
        for (var i = 0; i < tokens.Length; i++)
        {
            if (tokens[i] != eos) { continue; }
            docs.Add(tokens[start..i]);
            start = i + 1;
        }
        Assert.Equal(tokens.Length, start);
        return docs;
    }

    private static int FindAfter(List<int[]> encoded, int[] doc, int after)
    {
        for (var i = after + 1; i < encoded.Count; i++)
        {
            if (encoded[i].AsSpan().SequenceEqual(doc)) { return i; }
        }
        return -1;
    }
}
