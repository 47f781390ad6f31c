// TaskCatalog.cs: task names (for a --task option) to task sets: arithmetic, add, sub, mul, word, countdown and mix,
// each optionally with levels ("add:3", "mul:2-4"), or a path to a .jsonl file. Without levels a family uses the levels
// the built-in corpus pretrains on. Not here: the sets themselves (GeneratedTasks.cs, FileTasks.cs). Tested by
// TaskCatalogTests.
using System.Globalization;
using SharpSeek.Training.Tasks;

namespace SharpSeek.Rl.Tasks;

/// <summary>Resolves a task name.</summary>
public static class TaskCatalog
{
    /// <summary>The built-in names, in the order an error lists them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["arithmetic", "add", "sub", "mul", "word", "countdown", "mix"];

    /// <summary>The task set <paramref name="task"/> names: a path ending in .jsonl (<see cref="ProblemFile"/>), or a
    /// built-in name with optional levels after a colon, "N" or "N-M" (for arithmetic they apply to +, − and ×; mix
    /// takes none). Without levels each family draws from <see cref="ProblemGenerator.CorpusLevels"/>. An unknown name
    /// or bad levels throw <see cref="ArgumentException"/> listing what is valid.</summary>
    public static ITaskSet Resolve(string task, int seed)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(task);
        if (task.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)) { return new FileTasks(task, ProblemFile.Read(task), seed); }
        var colon = task.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? task : task[..colon];
        TaskFamily[] families = name switch
        {
            "arithmetic" => [TaskFamily.Add, TaskFamily.Sub, TaskFamily.Mul],
            "add" => [TaskFamily.Add],
            "sub" => [TaskFamily.Sub],
            "mul" => [TaskFamily.Mul],
            "word" => [TaskFamily.Word],
            "countdown" => [TaskFamily.Countdown],
            "mix" => Enum.GetValues<TaskFamily>(),
            _ => throw new ArgumentException($"unknown task '{task}'; expected one of {string.Join(", ", Names)} (a family may take levels, e.g. add:3 or mul:2-4) or a path to a .jsonl file", nameof(task)),
        };
        if (colon < 0)
        {
            return new GeneratedTasks(task, [.. families.Select(f => (f, ProblemGenerator.CorpusLevels(f).Min, ProblemGenerator.CorpusLevels(f).Max))], seed);
        }
        var (min, max) = ProblemGenerator.Levels(families[0]);
        if (name == "mix" || !TryLevels(task[(colon + 1)..], out var lo, out var hi) || lo < min || hi > max)
        {
            throw new ArgumentException(name == "mix"
                ? $"task '{task}': mix takes no levels (each family keeps its own); name one family to choose levels"
                : $"task '{task}': levels must be N or N-M with {min} <= N <= M <= {max}", nameof(task));
        }
        return new GeneratedTasks(task, [.. families.Select(f => (f, lo, hi))], seed);
    }

    private static bool TryLevels(string text, out int lo, out int hi)
    {
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        hi = 0;
        var ok = dash < 0
            ? int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out lo)
            : int.TryParse(text.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out lo)
              && int.TryParse(text.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out hi);
        if (dash < 0) { hi = lo; }
        return ok && lo <= hi;
    }
}
