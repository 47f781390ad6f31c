// BenchTrainCommand.cs: `sharpseek bench train [--configs tiny small] [--threads 2] [--steps N] [--json]`, training
// tokens/s and peak memory against PyTorch eager, and the step profile. Each preset is measured in a fresh copy of this
// program (the hidden --one mode), so each peak memory is that preset's own. Not here: the measuring code
// (bench/SharpSeek.Bench/TrainBench.cs). No test runs it; never run in CI.
using System.CommandLine;
using SharpSeek.Bench;

namespace SharpSeek.Cli.Commands;

internal static class BenchTrainCommand
{
    public static Command Create()
    {
        var configs = new Option<string[]>("--configs") { Description = "Presets to measure.", DefaultValueFactory = _ => ["tiny", "small"], AllowMultipleArgumentsPerToken = true };
        var threads = new Option<int>("--threads") { Description = "Threads for both SharpSeek and PyTorch.", DefaultValueFactory = _ => 2 };
        var steps = new Option<int>("--steps") { Description = "Timed steps after 2 warm-up steps (and as many profiled).", DefaultValueFactory = _ => 5 };
        var json = new Option<bool>("--json") { Description = "Print the results as JSON." };
        var one = new Option<string?>("--one") { Description = "Measure one preset in this process and print its JSON line.", Hidden = true };
        var command = new Command("train", "Training tokens/s and peak memory of the presets against PyTorch eager, and where a step's time goes.")
        {
            configs,
            threads,
            steps,
            json,
            one,
        };
        command.SetAction(parse =>
        {
            var (t, n) = (parse.GetValue(threads), parse.GetValue(steps));
            if (t < 1 || n < 1)
            {
                Console.Error.WriteLine($"--threads and --steps must be ≥ 1; got {t} and {n}");
                return 2;
            }
            if (parse.GetValue(one) is { } preset)
            {
                Console.WriteLine(TrainBench.ToJson(TrainBench.Measure(preset, t, n)));
                return 0;
            }
            return TrainBench.Run(Console.Out, parse.GetValue(configs) ?? ["tiny", "small"], t, n, parse.GetValue(json), Self());
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
