// PlotCommand.cs: `sharpseek plot <run dir> [<run dir> …] [--out <dir>]`: PNG plots of a training run from its metrics.jsonl, with
// ScottPlot: loss.png (training loss, main cross-entropy and eval loss by step), lr.png, expert_load.png (tokens per
// expert over mean, per MoE layer, averaged over the last quarter of the steps) and max_vio.png (MaxVio per MoE layer by
// step). With several runs: a summary line per run and compare_{eval_loss,main_loss,max_vio}.png overlays (the balancing
// and MTP studies), and each run's training and eval loss relative to the first run's (compare_relative_loss.png and a
// line per run: the precision study's measure). A GRPO run directory (rl_metrics.jsonl) gets reward.png, length.png and kl.png. Distillation study
// tables (study.json of tools/study/distill.sh, one per student) give distill-study.png: held-out pass@1 against minutes
// of compute, a marker per variant. A passkey evaluation (eval --task passkey --plot) gets passkey.png (accuracy by
// length and needle depth) and position_loss.png. Each file is written atomically. Not here: the metrics themselves (MetricsLog). Tested by PlotCommandTests and ExtendCommandTests.
using System.CommandLine;
using ScottPlot;
using SharpSeek.Model;
using SharpSeek.Rl.Eval;
using SharpSeek.Rl.Runs;
using SharpSeek.Training.Runs;

namespace SharpSeek.Cli.Commands;

internal static class PlotCommand
{
    private const int Width = 900;
    private const int Height = 540;

