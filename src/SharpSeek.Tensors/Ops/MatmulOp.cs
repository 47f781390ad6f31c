// MatmulOp.cs: C = op(A)·op(B) on the tape, with the three training GEMMs in backward. A may have leading batch dims
// (rows = everything but the last axis) when not transposed; B is a matrix. Not here: batched B. Tested by OpGradientTests.
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Ops;

public static class MatmulOp
{
    /// <summary>
    /// C = op(A)·op(B). A: (..., K) rows × K, or (K, M) when <paramref name="transposeA"/>; B: (K, N), or (N, K) when
    /// <paramref name="transposeB"/> (a Linear weight in the (out, in) layout). C: (..., N).
    /// </summary>
    public static Var Apply(Tape tape, Var a, Var b, bool transposeA = false, bool transposeB = false)
    {
        var av = tape.Value(a);
        var bv = tape.Value(b);
        if (av.DType != bv.DType)
        {
            throw new ArgumentException($"matmul: dtypes differ, A {av.DType} {av.Shape} vs B {bv.DType} {bv.Shape}");
        }
        if (bv.Rank != 2 || (transposeA && av.Rank != 2) || av.Rank < 1)
        {
            throw new ArgumentException($"matmul: A {av.Shape} and B {bv.Shape}: B must be a matrix, and A a matrix when transposed");
        }
        var (m, k) = transposeA ? (av.Size(1), av.Size(0)) : (av.Shape.Rows, av.Shape.Last);
        var (kb, n) = transposeB ? (bv.Size(1), bv.Size(0)) : (bv.Size(0), bv.Size(1));
        if (k != kb)
        {
            throw new ArgumentException($"matmul: inner dimensions differ, A {av.Shape}{(transposeA ? "ᵀ" : "")} vs B {bv.Shape}{(transposeB ? "ᵀ" : "")} ({k} vs {kb})");
        }
        Shape outShape;
        if (transposeA || av.Rank == 1)
        {
            outShape = av.Rank == 1 ? new Shape(n) : new Shape(m, n);
        }
        else
        {
            Span<long> dims = stackalloc long[av.Rank];
            for (var i = 0; i < av.Rank - 1; i++) { dims[i] = av.Size(i); }
            dims[^1] = n;
            outShape = new Shape(dims);
        }
        var c = tape.Arena.Allocate(av.DType, outShape);
        Gemm(av, bv, c, (int)m, (int)n, (int)k, transposeA, transposeB, accumulate: false);
        var node = new Node(OpKind.Matmul, default, a, b) { Flag0 = transposeA, Flag1 = transposeB, I0 = (int)m, I1 = (int)n, I2 = (int)k };
        return Expect.Record(tape, c, node, tape.ShouldRecord(a, b));
    }

    internal static void Backward(Tape tape, in Node node)
    {
        var av = tape.Value(node.A);
        var bv = tape.Value(node.B);
        var dc = tape.Grad(node.Out);
        var da = tape.GradOrDefault(node.A);
        var db = tape.GradOrDefault(node.B);
        int m = node.I0, n = node.I1, k = node.I2;
        bool ta = node.Flag0, tb = node.Flag1;
        // forward: C = op(A)·op(B)  ⇒  d op(A) = dC·op(B)ᵀ,  d op(B) = op(A)ᵀ·dC, written in the stored layouts:
        if (da.IsValid)
        {
            if (!ta && !tb) { Gemm(dc, bv, da, m, k, n, false, true, true); }       // dA (M,K) = dC·Bᵀ
            else if (!ta && tb) { Gemm(dc, bv, da, m, k, n, false, false, true); }  // dA (M,K) = dC·B
            else if (ta && !tb) { Gemm(bv, dc, da, k, m, n, false, true, true); }   // dA (K,M) = B·dCᵀ
            else { Gemm(bv, dc, da, k, m, n, true, true, true); }                   // dA (K,M) = Bᵀ·dCᵀ
        }
        if (db.IsValid)
        {
            if (!ta && !tb) { Gemm(av, dc, db, k, n, m, true, false, true); }       // dB (K,N) = Aᵀ·dC
            else if (!ta && tb) { Gemm(dc, av, db, n, k, m, true, false, true); }   // dB (N,K) = dCᵀ·A
            else if (ta && !tb) { Gemm(av, dc, db, k, n, m, false, false, true); }  // dB (K,N) = A·dC
            else { Gemm(dc, av, db, n, k, m, true, true, true); }                   // dB (N,K) = dCᵀ·Aᵀ
        }
    }

    private static void Gemm(Tensor a, Tensor b, Tensor c, int m, int n, int k, bool ta, bool tb, bool accumulate)
    {
        using var region = Profiler.Region(ProfileCategory.Gemm);
        if (c.DType == DType.F64)
        {
            Matmul.Gemm<double>(a.AsSpan<double>(), b.AsSpan<double>(), c.AsSpan<double>(), m, n, k, ta, tb, accumulate);
        }
        else
        {
            c.ExpectDType(DType.F32, "matmul");
            Matmul.Gemm<float>(a.AsSpan<float>(), b.AsSpan<float>(), c.AsSpan<float>(), m, n, k, ta, tb, accumulate);
        }
    }
}
