// Fp8SwiGluOpTests.cs: the FP8 SwiGLU feed-forward with its inputs cached in FP8. The forward equals the unfused chain
// (Fp8LinearOp, SwiGluOp, Fp8LinearOp) bit for bit; the backward equals its definition: the SwiGLU output recomputed
// from the dequantized cached gate and up values, the down projection's gradients through Fp8LinearOp over that output,
// the SwiGLU backward at the cached values, then the gate and up projections' gradients; the weight gradients bit for
// bit, dX to float rounding (two accumulations). Besides the output, it keeps under a third of the chain's bytes after
// the forward; it agrees with the F32 feed-forward by DeepGEMM's measure (3 FP8 GEMMs: 5e-3); a NaN input fails clearly.
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;
using SharpSeek.Tensors.Ops;
using static SharpSeek.Tensors.Tests.Fp8LinearOpTests;

namespace SharpSeek.Tensors.Tests;

[Trait("Category", "Kernels")]
public sealed class Fp8SwiGluOpTests
{
    private sealed record Weights(Tensor Gate, Tensor Up, Tensor Down);

    private static Weights RandomWeights(Arena arena, int d, int inter) =>
        new(Random(arena, 11, 0.2f, inter, d), Random(arena, 12, 0.2f, inter, d), Random(arena, 13, 0.2f, d, inter));

    // y, dX, dGate, dUp, dDown through the fused op, the unfused FP8 chain, or F32 matmuls.
    private static (float[] Y, float[] Dx, float[] Dg, float[] Du, float[] Dd) Step(Arena arena, Tensor x, Weights w, Tensor dy, string path)
    {
        var tape = new Tape(arena);
        var (dg, du, dd) = (arena.Allocate(DType.F32, w.Gate.Shape), arena.Allocate(DType.F32, w.Up.Shape), arena.Allocate(DType.F32, w.Down.Shape));
        var (xv, g, u, d) = (tape.Input(x), tape.Leaf(w.Gate, dg), tape.Leaf(w.Up, du), tape.Leaf(w.Down, dd));
        var y = path switch
        {
            "fused" => Fp8SwiGluOp.Apply(tape, xv, g, u, d),
            "chain" => Fp8LinearOp.Apply(tape, SwiGluOp.Apply(tape, Fp8LinearOp.Apply(tape, xv, g), Fp8LinearOp.Apply(tape, xv, u)), d),
            _ => MatmulOp.Apply(tape, SwiGluOp.Apply(tape, MatmulOp.Apply(tape, xv, g, transposeB: true), MatmulOp.Apply(tape, xv, u, transposeB: true)), d, transposeB: true),
        };
        tape.Backward(y, dy);
        return (tape.Value(y).AsSpan<float>().ToArray(), tape.Grad(xv).AsSpan<float>().ToArray(), dg.AsSpan<float>().ToArray(), du.AsSpan<float>().ToArray(), dd.AsSpan<float>().ToArray());
    }

    // The backward's definition, from Fp8LinearOp steps: g, u from the forward, their FP8 round trip, a = swiglu of those.
    private static (float[] Dx, float[] Dg, float[] Du, float[] Dd) Definition(Arena arena, Tensor x, Weights w, Tensor dy, int rows, int d, int inter)
    {
        float[] Linear(Tensor input, Tensor weight, ReadOnlySpan<float> grad, out float[] dInput, out float[] dWeight)
        {
            var tape = new Tape(arena);
            var dWt = arena.Allocate(DType.F32, weight.Shape);
            var iv = tape.Input(input);
            var y = Fp8LinearOp.Apply(tape, iv, tape.Leaf(weight, dWt));
            var seed = arena.Allocate(DType.F32, tape.Value(y).Shape);
            grad.CopyTo(seed.AsSpan<float>());
            tape.Backward(y, seed);
            (dInput, dWeight) = (tape.Grad(iv).AsSpan<float>().ToArray(), dWt.AsSpan<float>().ToArray());
            return tape.Value(y).AsSpan<float>().ToArray();
        }
        float[] RoundTrip(float[] v)
        {
            var (q, s, back) = (new Float8E4M3[v.Length], new float[rows * Fp8Quant.Tiles(inter)], new float[v.Length]);
            Fp8Quant.QuantizeActivations(v, rows, inter, q, s);
            Fp8Quant.DequantizeActivations(q, s, rows, inter, back);
            return back;
        }
        var zeros = new float[rows * inter];
        var g = RoundTrip(Linear(x, w.Gate, zeros, out _, out _));
        var u = RoundTrip(Linear(x, w.Up, zeros, out _, out _));
        var a = arena.Allocate(DType.F32, new Shape(rows, inter));
        SwiGlu.Forward<float>(g, u, a.AsSpan<float>());
        Linear(a, w.Down, dy.AsSpan<float>(), out var da, out var dDown);
        var (dGate, dUp) = (new float[rows * inter], new float[rows * inter]);
        SwiGlu.Backward<float>(da, g, u, dGate, dUp);
        Linear(x, w.Gate, dGate, out var dxGate, out var dWg);
        Linear(x, w.Up, dUp, out var dxUp, out var dWu);
        return ([.. dxGate.Zip(dxUp, (p, q) => p + q)], dWg, dWu, dDown);
    }

