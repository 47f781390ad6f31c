// Fp8Recipe.cs: the choices inside Fp8LinearOp's three GEMMs. The default is DeepSeek-V3's recipe (arXiv 2412.19437
// §3.3.2): 1×128 activation and activation-gradient tiles, 128×128 weight blocks, a max-abs scale per tile, each
// operand's quantization error exactly as the paper's; the sum is F32 over dequantized operands (fast: one packed f32
// GEMM), or Exact, DeepGEMM's block promotion with every 128-block summed exactly (Fp8Gemm.Gemm, bit-exact against its
// reference), or the emulated Hopper accumulator below. F32 and Exact differ by f32 rounding of the in-block additions,
// far below the E4M3 inputs' own error (2⁻⁴ relative); Hopper's tensor cores keep about 14 bits there (§3.3.2), fewer
// than either. The ablations of the paper's appendix B.2: one scale per tensor instead of per tile, and activation
// gradients in 128×128 blocks. And the paper's low-precision storage of the feed-forwards (§3.3.3, Fp8SwiGluOp), opt-in
// while the precision study's runs predate it; and keep-activations, which turns off the recomputed regions (§3.2.3,
// RecomputeOp) the model runs under FP8 (the same values either way: it measures what they save); o-proj-e5m6, the
// paper's E5M6 cache of the o_proj input (FloatE5M6), opt-in like swiglu-cache; fp8-dispatch, the MoE dispatch in E4M3
// with power-of-two scales (Fp8DispatchOp), opt-in too. Hopper and HopperUnpromoted sum through the emulated ~14-bit
// accumulator, with and without the promotion every 128 products: the ablation of the promotion as a training run
// (slow: scalar emulation). Parse/ToString give the comma-separated form of the CLI's --fp8-recipe. Tested by
// Fp8LinearOpTests.
namespace SharpSeek.Tensors.Ops;

/// <summary>How an FP8 GEMM sums its products.</summary>
public enum Fp8Sum : byte
{
    /// <summary>Both operands decoded with their scales to f32 and multiplied by the packed f32 GEMM (f32 accumulation
    /// throughout).</summary>
    F32,

    /// <summary>DeepGEMM's promotion: each 128-wide K block's products summed exactly, rounded to f32 and added with its two
    /// scales (Fp8Gemm.Gemm).</summary>
    Exact,

    /// <summary>Hopper's tensor cores as the paper describes them (§3.3.2): each block's products in an accumulator of
    /// about 14 bits, promoted to f32 every 128 (Fp8Gemm.Reference with Fp8Accumulator.Hopper; scalar and slow, for
    /// short ablation runs of small models).</summary>
    Hopper,

    /// <summary>The same accumulator over all of K, never promoted: the ablation of the promotion (Fp8Accumulator.HopperUnpromoted).</summary>
    HopperUnpromoted,
}

