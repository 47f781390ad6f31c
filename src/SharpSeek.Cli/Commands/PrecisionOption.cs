// PrecisionOption.cs: --precision fp32|bf16|fp8, the training GEMMs' inputs (LinearPrecision; DeepSeek-V3 §3.3) for
// the commands that train, and --fp8-recipe, the FP8 recipe's ablations (Fp8Recipe). Tested through TrainCommandTests.
using System.CommandLine;
using SharpSeek.Model.Layers;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Cli.Commands;

internal static class PrecisionOption
{
    /// <summary>The values --precision (and bench train's --precisions) accept: every mode's <see cref="LinearPrecisionNames.OptionName"/>.</summary>
    public static string[] Names { get; } = [.. Enum.GetValues<LinearPrecision>().Select(p => p.OptionName())];

    public static Option<string> Create()
    {
        var option = new Option<string>("--precision")
        {
            Description = "The Linears' training GEMMs: fp32, bf16 (BF16 inputs, F32 accumulation) or fp8 (DeepSeek-V3's recipe: E4M3 with 1x128 / 128x128 scales, F32 promotion every 128 products). Master weights and gradients stay F32; a resumed run keeps its own.",
            DefaultValueFactory = _ => "fp32",
        };
        option.AcceptOnlyFromAmong(Names);
        return option;
    }

    /// <summary>--fp8-recipe: the FP8 recipe's departures from the paper's, for ablations (Fp8Recipe.Parse).</summary>
    public static Option<string> CreateRecipe()
    {
        var option = new Option<string>("--fp8-recipe")
        {
            Description = "With --precision fp8, comma-separated departures from the paper's recipe: exact (DeepGEMM's block sums: each 128 products summed exactly in double, then promoted; slower than the default f32 sum), hopper-accumulator (each block's products through an emulated ~14-bit accumulator, promoted to f32 every 128, as the paper describes Hopper's tensor cores; scalar emulation, slow: for short runs of small models), no-promotion (the same accumulator over all of K, never promoted: the promotion's ablation), tensor-scales (one scale per tensor), block-gradients (activation gradients in 128x128 blocks), pow2-scales (activation scales rounded up to powers of two); keep-activations (no recomputed sublayers: every activation kept, the same values, more memory); swiglu-cache (the paper's storage for the feed-forwards: SwiGLU inputs cached in FP8, the output recomputed in backward; it changes the backward's values and saves memory only with keep-activations; opt-in for now); o-proj-e5m6 (the attention output projection keeps its input for backward in E5M6 with power-of-two scales; opt-in); fp8-dispatch (the MoE dispatch's activations, and the gradient before the experts' down projections, in E4M3 with power-of-two scales, consumed as they are by the experts' GEMMs; it changes the forward's values; opt-in).",
            DefaultValueFactory = _ => "",
        };
        option.Validators.Add(result =>
        {
            try { Fp8Recipe.Parse(result.GetValueOrDefault<string>()); }
            catch (ArgumentException e) { result.AddError(e.Message); }
        });
        return option;
    }

    public static LinearPrecision Parse(string value) => Enum.GetValues<LinearPrecision>().FirstOrDefault(p => p.OptionName() == value);
}
