// SplitMix64.cs: the small seeded generator behind every random choice in the data pipeline (corpus text, generated
// problems, split, window order, the RL task order), written out so the streams never change with the runtime's
// System.Random. Not here: anything statistical beyond uniform integers. Tested through ReasoningCorpusTests,
// ProblemGeneratorTests and BatchSamplerTests.
namespace SharpSeek.Training.Data;

/// <summary>Steele, Lea and Flood's SplitMix64: state += golden gamma, then a 64-bit finalizer.</summary>
public struct SplitMix64(ulong seed)
{
    private ulong _state = seed;

    /// <summary>FNV-1a-64 of a text's UTF-16 code units: a fixed key for text (a problem, a prompt) to mix with a salt
    /// or seed, the same on every run and runtime.</summary>
    public static ulong HashText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var h = 14695981039346656037UL;
        foreach (var c in text) { h = (h ^ c) * 1099511628211UL; }
        return h;
    }

    /// <summary>A well-mixed 64-bit value of two inputs, for seeding one stream per (seed, index).</summary>
    public static ulong Mix(ulong a, ulong b) => Finalize((a * 0x9E3779B97F4A7C15UL) ^ Finalize(b + 0x632BE59BD9B4E019UL));

    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Finalize(_state);
    }

    /// <summary>Uniform in [0, n) by Lemire's multiply-shift (bias below 2^-32 for the n used here).</summary>
    public int Next(int n) => (int)(((NextUInt64() >> 32) * (ulong)n) >> 32);

    /// <summary>Uniform in [lo, hi] inclusive.</summary>
    public int Next(int lo, int hi) => lo + Next(hi - lo + 1);

    /// <summary>Uniform in [0, n) for a long range.</summary>
    public long NextLong(long n) => (long)Math.BigMul(NextUInt64(), (ulong)n, out _);

    public bool Chance(double p) => (NextUInt64() >> 11) * (1.0 / (1UL << 53)) < p;

    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];

    /// <summary>Fisher–Yates in place: for i from n-1 down to 1, swap items[i] with items[Next(i + 1)].</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static ulong Finalize(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
