// BenchGemmCommand.cs: `sharpseek bench gemm [--threads 1 2] [--quick] [--json]`; the measuring lives in bench/SharpSeek.Bench/GemmBench.cs.
// Tested by CliTests (--help only; the benchmark itself never runs in CI).
using System.CommandLine;
using SharpSeek.Bench;

namespace SharpSeek.Cli.Commands;

internal static class BenchGemmCommand
{
    public static Command Create()
    {
        var threads = new Option<int[]>("--threads")
        {
            Description = "Thread counts to measure (default: 1 and the core count).",
            AllowMultipleArgumentsPerToken = true,
        };
        var quick = new Option<bool>("--quick") { Description = "Fewer shapes and repetitions." };
        var json = new Option<bool>("--json") { Description = "One JSON object per line instead of text." };
        var command = new Command("gemm", "f32 GEMM vs OpenBLAS and the FMA peak; BF16/FP8-weight GEMM vs f32.") { threads, quick, json };
        command.SetAction(parse =>
        {
            var counts = parse.GetValue(threads) is { Length: > 0 } given
                ? given
                : new[] { 1, Environment.ProcessorCount }.Distinct().ToArray();
            return GemmBench.Run(Console.Out, counts, parse.GetValue(quick), parse.GetValue(json));
        });
        return command;
    }
}
