// DatasetBuilder.cs: texts → tokenized train and held-out shards. Documents are encoded in parallel chunks and written in
// input order; each whole document goes to the held-out shard with probability evalFraction, decided by a hash of
// (seed, document index), so the split is the same on every run and no document is cut in two.
// Not here: the shard format (TokenShard.cs), reading files (CorpusReader.cs). Tested by DatasetBuilderTests.
using System.Globalization;
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Training.Data;

/// <summary>Builds <c>train.tokens</c> and <c>eval.tokens</c> from a stream of documents.</summary>
public static class DatasetBuilder
{
    public const string TrainFileName = "train.tokens";
    public const string EvalFileName = "eval.tokens";
    private const int ChunkDocuments = 512;
    private const int ProgressEvery = 20_000;

    /// <summary>Tokenizes <paramref name="texts"/> with <paramref name="tokenizer"/> (whose EOS id ends each document) into
    /// <paramref name="directory"/>. When the hash puts no document in the held-out split although
    /// <paramref name="evalFraction"/> &gt; 0, the last document goes there instead, so the eval shard is never empty
    /// then. Throws when no document is left for training.</summary>
    public static (string TrainShard, string EvalShard) Build(IEnumerable<string> texts, ByteLevelBpe tokenizer, string directory,
        double evalFraction = 0.02, int seed = 0, Action<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!(evalFraction >= 0 && evalFraction < 1)) { throw new ArgumentOutOfRangeException(nameof(evalFraction), evalFraction, "expected a fraction in [0, 1)"); }
        var eosId = tokenizer.EosId ?? throw new ArgumentException("the tokenizer has no EOS token (expected one to end documents; train with BpeTrainerOptions.DeepSeek)", nameof(tokenizer));
        Directory.CreateDirectory(directory);
        var trainPath = Path.Combine(directory, TrainFileName);
        var evalPath = Path.Combine(directory, EvalFileName);

        var held = new List<int[]>();
        var stats = new Stats();
        TokenShard.Write(trainPath, Split(Encode(texts, tokenizer, stats, progress), evalFraction, seed, held), eosId);
        if (stats.Documents == 0) { throw new ArgumentException("the texts hold no non-empty document (expected at least 2)", nameof(texts)); }
        if (stats.Documents == held.Count) { throw new ArgumentException($"all {stats.Documents} document(s) went to the held-out split, leaving the train split empty (expected more documents or a smaller evalFraction)", nameof(texts)); }
        TokenShard.Write(evalPath, held, eosId);
        progress?.Invoke(string.Create(CultureInfo.InvariantCulture,
            $"dataset: {stats.Documents} documents, {stats.Tokens} tokens; held out {held.Count} documents, {held.Sum(d => (long)d.Length + 1)} tokens"));
        return (trainPath, evalPath);
    }

    private sealed class Stats
    {
        public long Documents;
        public long Tokens;
    }

    /// <summary>Encodes chunks of documents in parallel and yields them in input order; empty encodings are dropped.</summary>
    private static IEnumerable<int[]> Encode(IEnumerable<string> texts, ByteLevelBpe tokenizer, Stats stats, Action<string>? progress)
    {
        var chunk = new List<string>(ChunkDocuments);
        foreach (var text in texts)
        {
            chunk.Add(text ?? throw new ArgumentException("a document is null", nameof(texts)));
            if (chunk.Count == ChunkDocuments)
            {
                foreach (var ids in EncodeChunk(chunk, tokenizer, stats, progress)) { yield return ids; }
                chunk.Clear();
            }
        }
        foreach (var ids in EncodeChunk(chunk, tokenizer, stats, progress)) { yield return ids; }
    }

    private static IEnumerable<int[]> EncodeChunk(List<string> chunk, ByteLevelBpe tokenizer, Stats stats, Action<string>? progress)
    {
        var encoded = new int[chunk.Count][];
        Parallel.For(0, chunk.Count, i => encoded[i] = tokenizer.Encode(chunk[i]));
        foreach (var ids in encoded)
        {
            if (ids.Length == 0) { continue; }
            stats.Documents++;
            stats.Tokens += ids.Length + 1;
            if (stats.Documents % ProgressEvery == 0) { progress?.Invoke(string.Create(CultureInfo.InvariantCulture, $"tokenized {stats.Documents} documents, {stats.Tokens} tokens")); }
            yield return ids;
        }
    }

    /// <summary>Yields the train documents and adds the held-out ones to <paramref name="held"/>. Document i is held out
    /// when hash(seed, i) / 2^64 &lt; evalFraction. One train document is kept back until the next arrives, so that the
    /// last one can go to the held-out split when the hash chose none.</summary>
    private static IEnumerable<int[]> Split(IEnumerable<int[]> documents, double evalFraction, int seed, List<int[]> held)
    {
        int[]? pending = null;
        long index = 0;
        foreach (var document in documents)
        {
            var u = SplitMix64.Mix((uint)seed, (ulong)index++) * (1.0 / 18446744073709551616.0);
            if (u < evalFraction)
            {
                held.Add(document);
                continue;
            }
            if (pending is not null) { yield return pending; }
            pending = document;
        }
        if (pending is null) { yield break; }
        if (evalFraction > 0 && held.Count == 0) { held.Add(pending); }
        else { yield return pending; }
    }
}
