// FileTasks.cs: a task set over the user's problems (ProblemFile): train index i is problem order_e[i mod n] with
// e = i / n and order_e a shuffle seeded by (seed, e), a new order each epoch and every problem once per epoch; held-out
// index i is line i in file order. Not here: reading the file (ProblemFile.cs). Tested by TaskCatalogTests.
using SharpSeek.Training.Data;
using SharpSeek.Training.Tasks;

namespace SharpSeek.Rl.Tasks;

/// <summary>A file is one split's worth of problems: both splits read all of it (give training and evaluation
/// different files).</summary>
public sealed class FileTasks : ITaskSet
{
    private readonly IReadOnlyList<Problem> _problems;
    private readonly int _seed;

    // A memo of the last epoch's order (results never depend on it), replaced whole and never edited, so a concurrent
    // reader sees one epoch's complete order or another's.
    private EpochOrder? _order;

    public FileTasks(string name, IReadOnlyList<Problem> problems, int seed)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(problems);
        if (problems.Count == 0) { throw new ArgumentException("a task set needs at least one problem", nameof(problems)); }
        Name = name;
        _problems = problems;
        _seed = seed;
    }

    public string Name { get; }

    public long? Count(ProblemSplit split) => _problems.Count;

    public Problem Get(ProblemSplit split, long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var n = _problems.Count;
        if (split == ProblemSplit.HeldOut)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, n);
            return _problems[(int)index];
        }
        var epoch = index / n;
        var current = _order;
        if (current is null || current.Epoch != epoch)
        {
            var order = Enumerable.Range(0, n).ToArray();
            var rng = new SplitMix64(SplitMix64.Mix((uint)_seed, (ulong)epoch));
            rng.Shuffle<int>(order);
            _order = current = new EpochOrder(epoch, order);
        }
        return _problems[current.Order[index % n]];
    }

    private sealed record EpochOrder(long Epoch, int[] Order);
}
