// Fp8LinearOpTests.cs: the FP8 Linear's three GEMMs against their definitions, bit for bit: the forward is Fp8Gemm's
// reference over 1×128-quantized x and the 128×128-quantized weight; Dgrad over 1×128-quantized dY and the transposed
// weight blocks; Wgrad over the 1×128 tiles of dYᵀ and of x read back from its FP8 cache and transposed. Against the
// f32 op, output and both gradients agree by DeepGEMM's acceptance measure; a NaN or infinity in x or dY fails clearly.
// The BF16 baseline (Bf16LinearOp) rounds each GEMM's inputs to BF16 and no more.
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;
using SharpSeek.Tensors.Ops;
using static SharpSeek.Tensors.Tests.Fp8GemmTests;

namespace SharpSeek.Tensors.Tests;

[Trait("Category", "Kernels")]
public sealed class Fp8LinearOpTests
{
    private static Tensor Random(Arena arena, int seed, float spread, params long[] dims)
    {
        var t = arena.Allocate(DType.F32, new Shape(dims));
        var rng = new Random(seed);
        var s = t.AsSpan<float>();
        for (var i = 0; i < s.Length; i++) { s[i] = (float)(rng.NextDouble() - 0.5) * spread * (rng.Next(16) == 0 ? 8 : 1); }
        return t;
    }

    private static (Float8E4M3[] Codes, float[] Scales) Tiles(ReadOnlySpan<float> x, int rows, int cols)
    {
        var (q, s) = (new Float8E4M3[rows * cols], new float[rows * Fp8Quant.Tiles(cols)]);
        Fp8Quant.QuantizeActivations(x, rows, cols, q, s);
        return (q, s);
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

    // One step through the op: y, dX and dW for the output gradient g.
    private static (float[] Y, float[] Dx, float[] Dw) Step(Arena arena, Tensor x, Tensor w, Tensor g, bool fp8, bool bf16 = false)
    {
        var tape = new Tape(arena);
        var dw = arena.Allocate(DType.F32, w.Shape);
        var (xv, wv) = (tape.Input(x), tape.Leaf(w, dw));
        var y = fp8 ? Fp8LinearOp.Apply(tape, xv, wv) : bf16 ? Bf16LinearOp.Apply(tape, xv, wv) : MatmulOp.Apply(tape, xv, wv, transposeB: true);
        tape.Backward(y, g);
        return (tape.Value(y).AsSpan<float>().ToArray(), tape.Grad(xv).AsSpan<float>().ToArray(), dw.AsSpan<float>().ToArray());
    }

    [Theory]
    [InlineData(3, 130, 200)]
    [InlineData(20, 64, 129)]
    [InlineData(140, 256, 96)]
    public void ThreeGemms_AreTheRecipesDefinitions_BitForBit(int rows, int k, int n)
    {
        using var arena = new Arena("fp8-linear");
        var x = Random(arena, rows + k, 2f, 1, rows, k);                                          // (1, rows, k): leading dims
        var w = Random(arena, n, 0.2f, n, k);
        var g = Random(arena, rows * n, 1f, 1, rows, n);
        var (y, dx, dw) = Step(arena, x, w, g, fp8: true);

        var (xq, xs) = Tiles(x.AsSpan<float>(), rows, k);
        var (wq, wBlocks) = (new Float8E4M3[n * k], new float[Fp8Quant.Tiles(n) * Fp8Quant.Tiles(k)]);
        Fp8Quant.QuantizeWeightBlocks(w.AsSpan<float>(), n, k, wq, wBlocks);
        var wRows = new float[n * Fp8Quant.Tiles(k)];
        Fp8Gemm.RowScales(wBlocks, n, k, wRows);
        var expectY = new float[rows * n];
        Fp8Gemm.Reference(xq, xs, wq, wRows, expectY, rows, n, k);
        AssertBitwise(expectY, y, "y");

        // Dgrad: dY tiles along n; Wᵀ's codes and its transposed block scales expanded to its rows.
        var (gq, gs) = Tiles(g.AsSpan<float>(), rows, n);
        var wtq = new Float8E4M3[k * n];
        for (var r = 0; r < n; r++)
        {
            for (var c = 0; c < k; c++) { wtq[(c * n) + r] = wq[(r * k) + c]; }
        }
        var wtRows = new float[k * Fp8Quant.Tiles(n)];
        for (var c = 0; c < k; c++)
        {
            for (var blk = 0; blk < Fp8Quant.Tiles(n); blk++) { wtRows[(c * Fp8Quant.Tiles(n)) + blk] = wBlocks[(blk * Fp8Quant.Tiles(k)) + (c / 128)]; }
        }
        var expectDx = new float[rows * k];
        Fp8Gemm.Reference(gq, gs, wtq, wtRows, expectDx, rows, k, n);
        AssertBitwise(expectDx, dx, "dX");

        // Wgrad: dYᵀ and the FP8-cached x, dequantized and transposed, each in tiles along the tokens.
        var xBack = new float[rows * k];
        Fp8Quant.DequantizeActivations(xq, xs, rows, k, xBack);
        var (gtq, gts) = Tiles(Transpose(g.AsSpan<float>(), rows, n), n, rows);
        var (xtq, xts) = Tiles(Transpose(xBack, rows, k), k, rows);
        var expectDw = new float[n * k];
        Fp8Gemm.Reference(gtq, gts, xtq, xts, expectDw, n, k, rows);
        AssertBitwise(expectDw, dw, "dW");
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