    public static Command Create()
    {
        var runs = new Argument<string[]>("runs") { Description = "Run directories holding metrics.jsonl (or the files); with several, comparison plots.", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string?>("--out") { Description = "Directory for the PNGs (default: <run>/plots, or ./plots-compare for several runs)." };
        var command = new Command("plot", "Write PNG plots of a run (loss and eval loss, learning rate, expert load, MaxVio), or compare several runs.") { runs, output };
        command.SetAction(parse =>
        {
            try
            {
                var paths = parse.GetValue(runs)!;
                if (paths.All(p => p.EndsWith(".json", StringComparison.OrdinalIgnoreCase) && File.Exists(p)))
                {
                    Console.Out.WriteLine($"wrote {WriteStudy(paths, parse.GetValue(output) ?? Path.GetDirectoryName(Path.GetFullPath(paths[0]))!)}");
                    return 0;
                }
                if (paths.Length == 1 && File.Exists(Path.Combine(paths[0], GrpoRun.MetricsFileName)) && !File.Exists(Path.Combine(paths[0], MetricsLog.FileName)))
                {
                    var rl = GrpoRun.ReadMetrics(paths[0]);
                    if (rl.Count == 0) { throw new InvalidDataException($"'{paths[0]}' has no GRPO steps logged yet"); }
                    foreach (var file in WriteRl(rl, parse.GetValue(output) ?? Path.Combine(paths[0], "plots"))) { Console.Out.WriteLine($"wrote {file}"); }
                    return 0;
                }
                var all = paths.Select(p => (Name: RunName(p), Records: MetricsLog.Read(p))).ToList();
                foreach (var (name, records) in all)
                {
                    if (records.Count == 0) { throw new InvalidDataException($"'{name}' has no metrics records yet; train first"); }
                }
                if (all.Count == 1)
                {
                    var runDir = Directory.Exists(paths[0]) ? paths[0] : Path.GetDirectoryName(Path.GetFullPath(paths[0]))!;
                    var outDir = parse.GetValue(output) ?? Path.Combine(runDir, "plots");
                    foreach (var file in Write(all[0].Records, outDir)) { Console.Out.WriteLine($"wrote {file}"); }
                    return 0;
                }
                foreach (var (name, records) in all) { Console.Out.WriteLine(Summary(name, records)); }
                foreach (var (name, records) in all.Skip(1)) { Console.Out.WriteLine(RelativeSummary(name, records, all[0].Name, all[0].Records)); }
                foreach (var file in WriteComparison(all, parse.GetValue(output) ?? "plots-compare")) { Console.Out.WriteLine($"wrote {file}"); }
                return 0;
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    private static string RunName(string path) => Path.GetFileName(Path.TrimEndingDirectorySeparator(Directory.Exists(path) ? Path.GetFullPath(path) : Path.GetDirectoryName(Path.GetFullPath(path))!));

    /// <summary>MaxVio averaged over the MoE layers at each step.</summary>
    private static double MeanMaxVio(MetricsRecord r) => r.MaxVio.Length == 0 ? double.NaN : r.MaxVio.Average();

    /// <summary>One line per run: its last eval loss and its MaxVio (mean over layers) over the last quarter of the steps.</summary>
    internal static string Summary(string name, IReadOnlyList<MetricsRecord> records)
    {
        var lastEval = records.LastOrDefault(r => r.EvalLoss is not null);
        var tail = records.Skip(records.Count - Window(records.Count)).Select(MeanMaxVio).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average();
        var eval = lastEval is null ? "no eval" : $"eval loss {lastEval.EvalLoss:F4} at step {lastEval.Step}";
        return $"run {name}: {eval}, main loss {records[^1].MainLoss:F4} at step {records[^1].Step}, MaxVio {tail:F2} (mean over layers, last {Window(records.Count)} steps)";
    }

    /// <summary><c>run fp8 vs fp32: training loss +0.12% (last quarter), eval loss +0.05% at step 300, |relative| at most 0.31% from the end of the first quarter</c>.</summary>
    internal static string RelativeSummary(string name, IReadOnlyList<MetricsRecord> run, string baselineName, IReadOnlyList<MetricsRecord> baseline)
    {
        var (steps, relative) = RunComparison.RelativeLoss(run, baseline);
        if (steps.Length == 0) { return $"run {name} vs {baselineName}: no common steps"; }
        var quarter = Window(steps.Length);
        var tail = relative.Skip(steps.Length - quarter).Average();
        var worst = relative.Skip(quarter).Select(Math.Abs).DefaultIfEmpty(Math.Abs(relative[^1])).Max();
        var (evalSteps, evalRelative) = RunComparison.RelativeEval(run, baseline);
        var eval = evalSteps.Length == 0 ? "no common eval" : $"eval loss {Percent(evalRelative[^1])} at step {evalSteps[^1]}";
        return $"run {name} vs {baselineName}: training loss {Percent(tail)} (mean of the last {quarter} steps, each over {RunComparison.Window}), {eval}, |relative| at most {100 * worst:F2}% from step {steps[Math.Min(quarter, steps.Length - 1)]}";
    }

    // A signed percentage to two decimals; a negative value that rounds to zero prints +0.00% (the bare custom format
    // would print "-+0.00%").
    private static string Percent(double fraction) => $"{Math.Round(100 * fraction, 2) + 0.0:+0.00;-0.00;+0.00}%";

    /// <summary>Overlays several runs: eval loss, main training loss and mean MaxVio by step, and every run's training and
    /// eval loss relative to the first run's.</summary>
    internal static IReadOnlyList<string> WriteComparison(IReadOnlyList<(string Name, IReadOnlyList<MetricsRecord> Records)> runs, string directory)
    {
        Directory.CreateDirectory(directory);
        var eval = new Plot();
        var main = new Plot();
        var vio = new Plot();
        var relative = new Plot();
        foreach (var (name, records) in runs.Skip(1))
        {
            var (steps, rel) = RunComparison.RelativeLoss(records, runs[0].Records);
            Line(relative, steps, [.. rel.Select(r => 100 * r)], $"{name}: training");
            var (evalSteps, evalRel) = RunComparison.RelativeEval(records, runs[0].Records);
            if (evalSteps.Length > 0)
            {
                var points = relative.Add.Scatter(evalSteps, [.. evalRel.Select(r => 100 * r)]);
                points.LegendText = $"{name}: eval";
                points.MarkerSize = 8;
                points.LineWidth = 0;
            }
        }
        relative.Add.HorizontalLine(0, color: Colors.Gray);
        foreach (var (name, records) in runs)
        {
            var evals = records.Where(r => r.EvalLoss is not null).ToList();
            if (evals.Count > 0) { Line(eval, [.. evals.Select(r => (double)r.Step)], [.. evals.Select(r => r.EvalLoss!.Value)], name); }
            double[] steps = [.. records.Select(r => (double)r.Step)];
            Line(main, steps, [.. records.Select(r => r.MainLoss)], name);
            Line(vio, steps, [.. records.Select(MeanMaxVio)], name);
        }
        return
        [
            Save(eval, directory, "compare_eval_loss.png", "Held-out cross-entropy", "step", "nats per token"),
            Save(main, directory, "compare_main_loss.png", "Main-head training cross-entropy", "step", "nats per token"),
            Save(vio, directory, "compare_max_vio.png", "MaxVio, mean over MoE layers", "step", "MaxVio"),
            Save(relative, directory, "compare_relative_loss.png", $"Loss relative to {runs[0].Name} (training: mean of {RunComparison.Window} steps)", "step", "relative error (%)", Alignment.LowerLeft),
        ];
    }

    /// <summary>Writes the four plots into <paramref name="directory"/> and returns their paths.</summary>
    internal static IReadOnlyList<string> Write(IReadOnlyList<MetricsRecord> records, string directory)
    {
        Directory.CreateDirectory(directory);
        double[] steps = [.. records.Select(r => (double)r.Step)];
        var written = new List<string>();

        var loss = new Plot();
        Line(loss, steps, [.. records.Select(r => r.Loss)], "loss (objective)");
        Line(loss, steps, [.. records.Select(r => r.MainLoss)], "main cross-entropy");
        var evals = records.Where(r => r.EvalLoss is not null).ToList();
        if (evals.Count > 0)
        {
            var scatter = loss.Add.Scatter(evals.Select(r => (double)r.Step).ToArray(), evals.Select(r => r.EvalLoss!.Value).ToArray());
            scatter.LegendText = "eval cross-entropy";
            scatter.MarkerSize = 8;
        }
        written.Add(Save(loss, directory, "loss.png", "Loss", "step", "nats per token"));

        var lr = new Plot();
        Line(lr, steps, [.. records.Select(r => r.Lr)], "learning rate");
        written.Add(Save(lr, directory, "lr.png", "Learning rate", "step", "lr"));

        var last = records[^1];
        var vio = new Plot();
        for (var l = 0; l < last.MoeLayers.Length; l++)
        {
            var layer = l;
            Line(vio, steps, [.. records.Select(r => layer < r.MaxVio.Length ? r.MaxVio[layer] : double.NaN)], $"layer {last.MoeLayers[l]}");
        }
        written.Add(Save(vio, directory, "max_vio.png", "MaxVio = max load / mean load − 1, per MoE layer", "step", "MaxVio"));

        var heat = new Plot();
        var load = MeanRelativeLoad(records);
        if (load.Length > 0)
        {
            var map = heat.Add.Heatmap(load);
            map.Colormap = new ScottPlot.Colormaps.Viridis();
            heat.Add.ColorBar(map).Label = "tokens / mean tokens";
            heat.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
                [.. last.MoeLayers.Select((layer, i) => new Tick(load.GetLength(0) - 1 - i, $"layer {layer}"))]);
        }
        written.Add(Save(heat, directory, "expert_load.png", $"Expert load over the last {Window(records.Count)} steps", "expert", "MoE layer"));
        return written;
    }

    /// <summary>A GRPO run's plots: reward.png (reward, accuracy, format rate), length.png (completion length mean, min,
    /// max) and kl.png (KL to the reference and the policy's entropy).</summary>
    internal static IReadOnlyList<string> WriteRl(IReadOnlyList<RlRecord> records, string directory)
    {
        Directory.CreateDirectory(directory);
        double[] steps = [.. records.Select(r => (double)r.Step)];
        var reward = new Plot();
        Line(reward, steps, [.. records.Select(r => r.RewardMean)], "reward (weighted total)");
        Line(reward, steps, [.. records.Select(r => r.Accuracy)], "accuracy");
        Line(reward, steps, [.. records.Select(r => r.FormatRate)], "format rate");
        var length = new Plot();
        Line(length, steps, [.. records.Select(r => r.LengthMean)], "mean");
        Line(length, steps, [.. records.Select(r => (double)r.LengthMin)], "min");
        Line(length, steps, [.. records.Select(r => (double)r.LengthMax)], "max");
        var kl = new Plot();
        Line(kl, steps, [.. records.Select(r => r.Kl)], "KL to the reference (k3)");
        Line(kl, steps, [.. records.Select(r => r.Entropy)], "entropy (nats per token)");
        return
        [
            Save(reward, directory, "reward.png", "GRPO rewards on the training prompts", "step", "mean over the step's samples"),
            Save(length, directory, "length.png", "Completion length", "step", "tokens"),
            Save(kl, directory, "kl.png", "KL and entropy", "step", "nats"),
        ];
    }

    /// <summary>One row of a distillation study table.</summary>
    internal sealed record StudyRow(
        [property: System.Text.Json.Serialization.JsonPropertyName("variant")] string Variant,
        [property: System.Text.Json.Serialization.JsonPropertyName("minutes")] double Minutes,
        [property: System.Text.Json.Serialization.JsonPropertyName("pass1")] double Pass1);

    /// <summary>distill-study.png: pass@1 against minutes, one series per study file (named after its directory), each
    /// variant a labelled marker.</summary>
    internal static string WriteStudy(IReadOnlyList<string> files, string directory)
    {
        Directory.CreateDirectory(directory);
        var plot = new Plot();
        var right = 1.0;
        foreach (var file in files)
        {
            List<StudyRow>? rows;
            try
            {
                rows = System.Text.Json.JsonSerializer.Deserialize<List<StudyRow>>(File.ReadAllText(file));
            }
            catch (System.Text.Json.JsonException e)
            {
                throw new InvalidDataException($"{file}: not a study table (a JSON array of {{\"variant\", \"minutes\", \"pass1\"}}): {e.Message}", e);
            }
            if (rows is null || rows.Count == 0 || rows.Any(r => r.Variant is null)) { throw new InvalidDataException($"{file}: expected a non-empty JSON array of {{\"variant\", \"minutes\", \"pass1\"}}"); }
            right = Math.Max(right, rows.Max(r => r.Minutes));
            var scatter = plot.Add.ScatterPoints(rows.Select(r => r.Minutes).ToArray(), rows.Select(r => 100 * r.Pass1).ToArray());
            scatter.LegendText = RunName(file);
            scatter.MarkerSize = 10;
            foreach (var r in rows)
            {
                var text = plot.Add.Text(r.Variant, r.Minutes, 100 * r.Pass1);
                text.LabelFontSize = 11;
                text.LabelOffsetX = 8;
            }
        }
        plot.Axes.SetLimitsX(-0.05 * right, 1.3 * right); // room for the last labels
        return Save(plot, directory, "distill-study.png", "Distillation against RL: held-out pass@1", "minutes of compute (2 cores)", "pass@1 (%)", Alignment.LowerRight);
    }

    // (layers, E): each expert's tokens over the layer's mean, summed over the last quarter of the steps. Rows are listed
    // top-down, so the first MoE layer is the top row of the heat map.
    private static double[,] MeanRelativeLoad(IReadOnlyList<MetricsRecord> records)
    {
        var last = records[^1];
        if (last.ExpertLoad.Length == 0) { return new double[0, 0]; }
        var layers = last.ExpertLoad.Length;
        var experts = last.ExpertLoad.Max(l => l.Length);
        var sums = new double[layers, experts];
        foreach (var r in records.Skip(records.Count - Window(records.Count)))
        {
            for (var l = 0; l < Math.Min(layers, r.ExpertLoad.Length); l++)
            {
                for (var e = 0; e < Math.Min(experts, r.ExpertLoad[l].Length); e++) { sums[l, e] += r.ExpertLoad[l][e]; }
            }
        }
        for (var l = 0; l < layers; l++)
        {
            double mean = 0;
            for (var e = 0; e < experts; e++) { mean += sums[l, e] / experts; }
            for (var e = 0; e < experts; e++) { sums[l, e] = mean > 0 ? sums[l, e] / mean : 0; }
        }
        return sums;
    }

    /// <summary>A passkey evaluation's plots: passkey.png (accuracy per length and needle depth; blank past the
    /// model's context) and position_loss.png (loss by position bucket).</summary>
    internal static IReadOnlyList<string> WritePasskey(PasskeyReport report, string directory)
    {
        Directory.CreateDirectory(directory);
        var lengths = report.Cells.Select(c => c.Length).Distinct().ToArray();
        var depths = report.Cells.Select(c => c.Depth).Distinct().ToArray();
        var grid = new double[depths.Length, lengths.Length];                       // row 0 at the top: the deepest needle last
        foreach (var c in report.Cells) { grid[Array.IndexOf(depths, c.Depth), Array.IndexOf(lengths, c.Length)] = c.Accuracy ?? double.NaN; }
        var heat = new Plot();
        var map = heat.Add.Heatmap(grid);
        map.Colormap = new ScottPlot.Colormaps.Viridis();
        map.ManualRange = new ScottPlot.Range(0, 1);
        heat.Add.ColorBar(map).Label = "retrieval accuracy";
        heat.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. lengths.Select((l, i) => new Tick(i, $"{l}"))]);
        heat.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. depths.Select((d, i) => new Tick(depths.Length - 1 - i, $"{d:P0}"))]);
        var written = new List<string> { Save(heat, directory, "passkey.png", $"Passkey retrieval, {report.Model} (context {report.Context}; blank: past it)", "context length (tokens)", "needle depth") };
        var loss = new Plot();
        if (report.LossByPosition.Count > 0)
        {
            var bars = loss.Add.Bars([.. report.LossByPosition.Select(b => b.Loss)]);
            loss.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. report.LossByPosition.Select((b, i) => new Tick(i, $"{b.Start}–{b.End - 1}"))]);
            bars.LegendText = report.Model;
        }
        written.Add(Save(loss, directory, "position_loss.png", $"Next-token loss by position, {report.Model}", "positions", "loss (nats)"));
        return written;
    }

    private static int Window(int count) => Math.Max(1, count / 4);

    private static void Line(Plot plot, double[] xs, double[] ys, string label)
    {
        var line = plot.Add.ScatterLine(xs, ys);
        line.LegendText = label;
        line.LineWidth = 2;
    }

    private static string Save(Plot plot, string directory, string name, string title, string x, string y, Alignment legend = Alignment.UpperRight)
    {
        plot.Title(title);
        plot.XLabel(x);
        plot.YLabel(y);
        plot.ShowLegend(legend);
        var path = Path.Combine(directory, name);
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(Width, Height, ImageFormat.Png));
        return path;
    }
}
