// ByteLevelBpe.cs: GPT-2-style byte-level BPE with HF tokenizers' semantics: added tokens matched first (leftmost-longest,
// never split), optional NFC, a sequence of isolating regex splits, bytes mapped to chars, merges applied by rank, and
// HF's ByteLevel decoder (invalid UTF-8 becomes U+FFFD). Not here: tokenizer.json I/O (ByteLevelBpe.Json.cs), training
// (BpeTrainer.cs). Tested by TokenizerTests, TokenizerJsonTests, TokenizerTrainerTests, TokenizerHfParityTests,
// TokenizerRealVocabParityTests.
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace SharpSeek.Model.Tokenizer;

/// <summary>A byte-level BPE tokenizer (GPT-2, DeepSeek-V3, Qwen2 family) that gives the ids Hugging Face tokenizers gives
/// for the same tokenizer.json. <see cref="Encode"/> never adds BOS/EOS: the chat template writes them as text.</summary>
public sealed partial class ByteLevelBpe
{
    /// <summary>GPT-2's pre-tokenizer regex, what HF's ByteLevel pre-tokenizer uses when use_regex is true.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>Qwen2's split regex (GPT-4 style: case-insensitive contractions, single digits, newline runs kept
    /// together); the default for tokenizers we train.</summary>
    public const string SplitPattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private const int CacheLimit = 1 << 16;
    private const int CachedPieceLength = 64;

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<int, string> _idToToken = [];
    private readonly (string Left, string Right)[] _merges;
    private readonly Dictionary<(int Left, int Right), (int Rank, int Id)> _mergeRanks = [];
    private readonly AddedToken[] _added;
    private readonly Dictionary<string, int> _addedIds = new(StringComparer.Ordinal);
    private readonly HashSet<int> _specialIds = [];
    private readonly Regex? _addedRegex;
    private readonly string[] _splitPatterns;
    private readonly Regex[] _splits;
    private readonly int[] _byteIds = new int[256];
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    internal ByteLevelBpe(Dictionary<string, int> vocab, IReadOnlyList<(string Left, string Right)> merges, IReadOnlyList<AddedToken> addedTokens,
        IReadOnlyList<string> splitPatterns, bool byteLevelUseRegex, bool nfc, TokenizerSettings settings)
    {
        _vocab = vocab;
        _merges = [.. merges];
        _added = [.. addedTokens];
        _splitPatterns = [.. splitPatterns];
        ByteLevelUseRegex = byteLevelUseRegex;
        Nfc = nfc;
        Settings = settings;
        foreach (var (token, id) in vocab)
        {
            if (id < 0) { throw new InvalidDataException($"vocab entry '{token}' has id {id}; expected a non-negative id"); }
            if (!_idToToken.TryAdd(id, token)) { throw new InvalidDataException($"vocab entries '{_idToToken[id]}' and '{token}' share id {id}; expected unique ids"); }
        }
        for (var b = 0; b < 256; b++)
        {
            var c = ByteLevelMap.ByteToChar[b].ToString();
            if (!vocab.TryGetValue(c, out _byteIds[b])) { throw new InvalidDataException($"vocab lacks '{c}', the byte-level symbol of byte 0x{b:X2}; expected all 256 byte symbols"); }
        }
        for (var rank = 0; rank < _merges.Length; rank++)
        {
            var (left, right) = _merges[rank];
            var l = Lookup(left, rank);
            var r = Lookup(right, rank);
            var merged = Lookup(left + right, rank);
            _mergeRanks.TryAdd((l, r), (rank, merged)); // a repeated merge keeps its first (best) rank, as HF does
        }
        foreach (var token in _added)
        {
            if (token.Id < 0 || token.Content.Length == 0) { throw new InvalidDataException($"added token '{token.Content}' (id {token.Id}): expected non-empty content and a non-negative id"); }
            if (vocab.TryGetValue(token.Content, out var vocabId) && vocabId != token.Id) { throw new InvalidDataException($"added token '{token.Content}' has id {token.Id} but the vocab gives it {vocabId}"); }
            if (_idToToken.TryGetValue(token.Id, out var other) && other != token.Content) { throw new InvalidDataException($"added token '{token.Content}' reuses id {token.Id} of '{other}'"); }
            _idToToken[token.Id] = token.Content;
            _addedIds[token.Content] = token.Id;
            if (token.Special) { _specialIds.Add(token.Id); }
        }
        _addedRegex = AddedTokenRegex(_added.Select(t => t.Content));
        _splits = CompileSplits(_splitPatterns, byteLevelUseRegex);
        VocabSize = _idToToken.Count == 0 ? 0 : _idToToken.Keys.Max() + 1;

        int Lookup(string token, int rank) => vocab.TryGetValue(token, out var id) ? id
            : throw new InvalidDataException($"merge {rank} ('{_merges[rank].Left}' '{_merges[rank].Right}') needs '{token}', which is not in the vocab");
    }

