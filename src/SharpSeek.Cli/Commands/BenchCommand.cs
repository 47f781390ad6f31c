// BenchCommand.cs: `sharpseek bench <kernel>`, the kernel benchmarks. The measuring code lives in bench/SharpSeek.Bench.
// Tested by CliTests (--help), BenchInferCommandTests and BenchServeCommandTests.
using System.CommandLine;

namespace SharpSeek.Cli.Commands;

internal static class BenchCommand
{
    public static Command Create()
    {
        var bench = new Command("bench", "Measure kernel throughput against OpenBLAS and the machine's peak.");
        bench.Subcommands.Add(BenchGemmCommand.Create());
        bench.Subcommands.Add(BenchOpsCommand.Create());
        bench.Subcommands.Add(BenchTrainCommand.Create());
        bench.Subcommands.Add(BenchInferCommand.Create());
        bench.Subcommands.Add(BenchServeCommand.Create());
        return bench;
    }
}
