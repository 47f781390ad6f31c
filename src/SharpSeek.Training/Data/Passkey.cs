// Passkey.cs: the passkey retrieval test (Mohtashami & Jaggi 2023, arXiv:2305.16300 §4.2), the needle-in-a-haystack
// check DeepSeek-V3 reports after its context extension (arXiv:2412.19437 §4.3, Fig. 8): a random five-digit key said
// once at a chosen depth of repeated filler text, asked for at the end. Training documents of random length and depth
// (mixed into the generated corpus, so a model learns to retrieve at the lengths it trains on) and, for the
// evaluation, the longest prompt within a token budget. Not here: scoring (the RL project's PasskeyEval). Tested by PasskeyTests.
namespace SharpSeek.Training.Data;

/// <summary>Passkey documents and prompts. A prompt is <see cref="Intro"/>, filler lines, the needle, filler lines and
/// <see cref="Question"/>; a training document adds the answer (" 12345.").</summary>
public static class Passkey
{
    public const string Intro = "There is an important info hidden inside a lot of irrelevant text. Find it and memorize it. I will quiz you about the important information there.\n";

    public const string Filler = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.\n";

    public const string Question = "What is the pass key? The pass key is";

    /// <summary>Tokens of one filler line under a tokenizer trained on a corpus that holds passkey documents (a
    /// corpus-trained BPE merges the repeated words whole); sizes the training documents before the tokenizer exists.</summary>
    public const int TokensPerFillerEstimate = 22;

    /// <summary>The sentence that hides <paramref name="key"/>.</summary>
    public static string Needle(int key) => $"The pass key is {key}. Remember it. {key} is the pass key.\n";

    /// <summary>A prompt with <paramref name="fillers"/> filler lines and the needle after round(depth · fillers) of them.</summary>
    public static string Prompt(int key, int fillers, double depth)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fillers);
        if (!(depth is >= 0 and <= 1)) { throw new ArgumentOutOfRangeException(nameof(depth), depth, "depth is a fraction of the filler, in [0, 1]"); }
        var before = (int)Math.Round(depth * fillers);
        var text = new System.Text.StringBuilder(Intro.Length + (fillers * Filler.Length) + 128);
        text.Append(Intro);
        for (var i = 0; i < before; i++) { text.Append(Filler); }
        text.Append(Needle(key));
        for (var i = before; i < fillers; i++) { text.Append(Filler); }
        return text.Append(Question).ToString();
    }

    /// <summary>A random five-digit key (10000–99999).</summary>
    public static int Key(ref SplitMix64 rng) => rng.Next(10_000, 99_999);

    /// <summary>A training document of about <paramref name="maxTokens"/> tokens at most: a uniform random length and
    /// depth, the answer after the question. Document i depends only on (<paramref name="seed"/>, i).</summary>
    public static string Document(int seed, long i, int maxTokens)
    {
        var rng = new SplitMix64(SplitMix64.Mix(SplitMix64.Mix((uint)seed, 0x9A55_CE7UL), (ulong)i));
        var key = Key(ref rng);
        var maxFillers = Math.Max(0, (maxTokens / TokensPerFillerEstimate) - 3);          // intro, needle and question ≈ 3 lines
        var fillers = rng.Next(0, maxFillers);
        var depth = rng.Next(0, 1000) / 1000.0;
        return $"{Prompt(key, fillers, depth)} {key}.";
    }

    /// <summary><paramref name="documents"/> with each one replaced, with probability <paramref name="share"/>, by a
    /// passkey <see cref="Document"/> of up to <paramref name="maxTokens"/> tokens; the choice for document i depends
    /// only on (<paramref name="seed"/>, i).</summary>
    public static IEnumerable<string> Mix(IEnumerable<string> documents, double share, int seed, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(documents);
        return share <= 0 ? documents : documents.Select((text, i) =>
        {
            var rng = new SplitMix64(SplitMix64.Mix(SplitMix64.Mix((uint)seed, 0x5_4A7EUL), (ulong)i));
            return rng.Chance(share) ? Document(seed, i, maxTokens) : text;
        });
    }

    /// <summary>The longest prompt whose token count under <paramref name="countTokens"/> is at most
    /// <paramref name="tokens"/>: the filler count found by bisection (the count is monotone in the filler).</summary>
    public static (string Prompt, int Tokens) PromptOfLength(Func<string, int> countTokens, int key, int tokens, double depth)
    {
        ArgumentNullException.ThrowIfNull(countTokens);
        var shortest = countTokens(Prompt(key, 0, depth));
        if (shortest > tokens) { throw new ArgumentException($"a passkey prompt needs at least {shortest} tokens; got a length of {tokens}", nameof(tokens)); }
        int lo = 0, hi = Math.Max(1, tokens);                                          // a filler line is at least one token
        while (lo < hi)
        {
            var mid = (lo + hi + 1) / 2;
            if (countTokens(Prompt(key, mid, depth)) <= tokens) { lo = mid; } else { hi = mid - 1; }
        }
        var prompt = Prompt(key, lo, depth);
        return (prompt, countTokens(prompt));
    }
}
