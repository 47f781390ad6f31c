// Fp8LinearOpTests.cs: the FP8 Linear's three GEMMs against their definitions, bit for bit, for the paper's recipe (f32
// sums) and its variants (exact block sums, the emulated ~14-bit accumulator with and without promotion, per-tensor
// scales, 128×128 gradient blocks, power-of-two scales): the forward over 1×128-quantized x and the 128×128-quantized
// weight; Dgrad over 1×128-quantized dY and the transposed weight blocks; Wgrad over the 1×128 tiles of dYᵀ and of x
// read back from its FP8 cache and transposed (the op reads them in 128×1 tiles untransposed and decodes the weight
// while the GEMM packs it: the same sums). The recipe's names parse and round-trip; the op gives its temporaries back
// to the arena. Against the f32 op, output and both gradients agree by DeepGEMM's acceptance measure; a NaN or infinity
// in x or dY fails clearly. The BF16 baseline (Bf16LinearOp) rounds each GEMM's inputs to BF16 and no more.
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;
using SharpSeek.Tensors.Ops;
using static SharpSeek.Tensors.Tests.Fp8GemmTests;

namespace SharpSeek.Tensors.Tests;

[Trait("Category", "Kernels")]
public sealed class Fp8LinearOpTests
{
    internal static Tensor Random(Arena arena, int seed, float spread, params long[] dims)
    {
        var t = arena.Allocate(DType.F32, new Shape(dims));
        var rng = new Random(seed);
        var s = t.AsSpan<float>();
        for (var i = 0; i < s.Length; i++) { s[i] = (float)(rng.NextDouble() - 0.5) * spread * (rng.Next(16) == 0 ? 8 : 1); }
        return t;
    }

    // An activation-like operand (rows, cols): 1×128 tiles, or one scale for the tensor.
    private static (Float8E4M3[] Codes, float[] Scales) Tiles(ReadOnlySpan<float> x, int rows, int cols, Fp8Recipe recipe = default)
    {
        var (q, s) = (new Float8E4M3[rows * cols], new float[rows * Fp8Quant.Tiles(cols)]);
        if (recipe.PerTensorScales) { Fp8Quant.QuantizeTensor(x, rows, cols, q, s, recipe.PowerOfTwoScales); }
        else { Fp8Quant.QuantizeActivations(x, rows, cols, q, s, recipe.PowerOfTwoScales); }
        return (q, s);
    }

    // A weight-like operand (n, k) in 128×128 blocks (or one scale), as the GEMM reads it: its own rows, or its
    // transpose's (k, n), whose blocks keep their codes and scales.
    private static (Float8E4M3[] Codes, float[] RowScales) Blocks(ReadOnlySpan<float> w, int n, int k, bool transpose, Fp8Recipe recipe)
    {
        if (recipe.PerTensorScales) { return transpose ? Tiles(Transpose(w, n, k), k, n, recipe) : Tiles(w, n, k, recipe); }
        var (q, blocks) = (new Float8E4M3[n * k], new float[Fp8Quant.Tiles(n) * Fp8Quant.Tiles(k)]);
        Fp8Quant.QuantizeWeightBlocks(w, n, k, q, blocks);
        if (!transpose)
        {
            var rows = new float[n * Fp8Quant.Tiles(k)];
            Fp8Gemm.RowScales(blocks, n, k, rows);
            return (q, rows);
        }
        var qt = new Float8E4M3[k * n];
        for (var r = 0; r < n; r++)
        {
            for (var c = 0; c < k; c++) { qt[(c * n) + r] = q[(r * k) + c]; }
        }
        var rowsT = new float[k * Fp8Quant.Tiles(n)];
        for (var c = 0; c < k; c++)
        {
            for (var blk = 0; blk < Fp8Quant.Tiles(n); blk++) { rowsT[(c * Fp8Quant.Tiles(n)) + blk] = blocks[(blk * Fp8Quant.Tiles(k)) + (c / 128)]; }
        }
        return (qt, rowsT);
    }

