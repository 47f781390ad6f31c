// RecomputeOpTests.cs: a recomputed region (norm, a matmul with a parameter, SwiGLU, a second input) gives the plain
// tape's output and gradients bit for bit, keeps only its output after the forward, gives its backward's memory back,
// does nothing for a region no gradient reaches, nests on its own second tape (re-entering the outer one is refused),
// and leaves the tape usable after a region throws.
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Tensors.Tests;

public sealed class RecomputeOpTests
{
    private static Tensor Random(Arena arena, int seed, params long[] dims)
    {
        var t = arena.Allocate(DType.F32, new Shape(dims));
        var rng = new Random(seed);
        var s = t.AsSpan<float>();
        for (var i = 0; i < s.Length; i++) { s[i] = (float)(rng.NextDouble() - 0.5); }
        return t;
    }

    private sealed record Parameters(Tensor W, Tensor DW, Tensor Norm, Tensor DNorm);

    // (x, z) → swiglu(rmsnorm(x)·Wᵀ, z), the parameters bound to whichever tape runs it.
    private static Var Region(Tape tape, Var x, Var z, Parameters p)
    {
        var w = tape.GradEnabled ? tape.Leaf(p.W, p.DW) : tape.Constant(p.W);
        var g = tape.GradEnabled ? tape.Leaf(p.Norm, p.DNorm) : tape.Constant(p.Norm);
        return SwiGluOp.Apply(tape, MatmulOp.Apply(tape, RmsNormOp.Apply(tape, x, g, 1e-6), w, transposeB: true), z);
    }

    private static (float[] Y, float[] Dx, float[] Dz, float[] DW, float[] DNorm, long Kept, long Grads) Step(bool recompute)
    {
        using var weights = new Arena("weights");
        var p = new Parameters(Random(weights, 1, 24, 40), weights.Allocate(DType.F32, new Shape(24, 40)), Random(weights, 2, 40), weights.Allocate(DType.F32, new Shape(40)));
        using var arena = new Arena("step");
        var tape = new Tape(arena);
        var x = tape.Input(Random(arena, 3, 2, 5, 40));
        var z = tape.Input(Random(arena, 4, 2, 5, 24));
        var before = arena.UsedBytes;
        var y = recompute ? RecomputeOp.Apply(tape, x, z, new Shape(2, 5, 24), (t, a, b) => Region(t, a, b, p)) : Region(tape, x, z, p);
        var kept = arena.UsedBytes - before;
        var loss = SumOp.Apply(tape, MulOp.Apply(tape, y, y));
        var beforeBackward = arena.UsedBytes;
        tape.Backward(loss);
        var grads = arena.UsedBytes - beforeBackward;
        return (tape.Value(y).AsSpan<float>().ToArray(), tape.Grad(x).AsSpan<float>().ToArray(), tape.Grad(z).AsSpan<float>().ToArray(), p.DW.AsSpan<float>().ToArray(), p.DNorm.AsSpan<float>().ToArray(), kept, grads);
    }

    [Fact]
    public void Region_MatchesThePlainTape_BitForBit_KeepingOnlyItsOutput()
    {
        var (plain, recomputed) = (Step(recompute: false), Step(recompute: true));
        Assert.Equal(plain.Y, recomputed.Y);
        Assert.Equal(plain.Dx, recomputed.Dx);
        Assert.Equal(plain.Dz, recomputed.Dz);
        Assert.Equal(plain.DW, recomputed.DW);
        Assert.Equal(plain.DNorm, recomputed.DNorm);
        Assert.Equal(2 * 5 * 24 * 4, recomputed.Kept);                                    // y alone
        Assert.True(plain.Kept > 3 * recomputed.Kept, $"the plain tape keeps {plain.Kept} bytes");
        Assert.InRange(recomputed.Grads, 4 * 2 * 5 * (40 + 24 + 24 + 24), (4 * 2 * 5 * (40 + 24 + 24 + 24)) + 2048); // x, z, y and y·y's gradients: the region's own are given back
        Assert.True(plain.Grads > recomputed.Grads + (4 * 2 * 5 * 24), $"the plain backward keeps {plain.Grads} bytes");
    }

    [Fact]
    public void RegionThatThrows_LeavesTheTapeUsable_AndAWrongShapeIsNamed()
    {
        using var arena = new Arena("step");
        var tape = new Tape(arena);
        var x = tape.Input(Random(arena, 3, 4, 8));
        Assert.Throws<InvalidOperationException>(() => RecomputeOp.Apply(tape, x, new Var(-1), new Shape(4, 8), (t, a, _) => throw new InvalidOperationException("boom")));
        var e = Assert.Throws<InvalidOperationException>(() => RecomputeOp.Apply(tape, x, new Var(-1), new Shape(4, 9), (t, a, _) => ScaleOp.Apply(t, a, 2)));
        Assert.Contains("expected F32 (4, 9)", e.Message, StringComparison.Ordinal);
        var y = RecomputeOp.Apply(tape, x, new Var(-1), new Shape(4, 8), (t, a, _) => ScaleOp.Apply(t, a, 2));
        tape.Backward(SumOp.Apply(tape, y));
        Assert.All(tape.Grad(x).AsSpan<float>().ToArray(), g => Assert.Equal(2f, g));
    }

    [Fact]
    public void RegionNoGradientReaches_LeavesTheInputsAlone_AndRegionsDoNotNest()
    {
        using var arena = new Arena("step");
        var tape = new Tape(arena);
        var x = tape.Input(Random(arena, 3, 4, 8));
        var c = tape.Constant(Random(arena, 5, 4, 8));
        var ignored = RecomputeOp.Apply(tape, c, new Var(-1), new Shape(4, 8), (t, a, _) => ScaleOp.Apply(t, a, 3)); // a constant in, no parameter
        var y = AddOp.Apply(tape, ScaleOp.Apply(tape, x, 2), ignored);
        var before = arena.UsedBytes;
        tape.Backward(SumOp.Apply(tape, y));
        Assert.All(tape.Grad(x).AsSpan<float>().ToArray(), g => Assert.Equal(2f, g));
        Assert.False(tape.RequiresGrad(c));
        Assert.True(arena.UsedBytes - before < 4096, "the region's backward ran nothing");

        // A region inside a region runs on the region's own second tape; re-entering the outer tape's is refused.
        using var arena2 = new Arena("nested");
        var tape2 = new Tape(arena2);
        var z = tape2.Input(Random(arena2, 7, 4, 8));
        var inner = RecomputeOp.Apply(tape2, z, new Var(-1), new Shape(4, 8),
            (t, a, _) => RecomputeOp.Apply(t, ScaleOp.Apply(t, a, 2), new Var(-1), new Shape(4, 8), (u, b, _) => MulOp.Apply(u, b, b)));
        tape2.Backward(SumOp.Apply(tape2, inner));                                      // d/dz Σ (2z)² = 8z
        var zs = tape2.Value(z).AsSpan<float>().ToArray();
        var dz = tape2.Grad(z).AsSpan<float>().ToArray();
        for (var i = 0; i < zs.Length; i++) { Assert.Equal(8 * zs[i], dz[i], 5); }
        var reentered = Assert.Throws<InvalidOperationException>(() => RecomputeOp.Apply(tape2, z, new Var(-1), new Shape(4, 8),
            (t, a, _) => RecomputeOp.Apply(tape2, z, new Var(-1), new Shape(4, 8), (u, b, _) => ScaleOp.Apply(u, b, 2))));
        Assert.Contains("do not nest", reentered.Message, StringComparison.Ordinal);
    }
}
