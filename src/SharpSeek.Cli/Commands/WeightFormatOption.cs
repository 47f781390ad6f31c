// WeightFormatOption.cs: the weights-in-memory option every inference command takes (--dtype, bench infer's --formats):
// f32, bf16 or fp8. Tested through the commands' bad-option tests (GenerateCommandTests,
// ServeCommandTests, BenchInferCommandTests, BenchServeCommandTests).
using SharpSeek.Model;

namespace SharpSeek.Cli.Commands;

internal static class WeightFormatOption
{
    /// <summary>The format named by <paramref name="value"/>; an unknown name is an error naming <paramref name="option"/>.</summary>
    public static WeightFormat Parse(string value, string option = "--dtype") => value switch
    {
        "f32" => WeightFormat.F32,
        "bf16" => WeightFormat.BF16,
        "fp8" => WeightFormat.Fp8,
        _ => throw new ArgumentException($"{option} must be f32, bf16 or fp8; got '{value}'"),
    };
}
