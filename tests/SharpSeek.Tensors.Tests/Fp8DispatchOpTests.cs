// Fp8DispatchOpTests.cs: the MoE dispatch in FP8 (DeepSeek-V3 §3.3.3): the dispatched values are E4M3 codes times
// power-of-two 1×128 scales and the gradient passes back unchanged; the gradient form is the identity forward and
// quantizes the gradient the same way; an expert Linear told its input (or dY) is on a power-of-two grid computes with
// exactly the values that crossed, bit for bit against the GEMM's definition over those codes, where the default recipe
// would quantize them a second time, and its Wgrad is untouched; the recipe refuses the dispatch without 1×128 tiles; a
// NaN fails naming what held it.
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Tensors.Tests;

public sealed class Fp8DispatchOpTests
{
    // (rows, cols) → the values of their E4M3 codes with power-of-two 1×128 scales, and the codes and scales.
    private static (float[] Values, Float8E4M3[] Codes, float[] Scales) Crossed(ReadOnlySpan<float> x, int rows, int cols)
    {
        var (q, s, v) = (new Float8E4M3[rows * cols], new float[rows * Fp8Quant.Tiles(cols)], new float[rows * cols]);
        Fp8Quant.QuantizeActivations(x, rows, cols, q, s, powerOfTwoScales: true);
        Fp8Quant.DequantizeActivations(q, s, rows, cols, v);
        return (v, q, s);
    }

    private static int[] Bits(ReadOnlySpan<float> v) => [.. v.ToArray().Select(BitConverter.SingleToInt32Bits)];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DispatchedValues_AreTheCodesTheReceiverReads_AndOneDirectionQuantizes(bool gradientForm)
    {
        const int Rows = 37, Cols = 300;
        using var arena = new Arena("fp8-dispatch");
        var x = Fp8LinearOpTests.Random(arena, 1, 3f, Rows, Cols);
        var g = Fp8LinearOpTests.Random(arena, 2, 0.01f, Rows, Cols);
        var tape = new Tape(arena);
        var dx = arena.Allocate(DType.F32, x.Shape);
        var xv = tape.Leaf(x, dx);
        var y = gradientForm ? Fp8DispatchOp.ApplyToGradient(tape, xv) : Fp8DispatchOp.Apply(tape, xv);
        tape.Backward(y, g);
        var (crossedX, crossedG) = (Crossed(x.AsSpan<float>(), Rows, Cols), Crossed(g.AsSpan<float>(), Rows, Cols));
        Assert.All(crossedX.Scales.Concat(crossedG.Scales), s => Assert.Equal(Fp8Quant.CeilToPowerOfTwo(s), s));
        Assert.Equal(gradientForm ? Bits(x.AsSpan<float>()) : Bits(crossedX.Values), Bits(tape.Value(y).AsSpan<float>()));
        Assert.Equal(gradientForm ? Bits(crossedG.Values) : Bits(g.AsSpan<float>()), Bits(dx.AsSpan<float>()));
        Assert.NotEqual(Bits(x.AsSpan<float>()), Bits(crossedX.Values));                    // the quantization did happen
    }