    private static float[] Transpose(ReadOnlySpan<float> x, int rows, int cols)
    {
        var t = new float[x.Length];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < cols; c++) { t[(c * rows) + r] = x[(r * cols) + c]; }
        }
        return t;
    }

    // The recipe's GEMM by its definition: the exact block sums (Fp8Gemm.Reference) or both operands dequantized and
    // multiplied by the f32 GEMM.
    private static float[] Product((Float8E4M3[] Q, float[] S) a, (Float8E4M3[] Q, float[] S) b, int m, int n, int k, Fp8Sum sum)
    {
        var c = new float[m * n];
        if (sum != Fp8Sum.F32)
        {
            var accumulator = sum switch { Fp8Sum.Hopper => Fp8Accumulator.Hopper, Fp8Sum.HopperUnpromoted => Fp8Accumulator.HopperUnpromoted, _ => default };
            Fp8Gemm.Reference(a.Q, a.S, b.Q, b.S, c, m, n, k, accumulator);
            return c;
        }
        var (da, db) = (new float[m * k], new float[n * k]);
        Fp8Quant.DequantizeActivations(a.Q, a.S, m, k, da);
        Fp8Quant.DequantizeActivations(b.Q, b.S, n, k, db);
        Matmul.Gemm<float>(da, db, c, m, n, k, transposeB: true);
        return c;
    }

    // One step through the op: y, dX and dW for the output gradient g.
    private static (float[] Y, float[] Dx, float[] Dw) Step(Arena arena, Tensor x, Tensor w, Tensor g, bool fp8, bool bf16 = false, Fp8Recipe recipe = default)
    {
        var tape = new Tape(arena);
        var dw = arena.Allocate(DType.F32, w.Shape);
        var (xv, wv) = (tape.Input(x), tape.Leaf(w, dw));
        var y = fp8 ? Fp8LinearOp.Apply(tape, xv, wv, recipe) : bf16 ? Bf16LinearOp.Apply(tape, xv, wv) : MatmulOp.Apply(tape, xv, wv, transposeB: true);
        tape.Backward(y, g);
        return (tape.Value(y).AsSpan<float>().ToArray(), tape.Grad(xv).AsSpan<float>().ToArray(), dw.AsSpan<float>().ToArray());
    }

    public static TheoryData<int, int, int, string> Shapes()
    {
        var data = new TheoryData<int, int, int, string>();
        foreach (var recipe in new[] { "", "exact", "tensor-scales", "block-gradients", "pow2-scales", "tensor-scales,pow2-scales", "exact,block-gradients,pow2-scales", "hopper-accumulator", "no-promotion,pow2-scales" })
        {
            data.Add(3, 130, 200, recipe);
            data.Add(20, 64, 129, recipe);
            data.Add(140, 256, 96, recipe);
            data.Add(300, 260, 130, recipe);                                                        // the packed GEMM's blocked paths
            data.Add(20, 140, 3, recipe);                                                           // Wgrad with 3 outputs: the NT form's few-row GEMV
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ThreeGemms_AreTheRecipesDefinitions_BitForBit(int rows, int k, int n, string recipeText)
    {
        var recipe = Fp8Recipe.Parse(recipeText);
        using var arena = new Arena("fp8-linear");
        var x = Random(arena, rows + k, 2f, 1, rows, k);                                          // (1, rows, k): leading dims
        var w = Random(arena, n, 0.2f, n, k);
        var g = Random(arena, rows * n, 1f, 1, rows, n);
        var (y, dx, dw) = Step(arena, x, w, g, fp8: true, recipe: recipe);

        var xt = Tiles(x.AsSpan<float>(), rows, k, recipe);
        AssertBitwise(Product(xt, Blocks(w.AsSpan<float>(), n, k, transpose: false, recipe), rows, n, k, recipe.Sum), y, "y");

        // Dgrad: dY in tiles along n (or 128×128 blocks); Wᵀ's codes and its transposed block scales expanded to its rows.
        var gq = recipe.BlockGradients ? Blocks(g.AsSpan<float>(), rows, n, transpose: false, recipe) : Tiles(g.AsSpan<float>(), rows, n, recipe);
        AssertBitwise(Product(gq, Blocks(w.AsSpan<float>(), n, k, transpose: true, recipe), rows, k, n, recipe.Sum), dx, "dX");

        // Wgrad: dYᵀ and the FP8-cached x, dequantized and transposed, each in tiles along the tokens (dY's blocks transposed).
        var xBack = new float[rows * k];
        Fp8Quant.DequantizeActivations(xt.Codes, xt.Scales, rows, k, xBack);
        var gtq = recipe.BlockGradients ? Blocks(g.AsSpan<float>(), rows, n, transpose: true, recipe) : Tiles(Transpose(g.AsSpan<float>(), rows, n), n, rows, recipe);
        AssertBitwise(Product(gtq, Tiles(Transpose(xBack, rows, k), k, rows, recipe), n, k, rows, recipe.Sum), dw, "dW");
    }

    [Theory]
    [InlineData(5, 140, 7)]
    [InlineData(130, 256, 96)]
    public void E5M6Cache_LeavesFpropAndDgrad_AndWgradReadsTheE5M6RoundTrip(int rows, int k, int n)
    {
        using var arena = new Arena("fp8-linear-e5m6");
        var x = Random(arena, rows + k, 2f, rows, k);
        var w = Random(arena, n, 0.2f, n, k);
        var g = Random(arena, rows * n, 1f, rows, n);
        var plain = Step(arena, x, w, g, fp8: true);
        var tape = new Tape(arena);
        var dwt = arena.Allocate(DType.F32, w.Shape);
        var xv = tape.Input(x);
        var y = Fp8LinearOp.Apply(tape, xv, tape.Leaf(w, dwt), cacheE5M6: true);
        tape.Backward(y, g);
        Assert.Equal(plain.Y, tape.Value(y).AsSpan<float>().ToArray());
        Assert.Equal(plain.Dx, tape.Grad(xv).AsSpan<float>().ToArray());

        var (codes, scales, back) = (new ushort[rows * k], new float[rows * Fp8Quant.Tiles(k)], new float[rows * k]);
        FloatE5M6.QuantizeTiles(x.AsSpan<float>(), rows, k, codes, scales, "x");
        FloatE5M6.DequantizeTiles(codes, scales, rows, k, back);
        var gtq = Tiles(Transpose(g.AsSpan<float>(), rows, n), n, rows);
        AssertBitwise(Product(gtq, Tiles(Transpose(back, rows, k), k, rows), n, k, rows, Fp8Sum.F32), dwt.AsSpan<float>().ToArray(), "dW");
        Assert.NotEqual(plain.Dw, dwt.AsSpan<float>().ToArray());                                    // the E5M6 cache is what Wgrad read
    }

    [Fact]
    public void Recipe_ParsesItsNames_AndRejectsOthersNamingThem()
    {
        Assert.Equal(default, Fp8Recipe.Parse(""));
        var all = Fp8Recipe.Parse(" exact , tensor-scales,block-gradients,pow2-scales,swiglu-cache");
        Assert.Equal(new Fp8Recipe(Fp8Sum.Exact, PerTensorScales: true, BlockGradients: true, PowerOfTwoScales: true, CacheSwiGlu: true), all);
        Assert.Equal(all, Fp8Recipe.Parse(all.ToString()));
        Assert.Equal(all, Fp8Recipe.Unpack(all.Pack()));
        Assert.Equal(new Fp8Recipe(CacheSwiGlu: true), Fp8Recipe.Unpack(new Fp8Recipe(CacheSwiGlu: true).Pack()));
        Assert.Equal(new Fp8Recipe(KeepActivations: true), Fp8Recipe.Parse("keep-activations"));
        Assert.Equal(new Fp8Recipe(KeepActivations: true), Fp8Recipe.Unpack(new Fp8Recipe(KeepActivations: true).Pack()));
        Assert.Equal("keep-activations,swiglu-cache", Fp8Recipe.Normalize("swiglu-cache, keep-activations"));
        Assert.Equal(new Fp8Recipe(E5M6OProj: true), Fp8Recipe.Unpack(Fp8Recipe.Parse("o-proj-e5m6").Pack()));
        Assert.Equal(new Fp8Recipe(Fp8Dispatch: true), Fp8Recipe.Unpack(Fp8Recipe.Parse("fp8-dispatch").Pack()));
        var expert = new Fp8Recipe(Fp8Dispatch: true) { PowerOfTwoInput = true, PowerOfTwoGradient = true };     // set per Linear, not named
        Assert.Equal(expert, Fp8Recipe.Unpack(expert.Pack()));
        Assert.Equal("fp8-dispatch", expert.ToString());
        var e = Assert.Throws<ArgumentException>(() => Fp8Recipe.Parse("exact,14-bit"));
        Assert.Contains("unknown FP8 recipe choice '14-bit'", e.Message, StringComparison.Ordinal);
        Assert.Contains("exact, hopper-accumulator, no-promotion, tensor-scales, block-gradients, pow2-scales, keep-activations, swiglu-cache, o-proj-e5m6, fp8-dispatch", e.Message, StringComparison.Ordinal);
        foreach (var (text, sum) in new[] { ("hopper-accumulator", Fp8Sum.Hopper), ("no-promotion", Fp8Sum.HopperUnpromoted) })
        {
            Assert.Equal(new Fp8Recipe(sum), Fp8Recipe.Unpack(Fp8Recipe.Parse(text).Pack()));
            Assert.Equal(text, Fp8Recipe.Parse(text).ToString());
        }
        var two = Assert.Throws<ArgumentException>(() => Fp8Recipe.Parse("exact,no-promotion"));
        Assert.Contains("'no-promotion' and 'exact' both choose how a GEMM sums its products", two.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("fp8")]
    [InlineData("fp8:exact")]
    [InlineData("fp8:tensor-scales,block-gradients")]
    [InlineData("bf16")]
    public void TheOpsTemporaries_AreGivenBack_SoOnlyTheCacheStays(string mode)
    {
        // Forward keeps y and x's low-precision copy (E4M3 codes and a scale per 1×128 tile, or BF16); backward keeps dX
        // (dW is the caller's): nothing else of the quantized copies, transposes or dequantized values stays in the arena.
        using var arena = new Arena("fp8-linear");
        const int rows = 64, k = 256, n = 192;
        var (x, w, g) = (Random(arena, 1, 2f, rows, k), Random(arena, 2, 0.1f, n, k), Random(arena, 3, 1f, rows, n));
        var dw = arena.Allocate(DType.F32, w.Shape);
        var tape = new Tape(arena);
        var (xv, wv) = (tape.Input(x), tape.Leaf(w, dw));
        var before = arena.UsedBytes;
        var bf16 = mode == "bf16";
        var y = bf16 ? Bf16LinearOp.Apply(tape, xv, wv) : Fp8LinearOp.Apply(tape, xv, wv, Fp8Recipe.Parse(mode[Math.Min(mode.Length, 4)..]));
        Assert.Equal((rows * n * 4) + (bf16 ? rows * k * 2 : (rows * k) + (rows * 2 * 4)), arena.UsedBytes - before);
        var forward = arena.UsedBytes;
        tape.Backward(y, g);
        Assert.True(arena.UsedBytes - forward <= (rows * k * 4) + (rows * n * 4), $"backward kept {arena.UsedBytes - forward} bytes"); // dX and at most dY's own buffer
        Assert.True(arena.HighWaterBytes > arena.UsedBytes);                                      // the temporaries were there
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AgreesWithTheF32Op_ByDeepGemmsMeasure(bool bf16)
    {
        using var arena = new Arena("fp8-linear");
        const int rows = 256, k = 384, n = 320;
        var x = Random(arena, 1, 2f, rows, k);
        var w = Random(arena, 2, 0.1f, n, k);
        var g = Random(arena, 3, 1f, rows, n);
        var low = Step(arena, x, w, g, fp8: !bf16, bf16: bf16);
        var f32 = Step(arena, x, w, g, fp8: false);
        foreach (var (name, a, b) in new[] { ("y", low.Y, f32.Y), ("dX", low.Dx, f32.Dx), ("dW", low.Dw, f32.Dw) })
        {
            var diff = CalcDiff(a, b);
            Assert.True(diff < (bf16 ? 1e-5 : 1e-3) && diff > 0, $"{name}: diff {diff:E2}");  // a low-precision result that equalled f32 would mean no rounding happened
        }
    }

    [Fact]
    public void Bf16_RoundsEachGemmsInputs_ToNearestEven()
    {
        using var arena = new Arena("bf16-linear");
        const int rows = 9, k = 40, n = 11;
        var (x, w, g) = (Random(arena, 7, 2f, rows, k), Random(arena, 8, 0.1f, n, k), Random(arena, 9, 1f, rows, n));
        var (y, dx, dw) = Step(arena, x, w, g, fp8: false, bf16: true);
        static float[] Bf16(ReadOnlySpan<float> v)
        {
            var r = new float[v.Length];
            for (var i = 0; i < v.Length; i++) { r[i] = BFloat16.FromSingle(v[i]).ToSingle(); }
            return r;
        }
        var (xb, wb, gb) = (Bf16(x.AsSpan<float>()), Bf16(w.AsSpan<float>()), Bf16(g.AsSpan<float>()));
        var (ey, edx, edw) = (new float[rows * n], new float[rows * k], new float[n * k]);
        Matmul.Gemm<float>(xb, wb, ey, rows, n, k, transposeB: true);
        Matmul.Gemm<float>(gb, wb, edx, rows, k, n);
        Matmul.Gemm<float>(gb, xb, edw, n, k, rows, transposeA: true);
        AssertBitwise(ey, y, "y");
        AssertBitwise(edx, dx, "dX");
        AssertBitwise(edw, dw, "dW");
    }

    [Theory]
    [InlineData(float.NaN, false)]
    [InlineData(float.PositiveInfinity, false)]
    [InlineData(float.NaN, true)]
    public void NonFiniteInputOrGradient_FailsClearly(float bad, bool inGradient)
    {
        using var arena = new Arena("fp8-linear");
        var x = Random(arena, 4, 1f, 5, 140);
        var w = Random(arena, 5, 0.1f, 7, 140);
        var g = Random(arena, 6, 1f, 5, 7);
        (inGradient ? g : x).AsSpan<float>()[(2 * (inGradient ? 7 : 140)) + 3] = bad;
        var error = Assert.Throws<NonFiniteTensorException>(() => Step(arena, x, w, g, fp8: true));
        Assert.Contains(inGradient ? "output gradient holds a NaN or infinite value" : "input holds a NaN or infinite value in row 2, tile 0", error.Message, StringComparison.Ordinal);
    }
}
