// GeneratedTasks.cs: a task set over the built-in generators: a mix of families, each with a level range; problem i
// picks its family uniformly, then its level uniformly, then draws a problem of the split, all from a stream seeded by
// (seed, i). Not here: the generators (SharpSeek.Training.Tasks), the names (TaskCatalog.cs). Tested by TaskCatalogTests.
using SharpSeek.Training.Data;
using SharpSeek.Training.Tasks;

namespace SharpSeek.Rl.Tasks;

/// <summary>Generated problems: unbounded, deterministic in (seed, index), train and held-out disjoint by key.</summary>
public sealed class GeneratedTasks : ITaskSet
{
    private readonly (TaskFamily Family, int MinLevel, int MaxLevel)[] _mix;
    private readonly int _seed;

    /// <summary>Throws when <paramref name="mix"/> is empty or a level range lies outside its family's
    /// (<see cref="ProblemGenerator.Levels"/>).</summary>
    public GeneratedTasks(string name, IReadOnlyList<(TaskFamily Family, int MinLevel, int MaxLevel)> mix, int seed)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(mix);
        if (mix.Count == 0) { throw new ArgumentException("a task mix needs at least one family", nameof(mix)); }
        foreach (var (family, lo, hi) in mix)
        {
            var (min, max) = ProblemGenerator.Levels(family);
            if (lo < min || hi > max || lo > hi)
            {
                throw new ArgumentOutOfRangeException(nameof(mix), $"{ProblemGenerator.Name(family)} levels {lo}-{hi}: {ProblemGenerator.Name(family)} has levels {min} to {max}");
            }
        }
        Name = name;
        _mix = [.. mix];
        _seed = seed;
    }

    public string Name { get; }

    /// <summary>The families and level ranges problems are drawn from.</summary>
    public IReadOnlyList<(TaskFamily Family, int MinLevel, int MaxLevel)> Mix => _mix;

    public long? Count(ProblemSplit split) => null;

    public Problem Get(ProblemSplit split, long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var rng = new SplitMix64(SplitMix64.Mix((uint)_seed, (ulong)index));
        var (family, lo, hi) = rng.Pick(_mix);
        var level = rng.Next(lo, hi);
        return Problem.From(ProblemGenerator.Generate(ref rng, family, level, split));
    }
}
