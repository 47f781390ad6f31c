// LinearShape.cs: the shapes of a low-precision Linear op (Bf16LinearOp, Fp8LinearOp): x (..., in) and a weight
// (out, in), both F32 masters, checked once, and the (..., out) output allocated. Tested through Fp8LinearOpTests.
using SharpSeek.Tensors.Autograd;

namespace SharpSeek.Tensors.Ops;

internal static class LinearShape
{
    /// <summary>Checks x and the weight, and allocates y (..., out) on the tape's arena.</summary>
    public static (int Rows, int Out, int In, Tensor Y) Output(Tape tape, Tensor x, Tensor weight, string op)
    {
        if (x.DType != DType.F32 || weight.DType != DType.F32 || weight.Rank != 2 || x.Rank < 1 || x.Shape.Last != weight.Size(1))
        {
            throw new ArgumentException($"{op}: expected x (..., in) and weight (out, in), both F32; got x {x.DType} {x.Shape}, weight {weight.DType} {weight.Shape}");
        }
        Span<long> dims = stackalloc long[x.Rank];
        for (var i = 0; i < x.Rank - 1; i++) { dims[i] = x.Size(i); }
        dims[^1] = weight.Size(0);
        return ((int)x.Shape.Rows, (int)weight.Size(0), (int)weight.Size(1), tape.Arena.Allocate(DType.F32, new Shape(dims)));
    }
}