    /// <summary>One past the largest id (model vocab and added tokens), the embedding rows a model needs.</summary>
    public int VocabSize { get; }

    /// <summary>The merges in rank order (rank 0 applies first).</summary>
    public IReadOnlyList<(string Left, string Right)> Merges => _merges;

    public IReadOnlyList<AddedToken> AddedTokens => _added;

    /// <summary>The Split regexes applied in order before the byte mapping (HF pre_tokenizer Sequence).</summary>
    public IReadOnlyList<string> SplitPatterns => _splitPatterns;

    /// <summary>True when the ByteLevel pre-tokenizer also splits with <see cref="Gpt2Pattern"/> (GPT-2's layout).</summary>
    public bool ByteLevelUseRegex { get; }

    /// <summary>True when the tokenizer.json normalizer is NFC: input is composed (string.Normalize, ICU) before splitting.</summary>
    public bool Nfc { get; }

    internal TokenizerSettings Settings { get; }

    public string? BosToken => Settings.BosToken;

    public string? EosToken => Settings.EosToken;

    public string? PadToken => Settings.PadToken;

    public int? BosId => Settings.BosToken is { } t ? TokenToId(t) : null;

    /// <summary>tokenizer_config.json's add_bos_token (Hugging Face models such as the R1 distills set it).</summary>
    public bool AddBosToken => Settings.AddBosToken;

    /// <summary>A prompt's ids as a document start: BOS first when the tokenizer adds one (add_bos_token), else EOS first
    /// (our corpora put an EOS before every document), else the text alone.</summary>
    public int[] EncodePrompt(string text) =>
        AddBosToken && BosId is { } bos ? [bos, .. Encode(text)] : EosId is { } eos ? [eos, .. Encode(text)] : Encode(text);

    public int? EosId => Settings.EosToken is { } t ? TokenToId(t) : null;

    public int? PadId => Settings.PadToken is { } t ? TokenToId(t) : null;

    /// <summary>tokenizer_config.json's chat_template (Jinja source), when given.</summary>
    public string? ChatTemplate => Settings.ChatTemplate;

    /// <summary>tokenizer_config.json's model_max_length, when given and below int.MaxValue.</summary>
    public int? ModelMaxLength => Settings.ModelMaxLength;

    /// <summary>The id of a token as spelled in the vocab (byte-level chars, e.g. "Ġthe") or an added token's content.</summary>
    public int? TokenToId(string token) => _addedIds.TryGetValue(token, out var a) ? a : _vocab.TryGetValue(token, out var v) ? v : null;

    public string? IdToToken(int id) => _idToToken.TryGetValue(id, out var token) ? token : null;