    [Theory]
    [InlineData(5, 200, 96)]   // an expert's 96-wide hidden layer: one partial tile
    [InlineData(130, 256, 160)] // an edge tile along every axis
    public void ForwardMatchesTheChain_BackwardMatchesItsDefinition(int rows, int d, int inter)
    {
        using var arena = new Arena("fp8-swiglu");
        var x = Random(arena, rows + d, 2f, rows, d);
        var w = RandomWeights(arena, d, inter);
        var dy = Random(arena, 3, 1f, rows, d);
        var fused = Step(arena, x, w, dy, "fused");
        var chain = Step(arena, x, w, dy, "chain");
        Assert.Equal(chain.Y, fused.Y);
        var (dx, dg, du, dd) = Definition(arena, x, w, dy, rows, d, inter);
        Assert.Equal(dd, fused.Dd);
        Assert.Equal(dg, fused.Dg);
        Assert.Equal(du, fused.Du);
        for (var i = 0; i < dx.Length; i++) { Assert.True(Math.Abs(dx[i] - fused.Dx[i]) <= 1e-5f * (1 + Math.Abs(dx[i])), $"dX[{i}]: {fused.Dx[i]} vs {dx[i]}"); }
        Assert.NotEqual(chain.Dg, fused.Dg);                                          // the cache is really read: FP8 g and u, not F32

        var f32 = Step(arena, x, w, dy, "f32");
        foreach (var (a, b, what) in new[] { (fused.Y, f32.Y, "y"), (fused.Dx, f32.Dx, "dX"), (fused.Dg, f32.Dg, "dGate"), (fused.Du, f32.Du, "dUp"), (fused.Dd, f32.Dd, "dDown") })
        {
            double xy = 0, sq = 0;
            for (var i = 0; i < a.Length; i++) { xy += (double)a[i] * b[i]; sq += ((double)a[i] * a[i]) + ((double)b[i] * b[i]); }
            Assert.True(1 - (2 * xy / sq) < 5e-3, $"{what}: calc_diff {1 - (2 * xy / sq)}"); // three FP8 GEMMs in a row
        }
    }

    [Fact]
    public void KeepsAThirdOfTheChainsBytes_BesidesTheOutput()
    {
        const int rows = 256, d = 256, inter = 96;
        using var weights = new Arena("weights");
        var x = Random(weights, 1, 2f, rows, d);
        var w = RandomWeights(weights, d, inter);
        long Kept(string path)
        {
            using var arena = new Arena("step");
            var tape = new Tape(arena);
            var (xv, g, u, dn) = (tape.Input(x), tape.Leaf(w.Gate, weights.Allocate(DType.F32, w.Gate.Shape)), tape.Leaf(w.Up, weights.Allocate(DType.F32, w.Up.Shape)), tape.Leaf(w.Down, weights.Allocate(DType.F32, w.Down.Shape)));
            _ = path == "fused" ? Fp8SwiGluOp.Apply(tape, xv, g, u, dn)
                : Fp8LinearOp.Apply(tape, SwiGluOp.Apply(tape, Fp8LinearOp.Apply(tape, xv, g), Fp8LinearOp.Apply(tape, xv, u)), dn);
            return arena.UsedBytes;
        }
        var (fused, chain) = (Kept("fused"), Kept("chain"));
        var expected = (rows * d * 4L) + (rows * d) + (2L * rows * inter);              // y, x's codes, gate and up codes (+ scales)
        Assert.InRange(fused, expected, expected + (rows * 64L) + 4096);
        var output = rows * d * 4L;                                                   // both keep y
        Assert.True(fused - output < (chain - output) / 3, $"besides y, fused keeps {fused - output} bytes, the chain {chain - output}");
    }

    [Fact]
    public void NaNInput_FailsNamingIt()
    {
        using var arena = new Arena("fp8-swiglu");
        var x = Random(arena, 1, 1f, 3, 64);
        x.AsSpan<float>()[70] = float.NaN;
        var w = RandomWeights(arena, 64, 32);
        var tape = new Tape(arena);
        var e = Assert.Throws<NonFiniteTensorException>(() => Fp8SwiGluOp.Apply(tape, tape.Input(x), tape.Constant(w.Gate), tape.Constant(w.Up), tape.Constant(w.Down)));
        Assert.Contains("the FP8 SwiGLU's input", e.Message, StringComparison.Ordinal);
    }
}
