// ProblemGenerator.cs: the one entry to the generated problems: a family at a level, on the train or held-out side,
// from (seed, index) or from a caller's stream; the levels each family has and those the built-in corpus uses; the rule
// that splits problems by a hash of their canonical key. Not here: the generators (ColumnArithmetic.cs,
// WordProblems.cs, CountdownPuzzles.cs). Tested by ProblemGeneratorTests.
using SharpSeek.Training.Data;

namespace SharpSeek.Training.Tasks;

/// <summary>Deterministic verifiable problems with disjoint train and held-out splits.</summary>
public static class ProblemGenerator
{
    /// <summary>One key in this many is held out.</summary>
    public const int HeldOutOneIn = 10;

    // A fixed salt, not a seed: the split must be the same for every seed, run and corpus, or a held-out problem of one
    // run could be a training problem of another.
    private const ulong SplitSalt = 0x52_31_5A_45_52_4F_00_01UL;

    // Rejection sampling: even the smallest space (1-digit sums, 45 keys) holds several keys of each split.
    private const int MaxDraws = 10_000;

    /// <summary>"add", "sub", "mul", "word" or "countdown".</summary>
    public static string Name(TaskFamily family) => family switch
    {
        TaskFamily.Add => "add",
        TaskFamily.Sub => "sub",
        TaskFamily.Mul => "mul",
        TaskFamily.Word => "word",
        TaskFamily.Countdown => "countdown",
        _ => throw new ArgumentOutOfRangeException(nameof(family), family, null),
    };

    /// <summary>The levels <paramref name="family"/> has (see <see cref="TaskFamily"/>), inclusive.</summary>
    public static (int Min, int Max) Levels(TaskFamily family) => family switch
    {
        TaskFamily.Add or TaskFamily.Sub or TaskFamily.Mul => (1, 6),
        TaskFamily.Word => (1, 3),
        TaskFamily.Countdown => (3, 4),
        _ => throw new ArgumentOutOfRangeException(nameof(family), family, null),
    };

    /// <summary>The levels the built-in corpus (<see cref="ReasoningCorpus"/>) draws from, uniformly: a model
    /// pretrained on it has seen these; the rest of <see cref="Levels"/> is out of its distribution. Products stop at
    /// 3 digits so that a worked document stays under 256 tokens of a 512-token BPE (besides R1-Zero's preamble, in the
    /// documents framed with it).</summary>
    public static (int Min, int Max) CorpusLevels(TaskFamily family) => family switch
    {
        TaskFamily.Add or TaskFamily.Sub => (1, 4),
        TaskFamily.Mul => (1, 3),
        TaskFamily.Word => (1, 1),
        _ => Levels(family),
    };

    /// <summary>The split of a canonical key: held out when Mix(FNV-1a-64(key), salt) mod <see cref="HeldOutOneIn"/>
    /// is 0. It depends on the key alone, so no seed, index or phrasing can put one problem on both sides.</summary>
    public static ProblemSplit SplitOf(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return SplitMix64.Mix(SplitMix64.HashText(key), SplitSalt) % HeldOutOneIn == 0 ? ProblemSplit.HeldOut : ProblemSplit.Train;
    }

    /// <summary>Problem <paramref name="index"/> of (<paramref name="family"/>, <paramref name="level"/>,
    /// <paramref name="split"/>) for <paramref name="seed"/>: a function of these arguments alone, so a run resumes at
    /// any index. Two indexes may give the same problem where the level's space is small.</summary>
    public static WorkedProblem Generate(TaskFamily family, int level, ProblemSplit split, int seed, long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var rng = new SplitMix64(SplitMix64.Mix((uint)seed, (ulong)index));
        return Generate(ref rng, family, level, split);
    }

    /// <summary>The next problem of <paramref name="split"/> drawn from <paramref name="rng"/>: problems are drawn until
    /// one's key falls in the split.</summary>
    public static WorkedProblem Generate(ref SplitMix64 rng, TaskFamily family, int level, ProblemSplit split)
    {
        var (min, max) = Levels(family);
        if (level < min || level > max) { throw new ArgumentOutOfRangeException(nameof(level), level, $"{Name(family)} has levels {min} to {max}"); }
        for (var draw = 0; draw < MaxDraws; draw++)
        {
            var problem = family switch
            {
                TaskFamily.Add => ColumnArithmetic.Add(ref rng, level),
                TaskFamily.Sub => ColumnArithmetic.Sub(ref rng, level),
                TaskFamily.Mul => ColumnArithmetic.Mul(ref rng, level),
                TaskFamily.Word => WordProblems.Generate(ref rng, level),
                _ => CountdownPuzzles.Generate(ref rng, level),
            };
            if (SplitOf(problem.Key) == split) { return problem; }
        }
        throw new InvalidOperationException($"no {split} problem of {Name(family)} level {level} in {MaxDraws} draws");
    }
}
