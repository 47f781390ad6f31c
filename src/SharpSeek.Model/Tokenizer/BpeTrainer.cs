// BpeTrainer.cs: byte-level BPE training: count pre-tokenized words, then repeatedly merge the most frequent adjacent
// pair. Deterministic: ties go to the pair with the smaller (left id, right id). Ids: bytes 0..255 in byte order, merges
// from 256, special tokens last. Not here: encoding (ByteLevelBpe.cs), file I/O (ByteLevelBpe.Json.cs).
// Tested by TokenizerTrainerTests.
namespace SharpSeek.Model.Tokenizer;

/// <summary>Trains a <see cref="ByteLevelBpe"/> from text.</summary>
public static class BpeTrainer
{
    /// <summary>Learns merges from <paramref name="texts"/> until the vocabulary (256 bytes + merges + special tokens)
    /// holds <paramref name="vocabSize"/> entries or no pair reaches <see cref="BpeTrainerOptions.MinFrequency"/>.
    /// Special tokens found in the texts are cut out and never take part in merges.</summary>
    public static ByteLevelBpe Train(IEnumerable<string> texts, int vocabSize, IReadOnlyList<string> specialTokens, BpeTrainerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(specialTokens);
        options ??= new BpeTrainerOptions();
        var specials = specialTokens.Distinct().ToArray();
        if (specials.Length != specialTokens.Count || specials.Any(string.IsNullOrEmpty)) { throw new ArgumentException("special tokens must be distinct and non-empty", nameof(specialTokens)); }
        foreach (var named in (string?[])[options.BosToken, options.EosToken, options.PadToken])
        {
            if (named is not null && !specials.Contains(named)) { throw new ArgumentException($"'{named}' is named as BOS/EOS/pad but is not in the special tokens", nameof(options)); }
        }
        if (vocabSize < 256 + specials.Length) { throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize, $"expected at least 256 byte tokens + {specials.Length} special tokens"); }
        if (options.MinFrequency < 1) { throw new ArgumentOutOfRangeException(nameof(options), options.MinFrequency, "MinFrequency must be at least 1"); }

