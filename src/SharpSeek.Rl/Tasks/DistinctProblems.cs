// DistinctProblems.cs: the first N distinct problems of a split (by Problem.Id), in index order, for evaluation and
// rejection sampling, which want each problem once. Not here: the sets (GeneratedTasks.cs, FileTasks.cs). Tested by
// EvaluationTests and R1PipelineTests.
using SharpSeek.Training.Tasks;

namespace SharpSeek.Rl.Tasks;

public static class DistinctProblems
{
    /// <summary>Up to <paramref name="limit"/> problems of <paramref name="split"/> with distinct ids, in index order; a
    /// file's split stops at its count, a generated set after 50 · limit draws (a small level has few problems).</summary>
    public static List<Problem> Take(ITaskSet tasks, ProblemSplit split, int limit)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var list = new List<Problem>();
        var count = tasks.Count(split);
        for (long i = 0; list.Count < limit && (count is null ? i < 50L * limit : i < count); i++)
        {
            var p = tasks.Get(split, i);
            if (seen.Add(p.Id)) { list.Add(p); }
        }
        return list;
    }
}
