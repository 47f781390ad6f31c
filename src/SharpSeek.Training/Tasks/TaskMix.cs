// TaskMix.cs: the task names a --task or --tasks option takes, parsed into families and level ranges: arithmetic, add,
// sub, mul, word, countdown and mix, each optionally with levels ("add:3", "mul:2-4"), several joined by commas
// ("add:1-3,sub:1-2"). Without levels a family uses the levels the built-in corpus pretrains on. Not here: the problems
// (ProblemGenerator.cs), task sets over files (the RL project's TaskCatalog). Tested by TaskCatalogTests and ReasoningCorpusTests.
using System.Globalization;

namespace SharpSeek.Training.Tasks;

/// <summary>Parses task names into (family, min level, max level) entries.</summary>
public static class TaskMix
{
    /// <summary>The built-in names, in the order an error lists them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["arithmetic", "add", "sub", "mul", "word", "countdown", "mix"];

    /// <summary>The entries <paramref name="spec"/> names: comma-separated built-in names, each with optional levels after
    /// a colon, "N" or "N-M" (for arithmetic they apply to +, − and ×; mix takes none). Without levels a family draws
    /// from <see cref="ProblemGenerator.CorpusLevels"/>. An unknown name or bad levels throw
    /// <see cref="ArgumentException"/> listing what is valid.</summary>
    public static IReadOnlyList<(TaskFamily Family, int MinLevel, int MaxLevel)> Parse(string spec)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        var entries = new List<(TaskFamily, int, int)>();
        foreach (var part in spec.Split(','))
        {
            entries.AddRange(ParseOne(part.Trim(), spec));
        }
        return entries;
    }

    private static IEnumerable<(TaskFamily, int, int)> ParseOne(string task, string spec)
    {
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
            _ => throw new ArgumentException($"unknown task '{task}'{(task == spec ? "" : $" in '{spec}'")}; expected one of {string.Join(", ", Names)} (a family may take levels, e.g. add:3 or mul:2-4; several join with commas)", nameof(spec)),
        };
        if (colon < 0)
        {
            return families.Select(f => (f, ProblemGenerator.CorpusLevels(f).Min, ProblemGenerator.CorpusLevels(f).Max));
        }
        var (min, max) = ProblemGenerator.Levels(families[0]);
        if (name == "mix" || !TryLevels(task[(colon + 1)..], out var lo, out var hi) || lo < min || hi > max)
        {
            throw new ArgumentException(name == "mix"
                ? $"task '{task}': mix takes no levels (each family keeps its own); name one family to choose levels"
                : $"task '{task}': levels must be N or N-M with {min} <= N <= M <= {max}", nameof(spec));
        }
        return families.Select(f => (f, lo, hi));
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