    /// <summary>Token ids of <paramref name="text"/>: added tokens are matched first and are single ids; the text between
    /// them is normalized, split, byte-mapped and merged.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 1);
        var at = 0;
        if (_addedRegex is not null)
        {
            for (var m = _addedRegex.Match(text); m.Success; m = m.NextMatch())
            {
                EncodeOrdinary(text[at..m.Index], ids);
                ids.Add(_addedIds[m.Value]);
                at = m.Index + m.Length;
            }
        }
        EncodeOrdinary(text[at..], ids);
        return [.. ids];
    }

    /// <summary>Text of <paramref name="ids"/> by HF's ByteLevel decoder: every token's bytes joined, then decoded as
    /// UTF-8 with each invalid sequence replaced by U+FFFD. Throws for an id that names no token.</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var bytes = new List<byte>(ids.Length * 4);
        foreach (var id in ids)
        {
            if (!_idToToken.TryGetValue(id, out var token)) { throw new ArgumentOutOfRangeException(nameof(ids), id, $"token id {id} is not in the vocabulary (ids 0..{VocabSize - 1})"); }
            ByteLevelMap.AppendBytes(token, bytes);
        }
        return Encoding.UTF8.GetString(CollectionsMarshal.AsSpan(bytes));
    }

    /// <summary>Appends the bytes <paramref name="id"/> contributes to <see cref="Decode"/>'s UTF-8 stream (a byte-level
    /// token's bytes, an added token's own UTF-8).</summary>
    public void AppendTokenBytes(int id, List<byte> bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (!_idToToken.TryGetValue(id, out var token)) { throw new ArgumentOutOfRangeException(nameof(id), id, $"token id {id} is not in the vocabulary (ids 0..{VocabSize - 1})"); }
        ByteLevelMap.AppendBytes(token, bytes);
    }

    /// <summary>True for an added token marked special (BOS, EOS, chat roles): what HF's skip_special_tokens drops.</summary>
    public bool IsSpecial(int id) => _specialIds.Contains(id);

    /// <summary>The pieces BPE sees for text that holds no added token: normalized, then split by each regex in turn.
    /// The regexes run on <see cref="CodePointFold"/>'s text, one char per code point, as HF's regex engine sees it.</summary>
    internal static List<string> PreTokenize(string text, IReadOnlyList<Regex> splits, bool nfc)
    {
        if (nfc) { text = text.Normalize(NormalizationForm.FormC); }
        var (folded, starts) = CodePointFold.Fold(text);
        List<(int Start, int End)> pieces = [(0, folded.Length)];
        foreach (var regex in splits)
        {
            var next = new List<(int, int)>(pieces.Count * 2);
            foreach (var (start, end) in pieces) { SplitIsolated(regex, folded, start, end, next); }
            pieces = next;
        }
        return starts is null ? [.. pieces.Select(p => text[p.Start..p.End])] : [.. pieces.Select(p => text[starts[p.Start]..starts[p.End]])];
    }

    // Longest first, so the alternation picks the longest token at the leftmost position (HF's leftmost-longest match).
    internal static Regex? AddedTokenRegex(IEnumerable<string> contents)
    {
        var alternatives = contents.Distinct().OrderByDescending(s => s.Length).ThenBy(s => s, StringComparer.Ordinal).Select(Regex.Escape).ToArray();
        return alternatives.Length == 0 ? null : new Regex(string.Join('|', alternatives), RegexOptions.CultureInvariant);
    }

    internal static Regex[] CompileSplits(IEnumerable<string> patterns, bool byteLevelUseRegex) =>
        [.. patterns.Append(byteLevelUseRegex ? Gpt2Pattern : null).OfType<string>().Select(Compile)];

    private static Regex Compile(string pattern)
    {
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"split regex '{pattern}' is not a valid .NET regex ({e.Message})", e);
        }
    }

    // HF Split with behavior Isolated on text[start..end] as a string of its own: every match is a piece, so is every gap.
    private static void SplitIsolated(Regex regex, string text, int start, int end, List<(int, int)> output)
    {
        var piece = start == 0 && end == text.Length ? text : text[start..end];
        var at = 0;
        for (var m = regex.Match(piece); m.Success; m = m.NextMatch())
        {
            if (m.Length == 0) { continue; }
            if (m.Index > at) { output.Add((start + at, start + m.Index)); }
            output.Add((start + m.Index, start + m.Index + m.Length));
            at = m.Index + m.Length;
        }
        if (at < piece.Length) { output.Add((start + at, end)); }
    }

    private void EncodeOrdinary(string text, List<int> ids)
    {
        if (text.Length == 0) { return; }
        foreach (var piece in PreTokenize(text, _splits, Nfc)) { ids.AddRange(EncodePiece(piece)); }
    }

    // Merge the adjacent pair of lowest rank (the leftmost of equal ranks) until no pair has a rank, as HF tokenizers'
    // Word::merge_all (huggingface/tokenizers:tokenizers/src/models/bpe/word.rs) does: the symbols in a linked list, the
    // candidate pairs in a min-heap on (rank, position); a popped pair is skipped when either side changed after it was
    // pushed (each position's version counts its changes). O(n log n) in the piece's bytes, so a long piece (a run of
    // one character, a base64 blob) costs what its length says, not its square.
    private int[] EncodePiece(string piece)
    {
        if (_cache.TryGetValue(piece, out var cached)) { return cached; }
        var bytes = Encoding.UTF8.GetBytes(piece);
        var n = bytes.Length;
        var symbols = new int[n];
        var next = new int[n];
        var prev = new int[n];
        var version = new int[n];
        for (var i = 0; i < n; i++) { (symbols[i], next[i], prev[i]) = (_byteIds[bytes[i]], i + 1 < n ? i + 1 : -1, i - 1); }
        var queue = new PriorityQueue<(int At, int Version, int RightVersion, int Id), (int Rank, int At)>();
        void Push(int at)
        {
            var right = next[at];
            if (right >= 0 && _mergeRanks.TryGetValue((symbols[at], symbols[right]), out var m)) { queue.Enqueue((at, version[at], version[right], m.Id), (m.Rank, at)); }
        }
        for (var i = 0; i + 1 < n; i++) { Push(i); }
        var count = n;
        while (queue.TryDequeue(out var pair, out _))
        {
            var right = next[pair.At];
            if (version[pair.At] != pair.Version || right < 0 || version[right] != pair.RightVersion) { continue; } // stale
            symbols[pair.At] = pair.Id;
            next[pair.At] = next[right];
            if (next[right] >= 0) { prev[next[right]] = pair.At; }
            version[pair.At]++;
            version[right]++;
            count--;
            Push(pair.At);
            if (prev[pair.At] >= 0) { Push(prev[pair.At]); }
        }
        var result = new int[count];
        for (int at = n > 0 ? 0 : -1, i = 0; at >= 0; at = next[at], i++) { result[i] = symbols[at]; }
        if (piece.Length <= CachedPieceLength && _cache.Count < CacheLimit) { _cache.TryAdd(piece, result); }
        return result;
    }
}
