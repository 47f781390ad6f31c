// BenchOpsCommand.cs: `sharpseek bench ops [--quick] [--json]`, the memory-bound kernels against copy bandwidth.
// Not here: the measuring code (bench/SharpSeek.Bench/OpsBench.cs). Tested by CliTests (--help only; the benchmark itself never runs in CI).
using System.CommandLine;
using SharpSeek.Bench;

namespace SharpSeek.Cli.Commands;

internal static class BenchOpsCommand
{
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "Small buffers and few repeats (a smoke run)." };
        var json = new Option<bool>("--json") { Description = "Print the results as JSON." };
        var command = new Command("ops", "Elementwise, softmax, RMSNorm, RoPE, SwiGLU, cross-entropy, embedding and scatter bandwidth against copy; fused attention against the GEMM rate.")
        {
            quick,
            json,
        };
        command.SetAction(parse =>
        {
            var code = OpsBench.Run(Console.Out, parse.GetValue(quick), parse.GetValue(json));
            return code != 0 ? code : AttentionBench.Run(Console.Out, parse.GetValue(quick), parse.GetValue(json));
        });
        return command;
    }
}
