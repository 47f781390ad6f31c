// RopeOp.cs: rotary position embedding (interleaved pairs or rotate-half, Kernels/RopeLayout.cs) on the tape. The cos/sin tables and positions are
// constants (YaRN or plain frequencies are the caller's choice). Tested by OpGradientTests.
using System.Numerics;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Ops;

public static class RopeOp
{
    /// <summary>
    /// Rotates each pair of every head by positions[t]·θ_i: (x[2i], x[2i+1]) for <see cref="RopeLayout.Interleaved"/>,
    /// (x[i], x[i + d/2]) for <see cref="RopeLayout.Half"/>. x: (..., H, d) with one position per token
    /// (I32, x.ElementCount / (H·d) of them); cos, sin: (maxPos, d/2). With <paramref name="leading"/> > 0, x is
    /// (..., H, leading + d): each head's first <paramref name="leading"/> entries pass through and the last d are
    /// rotated, so MLA's query [q_nope | q_pe] needs no narrow and concat.
    /// </summary>
    public static Var Apply(Tape tape, Var x, Tensor cos, Tensor sin, Tensor positions, int leading = 0, RopeLayout layout = RopeLayout.Interleaved)
    {
        var xv = tape.Value(x);
        Expect.FloatingPoint(xv, "rope", "x");
        Expect.Int32(positions, "rope", "positions");
        if (xv.Rank < 2) { throw new ArgumentException($"rope: x must be (..., H, d); got {xv.Shape}"); }
        if (leading < 0 || leading >= xv.Size(-1))
        {
            throw new ArgumentException($"rope: leading must be in [0, {xv.Size(-1)}) (the head dim of x {xv.Shape}); got {leading}");
        }
        int heads = (int)xv.Size(-2), headDim = (int)xv.Size(-1) - leading;
        if (cos.DType != xv.DType || sin.DType != xv.DType)
        {
            throw new ArgumentException($"rope: tables {cos.DType}/{sin.DType} must have the dtype of x ({xv.DType})");
        }
        var y = tape.Arena.Allocate(xv.DType, xv.Shape);
        var pos = positions.AsSpan<int>();
        if (y.DType == DType.F64) { Rope.Forward<double>(xv.AsSpan<double>(), cos.AsSpan<double>(), sin.AsSpan<double>(), pos, heads, leading, headDim, y.AsSpan<double>(), layout); }
        else { Rope.Forward<float>(xv.AsSpan<float>(), cos.AsSpan<float>(), sin.AsSpan<float>(), pos, heads, leading, headDim, y.AsSpan<float>(), layout); }
        var node = new Node(OpKind.Rope, default, x) { Saved0 = cos, Saved1 = sin, Saved2 = positions, I0 = heads, I1 = headDim, I2 = leading, Flag0 = layout == RopeLayout.Half };
        return Expect.Record(tape, y, node, tape.ShouldRecord(x));
    }

    internal static void Backward(Tape tape, in Node node)
    {
        if (tape.Value(node.Out).DType == DType.F64) { Backward<double>(tape, in node); } else { Backward<float>(tape, in node); }
    }

    // forward: y = R(p·θ)·x per pair, R orthogonal  ⇒  dx = R(−p·θ)·dy (leading entries: dx = dy)
    private static void Backward<T>(Tape tape, in Node node) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var dx = tape.GradTarget(node.A);
        if (!dx.IsValid) { return; }
        Rope.Backward<T>(tape.Grad(node.Out).AsSpan<T>(), node.Saved0.AsSpan<T>(), node.Saved1.AsSpan<T>(), node.Saved2.AsSpan<int>(), node.I0, node.I2, node.I1, dx.AsSpan<T>(), node.Flag0 ? RopeLayout.Half : RopeLayout.Interleaved);
        tape.FinishGrad(node.A, dx);
    }
}