    [Theory]
    [InlineData("")]
    [InlineData("exact")]
    public void AnExpertTold_ComputesWithTheValuesThatCrossed_BitForBit(string sumText)
    {
        // Tile 0 of rows 0..2 has its max-abs 230/64, just above 224·2^-6: its E4M3 code rounds down to 224, so quantizing
        // the crossed values again halves the scale and doubles the codes, the same values.
        const int Rows = 140, K = 260, N = 96;
        var recipe = Fp8Recipe.Parse(sumText);
        using var arena = new Arena("fp8-dispatch-expert");
        var x = Fp8LinearOpTests.Random(arena, 3, 2f, Rows, K);
        for (var r = 0; r < 3; r++)
        {
            var tile = x.AsSpan<float>().Slice(r * K, 128);
            foreach (ref var v in tile) { v = Math.Clamp(v, -3f, 3f); }
            tile[0] = 230f / 64;
        }
        var w = Fp8LinearOpTests.Random(arena, 4, 0.2f, N, K);
        var g = Fp8LinearOpTests.Random(arena, 5, 1f, Rows, N);
        var crossed = Crossed(x.AsSpan<float>(), Rows, K);
        var crossedG = Crossed(g.AsSpan<float>(), Rows, N);
        var (wq, ws) = (new Float8E4M3[N * K], new float[Fp8Quant.Tiles(N) * Fp8Quant.Tiles(K)]);
        Fp8Quant.QuantizeWeightBlocks(w.AsSpan<float>(), N, K, wq, ws);
        var wRows = new float[N * Fp8Quant.Tiles(K)];
        Fp8Gemm.RowScales(ws, N, K, wRows);

        (float[] Y, float[] Dx, float[] Dw) Run(Fp8Recipe r, float[] input, float[] grad)
        {
            var tape = new Tape(arena);
            var (dx, dw) = (arena.Allocate(DType.F32, new Shape(Rows, K)), arena.Allocate(DType.F32, w.Shape));
            var xv = tape.Leaf(arena.FromSpan<float>(input, Rows, K), dx);
            var y = Fp8LinearOp.Apply(tape, xv, tape.Leaf(w, dw), r);
            tape.Backward(y, arena.FromSpan<float>(grad, Rows, N));
            return (tape.Value(y).AsSpan<float>().ToArray(), dx.AsSpan<float>().ToArray(), dw.AsSpan<float>().ToArray());
        }

        // Fprop over the crossed codes: the F32 sum's definition (dequantized codes, the packed GEMM) or the exact one.
        var expected = new float[Rows * N];
        if (recipe.Sum == Fp8Sum.Exact) { Fp8Gemm.Reference(crossed.Codes, crossed.Scales, wq, wRows, expected, Rows, N, K); }
        else
        {
            var wd = new float[N * K];
            Fp8Quant.DequantizeWeightBlocks(wq, ws, N, K, wd);
            Matmul.Gemm<float>(crossed.Values, wd, expected, Rows, N, K, transposeB: true);
        }
        var told = Run(recipe with { PowerOfTwoInput = true }, crossed.Values, g.AsSpan<float>().ToArray());
        Assert.Equal(Bits(expected), Bits(told.Y));
        Assert.NotEqual(Bits(expected), Bits(Run(recipe, crossed.Values, g.AsSpan<float>().ToArray()).Y)); // quantized a second time

        // Dgrad with dY on its power-of-two grid: the same as quantizing the original dY with power-of-two scales.
        var dgrad = Run(recipe with { PowerOfTwoGradient = true }, x.AsSpan<float>().ToArray(), crossedG.Values);
        var reference = Run(recipe with { PowerOfTwoScales = true }, x.AsSpan<float>().ToArray(), g.AsSpan<float>().ToArray());
        var plain = Run(recipe, x.AsSpan<float>().ToArray(), g.AsSpan<float>().ToArray());
        Assert.Equal(Bits(plain.Y), Bits(dgrad.Y));                                         // Fprop untouched
        Assert.NotEqual(Bits(plain.Dx), Bits(dgrad.Dx));
        Assert.Equal(Bits(reference.Dx), Bits(dgrad.Dx));
        Assert.Equal(Bits(plain.Dw), Bits(Run(recipe with { PowerOfTwoGradient = true }, x.AsSpan<float>().ToArray(), g.AsSpan<float>().ToArray()).Dw)); // Wgrad's dY untouched

        // The same holds where Dgrad's dY is quantized once for both GEMMs (one scale per tensor): Wgrad keeps its own.
        var perTensor = recipe with { PerTensorScales = true };
        var (plainTensor, toldTensor) = (Run(perTensor, x.AsSpan<float>().ToArray(), g.AsSpan<float>().ToArray()), Run(perTensor with { PowerOfTwoGradient = true }, x.AsSpan<float>().ToArray(), g.AsSpan<float>().ToArray()));
        Assert.Equal(Bits(plainTensor.Dw), Bits(toldTensor.Dw));
        Assert.NotEqual(Bits(plainTensor.Dx), Bits(toldTensor.Dx));
    }

    [Fact]
    public void TheRecipe_RefusesDispatchWithoutTiles()
    {
        Assert.True(Fp8Recipe.Parse("fp8-dispatch,swiglu-cache,o-proj-e5m6").Fp8Dispatch);
        foreach (var other in new[] { "tensor-scales", "block-gradients" })
        {
            var e = Assert.Throws<ArgumentException>(() => Fp8Recipe.Parse($"fp8-dispatch,{other}"));
            Assert.Contains("cannot be combined with tensor-scales or block-gradients", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void NonFiniteActivationsOrGradients_FailNamingThem()
    {
        using var arena = new Arena("fp8-dispatch-nan");
        var x = Fp8LinearOpTests.Random(arena, 6, 1f, 4, 130);
        x.AsSpan<float>()[(2 * 130) + 129] = float.NaN;
        var tape = new Tape(arena);
        var error = Assert.Throws<NonFiniteTensorException>(() => Fp8DispatchOp.Apply(tape, tape.Input(x)));
        Assert.Contains("the MoE dispatch's activations holds a NaN or infinite value in row 2, tile 1", error.Message, StringComparison.Ordinal);
        x.AsSpan<float>()[(2 * 130) + 129] = 1f;
        var g = Fp8LinearOpTests.Random(arena, 7, 1f, 4, 130);
        g.AsSpan<float>()[5] = float.PositiveInfinity;
        var dx = arena.Allocate(DType.F32, x.Shape);
        var tape2 = new Tape(arena);
        var y = Fp8DispatchOp.ApplyToGradient(tape2, tape2.Leaf(x, dx));
        var backward = Assert.Throws<NonFiniteTensorException>(() => tape2.Backward(y, g));
        Assert.Contains("the activation gradient before the MoE down projections holds a NaN or infinite value in row 0, tile 0", backward.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Fp8DispatchOp.Apply(tape, tape.Input(arena.Allocate(DType.F64, new Shape(2, 3)))));
    }
}