        var words = CountWords(texts, specials, options);
        var tokens = Enumerable.Range(0, 256).Select(b => ByteLevelMap.ByteToChar[b].ToString()).ToList();
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < tokens.Count; i++) { vocab[tokens[i]] = i; }
        var merges = new List<(string, string)>();
        Merge(words, vocabSize - specials.Length, tokens, vocab, merges, options);

        var added = new List<AddedToken>();
        foreach (var special in specials)
        {
            var id = tokens.Count;
            if (!vocab.TryAdd(special, id)) { throw new InvalidOperationException($"special token '{special}' was also learned as a merge; choose a spelling that a pre-token cannot hold"); }
            tokens.Add(special);
            added.Add(new AddedToken(id, special, Special: true));
        }
        var settings = new TokenizerSettings(options.BosToken, options.EosToken, options.PadToken, options.ModelMaxLength, options.ChatTemplate);
        return new ByteLevelBpe(vocab, merges, added, [options.Pattern], byteLevelUseRegex: false, nfc: false, settings);
    }

    private sealed class Word(int[] symbols, long count)
    {
        public int[] Symbols = symbols;
        public readonly long Count = count;
    }

    // Distinct pre-tokens as byte-symbol ids with their frequencies, in ordinal order of their text.
    private static List<Word> CountWords(IEnumerable<string> texts, string[] specials, BpeTrainerOptions options)
    {
        var splits = ByteLevelBpe.CompileSplits([options.Pattern], byteLevelUseRegex: false);
        var specialRegex = ByteLevelBpe.AddedTokenRegex(specials);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        long bytes = 0;
        foreach (var text in texts)
        {
            foreach (var segment in specialRegex is null ? [text] : specialRegex.Split(text))
            {
                foreach (var piece in ByteLevelBpe.PreTokenize(segment, splits, nfc: false))
                {
                    counts[piece] = counts.GetValueOrDefault(piece) + 1;
                    bytes += System.Text.Encoding.UTF8.GetByteCount(piece);
                }
            }
        }
        options.Progress?.Invoke($"counted {counts.Values.Sum():N0} pre-tokens ({counts.Count:N0} distinct) in {bytes:N0} bytes");
        return [.. counts.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => new Word([.. System.Text.Encoding.UTF8.GetBytes(e.Key).Select(b => (int)b)], e.Value))];
    }

    // Pair counts are kept incrementally: a merge rewrites only the words that hold the pair (pairWords may list a word
    // that no longer holds a pair; the rewrite checks).
    private static void Merge(List<Word> words, int targetSize, List<string> tokens, Dictionary<string, int> vocab, List<(string, string)> merges, BpeTrainerOptions options)
    {
        var pairCounts = new Dictionary<(int, int), long>();
        var pairWords = new Dictionary<(int, int), HashSet<int>>();
        for (var w = 0; w < words.Count; w++) { AddPairs(words, w, +1, pairCounts, pairWords); }
        var report = Math.Max(1, (targetSize - tokens.Count) / 10);
        while (tokens.Count < targetSize)
        {
            var best = (Left: -1, Right: -1);
            long bestCount = 0;
            foreach (var (pair, count) in pairCounts)
            {
                if (count > bestCount || (count == bestCount && count > 0 && pair.CompareTo(best) < 0)) { (best, bestCount) = (pair, count); }
            }
            if (bestCount < options.MinFrequency)
            {
                options.Progress?.Invoke($"stopped at {tokens.Count} tokens: no pair occurs {options.MinFrequency} times");
                break;
            }
            var merged = tokens[best.Left] + tokens[best.Right];
            if (!vocab.TryGetValue(merged, out var id))
            {
                id = tokens.Count;
                vocab[merged] = id;
                tokens.Add(merged);
            }
            merges.Add((tokens[best.Left], tokens[best.Right]));
            foreach (var w in pairWords[best].Order().ToArray())
            {
                if (!Contains(words[w].Symbols, best)) { continue; }
                AddPairs(words, w, -1, pairCounts, pairWords);
                words[w].Symbols = Apply(words[w].Symbols, best, id);
                AddPairs(words, w, +1, pairCounts, pairWords);
            }
            pairCounts.Remove(best);
            pairWords.Remove(best);
            if (merges.Count % report == 0) { options.Progress?.Invoke($"merge {merges.Count}: '{tokens[best.Left]}' + '{tokens[best.Right]}' ({bestCount:N0} times), vocab {tokens.Count}"); }
        }
    }

    private static void AddPairs(List<Word> words, int w, int sign, Dictionary<(int, int), long> pairCounts, Dictionary<(int, int), HashSet<int>> pairWords)
    {
        var (symbols, count) = (words[w].Symbols, words[w].Count);
        for (var i = 0; i + 1 < symbols.Length; i++)
        {
            var pair = (symbols[i], symbols[i + 1]);
            var total = pairCounts.GetValueOrDefault(pair) + sign * count;
            if (total == 0) { pairCounts.Remove(pair); } else { pairCounts[pair] = total; }
            if (sign > 0)
            {
                if (!pairWords.TryGetValue(pair, out var set)) { pairWords[pair] = set = []; }
                set.Add(w);
            }
        }
    }

    private static bool Contains(int[] symbols, (int Left, int Right) pair)
    {
        for (var i = 0; i + 1 < symbols.Length; i++)
        {
            if (symbols[i] == pair.Left && symbols[i + 1] == pair.Right) { return true; }
        }
        return false;
    }

    // Left to right, non-overlapping: "a a a" with (a, a) becomes "aa a", as the encoder does.
    private static int[] Apply(int[] symbols, (int Left, int Right) pair, int id)
    {
        var result = new List<int>(symbols.Length);
        for (var i = 0; i < symbols.Length; i++)
        {
            if (i + 1 < symbols.Length && symbols[i] == pair.Left && symbols[i + 1] == pair.Right) { result.Add(id); i++; } else { result.Add(symbols[i]); }
        }
        return [.. result];
    }
}
