// SwiGlu.cs: the fused gate y = silu(gate) ⊙ up of the SwiGLU MLP (Shazeer 2020, "GLU Variants Improve Transformer"), forward and backward (dGate, dUp), with the
// naive reference. Not here: the three projections (Matmul). Tested by SiluTests.
using System.Numerics;
using System.Runtime.Intrinsics;
using static SharpSeek.Tensors.Kernels.Elementwise;

namespace SharpSeek.Tensors.Kernels;

/// <summary>y[i] = silu(gate[i])·up[i].</summary>
public static class SwiGlu
{
    // gate, up, y: (N, I) flattened.
    public static void Forward<T>(ReadOnlySpan<T> gate, ReadOnlySpan<T> up, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Operators.Map(gate, up, y, new ForwardOp<T>());

    // forward: y = silu(g)·u  ⇒  dUp = dy·silu(g),  dGate = dy·u·σ(g)·(1 + g·(1 − σ(g)))
    public static void Backward<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> gate, ReadOnlySpan<T> up, Span<T> dGate, Span<T> dUp)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        // Two passes read dy and gate twice, so dGate and dUp must not alias dy, gate or up.
        Operators.Map(dy, gate, up, dGate, new GateBackwardOp<T>());
        Operators.Map(gate, dy, dUp, new UpBackwardOp<T>());
    }

    /// <summary>The scalar reference in double.</summary>
    public static void ForwardNaive<T>(ReadOnlySpan<T> gate, ReadOnlySpan<T> up, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Operators.CheckLength(nameof(up), gate.Length, up.Length);
        Operators.CheckLength(nameof(y), gate.Length, y.Length);
        for (var i = 0; i < gate.Length; i++)
        {
            var g = double.CreateChecked(gate[i]);
            y[i] = T.CreateChecked(g / (1 + Math.Exp(-g)) * double.CreateChecked(up[i]));
        }
    }

    /// <summary>(g, u) → silu(g)·u</summary>
    private readonly struct ForwardOp<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T g, T u) => g / (T.One + T.Exp(-g)) * u;
        public Vector128<T> Invoke(Vector128<T> g, Vector128<T> u) => g / (Vector128<T>.One + VExp(-g)) * u;
        public Vector256<T> Invoke(Vector256<T> g, Vector256<T> u) => g / (Vector256<T>.One + VExp(-g)) * u;
        public Vector512<T> Invoke(Vector512<T> g, Vector512<T> u) => g / (Vector512<T>.One + VExp(-g)) * u;
    }

    /// <summary>(g, dy) → dy·silu(g)</summary>
    private readonly struct UpBackwardOp<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T g, T dy) => g / (T.One + T.Exp(-g)) * dy;
        public Vector128<T> Invoke(Vector128<T> g, Vector128<T> dy) => g / (Vector128<T>.One + VExp(-g)) * dy;
        public Vector256<T> Invoke(Vector256<T> g, Vector256<T> dy) => g / (Vector256<T>.One + VExp(-g)) * dy;
        public Vector512<T> Invoke(Vector512<T> g, Vector512<T> dy) => g / (Vector512<T>.One + VExp(-g)) * dy;
    }

    /// <summary>(dy, g, u) → dy·u·silu'(g)</summary>
    private readonly struct GateBackwardOp<T> : ITernaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T dy, T g, T u) => new SiluBackwardOp<T>().Invoke(g, dy * u);
        public Vector128<T> Invoke(Vector128<T> dy, Vector128<T> g, Vector128<T> u) => new SiluBackwardOp<T>().Invoke(g, dy * u);
        public Vector256<T> Invoke(Vector256<T> dy, Vector256<T> g, Vector256<T> u) => new SiluBackwardOp<T>().Invoke(g, dy * u);
        public Vector512<T> Invoke(Vector512<T> dy, Vector512<T> g, Vector512<T> u) => new SiluBackwardOp<T>().Invoke(g, dy * u);
    }
}