/// <summary>The FP8 training GEMMs' recipe: the paper's by default; the other values are its ablations.</summary>
public readonly record struct Fp8Recipe(Fp8Sum Sum = Fp8Sum.F32, bool PerTensorScales = false, bool BlockGradients = false, bool PowerOfTwoScales = false, bool CacheSwiGlu = false, bool KeepActivations = false, bool E5M6OProj = false, bool Fp8Dispatch = false)
{
    /// <summary>This Linear's input arrives on a power-of-two E4M3 grid (the routed experts' gate and up projections
    /// under <see cref="Fp8Dispatch"/>): Fprop quantizes it with power-of-two scales, which reproduces the dispatched
    /// codes' values exactly. Set per Linear by the model, not a recipe name.</summary>
    public bool PowerOfTwoInput { get; init; }

    /// <summary>This Linear's output gradient arrives on a power-of-two E4M3 grid (the routed experts' down projection
    /// under <see cref="Fp8Dispatch"/>): Dgrad quantizes it with power-of-two scales. Set per Linear by the model.</summary>
    public bool PowerOfTwoGradient { get; init; }

    // The recipe for quantizing this Linear's input in Fprop, and its output gradient in Dgrad.
    internal Fp8Recipe ForInput => PowerOfTwoInput ? this with { PowerOfTwoScales = true } : this;

    internal Fp8Recipe ForGradient => PowerOfTwoGradient ? this with { PowerOfTwoScales = true } : this;

    private static readonly (string Name, Func<Fp8Recipe, bool> Has, Func<Fp8Recipe, Fp8Recipe> Set)[] Flags =
    [
        ("exact", r => r.Sum == Fp8Sum.Exact, r => r with { Sum = Fp8Sum.Exact }),
        ("hopper-accumulator", r => r.Sum == Fp8Sum.Hopper, r => r with { Sum = Fp8Sum.Hopper }),
        ("no-promotion", r => r.Sum == Fp8Sum.HopperUnpromoted, r => r with { Sum = Fp8Sum.HopperUnpromoted }),
        ("tensor-scales", r => r.PerTensorScales, r => r with { PerTensorScales = true }),
        ("block-gradients", r => r.BlockGradients, r => r with { BlockGradients = true }),
        ("pow2-scales", r => r.PowerOfTwoScales, r => r with { PowerOfTwoScales = true }),
        ("keep-activations", r => r.KeepActivations, r => r with { KeepActivations = true }),
        ("swiglu-cache", r => r.CacheSwiGlu, r => r with { CacheSwiGlu = true }),
        ("o-proj-e5m6", r => r.E5M6OProj, r => r with { E5M6OProj = true }),
        ("fp8-dispatch", r => r.Fp8Dispatch, r => r with { Fp8Dispatch = true }),
    ];

    /// <summary>The names <see cref="Parse"/> accepts, each a change from the default recipe.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Flags.Select(f => f.Name)];

    /// <summary>"" (the paper's recipe) or a comma-separated list of <see cref="Names"/>: exact (DeepGEMM's exact block
    /// sums), hopper-accumulator (a ~14-bit accumulator inside each block, promoted every 128), no-promotion (that
    /// accumulator over all of K), tensor-scales (one scale per tensor), block-gradients (activation gradients in 128×128 blocks), pow2-scales
    /// (activation scales rounded up to powers of two), swiglu-cache (a feed-forward keeps its SwiGLU inputs in FP8 and
    /// recomputes the output in backward), keep-activations (no recomputed regions: every block keeps its activations),
    /// o-proj-e5m6 (the attention output projection keeps its input for backward in E5M6 with power-of-two scales),
    /// fp8-dispatch (the MoE dispatch's activations, and the activation gradient before the experts' down projections,
    /// in E4M3 with power-of-two scales; Fp8DispatchOp).</summary>
    public static Fp8Recipe Parse(string? text)
    {
        var recipe = default(Fp8Recipe);
        foreach (var part in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var flag = Array.FindIndex(Flags, f => f.Name == part);
            if (flag < 0) { throw new ArgumentException($"unknown FP8 recipe choice '{part}': expected a comma-separated list of {string.Join(", ", Names)} (or nothing, the paper's recipe)"); }
            var next = Flags[flag].Set(recipe);
            if (recipe.Sum != Fp8Sum.F32 && next.Sum != recipe.Sum)
            {
                throw new ArgumentException($"'{part}' and '{new Fp8Recipe(recipe.Sum)}' both choose how a GEMM sums its products; give at most one of exact, hopper-accumulator and no-promotion");
            }
            recipe = next;
        }
        if (recipe.Fp8Dispatch && (recipe.PerTensorScales || recipe.BlockGradients))
        {
            throw new ArgumentException("fp8-dispatch sends 1×128 tiles with power-of-two scales for the experts to compute with as they are; it cannot be combined with tensor-scales or block-gradients, which quantize those operands differently");
        }
        return recipe;
    }

    /// <summary>The canonical spelling of <paramref name="text"/> (checked, in <see cref="Names"/> order; "" for the
    /// paper's recipe), as runs store it.</summary>
    public static string Normalize(string? text) => Parse(text).ToString();

    /// <summary>The comma-separated choices that differ from the default ("" for the paper's recipe).</summary>
    public override string ToString()
    {
        var self = this;
        return string.Join(",", Flags.Where(f => f.Has(self)).Select(f => f.Name));
    }

    internal long Pack() => (long)Sum | (PerTensorScales ? 1L << 8 : 0) | (BlockGradients ? 1L << 9 : 0) | (PowerOfTwoScales ? 1L << 10 : 0) | (CacheSwiGlu ? 1L << 11 : 0) | (KeepActivations ? 1L << 12 : 0)
        | (E5M6OProj ? 1L << 13 : 0) | (Fp8Dispatch ? 1L << 14 : 0) | (PowerOfTwoInput ? 1L << 15 : 0) | (PowerOfTwoGradient ? 1L << 16 : 0);

    internal static Fp8Recipe Unpack(long bits) => new((Fp8Sum)(bits & 0xFF), (bits & (1L << 8)) != 0, (bits & (1L << 9)) != 0, (bits & (1L << 10)) != 0, (bits & (1L << 11)) != 0, (bits & (1L << 12)) != 0, (bits & (1L << 13)) != 0, (bits & (1L << 14)) != 0)
    {
        PowerOfTwoInput = (bits & (1L << 15)) != 0,
        PowerOfTwoGradient = (bits & (1L << 16)) != 0,
    };
}
