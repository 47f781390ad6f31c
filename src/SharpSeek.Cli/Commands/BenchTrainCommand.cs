// BenchTrainCommand.cs: `sharpseek bench train [--configs tiny small] [--threads 2] [--steps N] [--precisions fp32 bf16
// fp8] [--fp8-recipe …] [--rounds R] [--seq-lens T…] [--json]`, training tokens/s and peak memory against PyTorch eager,
// each precision against fp32 (in R interleaved rounds, with the ratios' range and median), the step profile, and the step arena per token at long sequence lengths. Each preset is measured in a fresh copy of this
// program (the hidden --one mode), so each peak memory is that preset's own. Not here: the measuring code
// (bench/SharpSeek.Bench/TrainBench.cs). No test runs it; never run in CI.
using System.CommandLine;
using SharpSeek.Bench;
using SharpSeek.Model.Layers;

namespace SharpSeek.Cli.Commands;

internal static class BenchTrainCommand
{
    public static Command Create()
    {
        var configs = new Option<string[]>("--configs") { Description = "Presets to measure.", DefaultValueFactory = _ => ["tiny", "small"], AllowMultipleArgumentsPerToken = true };
        var threads = new Option<int>("--threads") { Description = "Threads for both SharpSeek and PyTorch.", DefaultValueFactory = _ => 2 };
        var steps = new Option<int>("--steps") { Description = "Timed steps after 2 warm-up steps (and as many profiled).", DefaultValueFactory = _ => 5 };
        var json = new Option<bool>("--json") { Description = "Print the results as JSON." };
        var precisions = new Option<string[]>("--precisions") { Description = "Training precisions to measure (fp32, bf16, fp8), each against fp32: step time, peak memory, state and step arena.", DefaultValueFactory = _ => ["fp32"], AllowMultipleArgumentsPerToken = true };
        precisions.AcceptOnlyFromAmong(PrecisionOption.Names);
        var fp8Recipe = PrecisionOption.CreateRecipe();
        var seqLens = new Option<int[]>("--seq-lens") { Description = "Instead of the preset's batch, one sequence of each length (e.g. 4096 8192 16384): tokens/s and the step arena per token, the check that training memory stays linear in T.", AllowMultipleArgumentsPerToken = true };
        var rounds = new Option<int>("--rounds") { Description = "Repeat fp32 and the other precisions this many times, interleaved, and end with each precision's range and median of its ratios to fp32 (a noisy machine's spread).", DefaultValueFactory = _ => 1 };
        var one = new Option<string?>("--one") { Description = "Measure one preset in this process and print its JSON line.", Hidden = true };
        var command = new Command("train", "Training tokens/s and peak memory of the presets against PyTorch eager, and where a step's time goes.")
        {
            configs,
            threads,
            steps,
            json,
            precisions,
            fp8Recipe,
            seqLens,
            rounds,
            one,
        };
        command.SetAction(parse =>
        {
            var (t, n, k) = (parse.GetValue(threads), parse.GetValue(steps), parse.GetValue(rounds));
            if (t < 1 || n < 1 || k < 1)
            {
                Console.Error.WriteLine($"--threads, --steps and --rounds must be ≥ 1; got {t}, {n} and {k}");
                return 2;
            }
            if (parse.GetValue(one) is { } preset)
            {
                var precision = PrecisionOption.Parse(parse.GetValue(precisions)?.FirstOrDefault() ?? "fp32");
                int? seq = parse.GetValue(seqLens) is [var only] ? only : null;
                Console.WriteLine(TrainBench.ToJson(TrainBench.Measure(preset, t, n, precision, parse.GetValue(fp8Recipe)!, seq)));
                return 0;
            }
            if (parse.GetValue(seqLens) is { Length: > 0 } lengths)
            {
                if (lengths.Any(l => l < 1)) { Console.Error.WriteLine($"--seq-lens must be ≥ 1; got {string.Join(" ", lengths)}"); return 2; }
                if (parse.GetValue(precisions) is { } p && p.Any(x => x != "fp32")) { Console.Error.WriteLine("--seq-lens measures fp32 steps; leave out --precisions"); return 2; }
                return TrainBench.RunSeqLens(Console.Out, parse.GetValue(configs) ?? ["tiny"], lengths, t, n, parse.GetValue(json), Self());
            }
            var modes = (parse.GetValue(precisions) ?? ["fp32"]).Select(PrecisionOption.Parse).Distinct().ToList();
            if (parse.GetValue(fp8Recipe) is { Length: > 0 } r && !modes.Contains(LinearPrecision.Fp8)) { Console.Error.WriteLine($"--fp8-recipe '{r}' needs fp8 among --precisions"); return 2; }
            return TrainBench.Run(Console.Out, parse.GetValue(configs) ?? ["tiny", "small"], t, n, parse.GetValue(json), Self(), modes, parse.GetValue(fp8Recipe)!, k);
        });
        return command;
    }

    // This program and the words that put it in the one-preset mode: the apphost, or `dotnet sharpseek.dll`.
    private static string[] Self()
    {
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find this program's path to start a child");
        string[] mode = ["bench", "train", "--one"];
        return Path.GetFileNameWithoutExtension(host) == "dotnet"
            ? [host, typeof(BenchTrainCommand).Assembly.Location, .. mode]
            : [host, .. mode];
    }
}
