// RunComparison.cs: one run's losses relative to another's on the same data and seed, the measure of DeepSeek-V3's
// Fig. 10 (FP8 against BF16): the main training loss, each step first averaged over the last Window steps, and the eval
// loss at the steps both evaluated. Not here: the plots and summary lines (the CLI's plot command). Tested by
// RunComparisonTests.
namespace SharpSeek.Training.Runs;

public static class RunComparison
{
    /// <summary>Training steps over which <see cref="RelativeLoss"/> averages the main loss before comparing.</summary>
    public const int Window = 10;

    /// <summary>
    /// The main training loss of <paramref name="run"/> relative to <paramref name="baseline"/>'s at the steps both logged,
    /// each first averaged over the last <see cref="Window"/> steps (one batch's loss is noisy): (L − L₀) / L₀.
    /// The measure of DeepSeek-V3's Fig. 10 (FP8 against BF16), for any two runs on the same data and seed.
    /// </summary>
    public static (double[] Steps, double[] Relative) RelativeLoss(IReadOnlyList<MetricsRecord> run, IReadOnlyList<MetricsRecord> baseline)
    {
        var b = Smoothed(baseline);
        var pairs = Smoothed(run).Where(p => b.ContainsKey(p.Key)).OrderBy(p => p.Key).ToList();
        return ([.. pairs.Select(p => (double)p.Key)], [.. pairs.Select(p => (p.Value - b[p.Key]) / b[p.Key])]);
    }

    /// <summary>The eval loss relative to the baseline's at the steps both evaluated.</summary>
    public static (double[] Steps, double[] Relative) RelativeEval(IReadOnlyList<MetricsRecord> run, IReadOnlyList<MetricsRecord> baseline)
    {
        var b = baseline.Where(r => r.EvalLoss is not null).GroupBy(r => r.Step).ToDictionary(g => g.Key, g => g.Last().EvalLoss!.Value);
        var pairs = run.Where(r => r.EvalLoss is not null && b.ContainsKey(r.Step)).ToList();
        return ([.. pairs.Select(r => (double)r.Step)], [.. pairs.Select(r => (r.EvalLoss!.Value - b[r.Step]) / b[r.Step])]);
    }

    // Step → the mean main loss of that step and the Window − 1 logged before it.
    private static Dictionary<long, double> Smoothed(IReadOnlyList<MetricsRecord> records)
    {
        var result = new Dictionary<long, double>();
        for (var i = 0; i < records.Count; i++)
        {
            var from = Math.Max(0, i - Window + 1);
            double sum = 0;
            for (var j = from; j <= i; j++) { sum += records[j].MainLoss; }
            result[records[i].Step] = sum / (i - from + 1);
        }
        return result;
    }
}
