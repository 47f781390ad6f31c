// Elementwise.cs: the elementwise operator structs (add, sub, mul, scale, axpy, neg, exp, sigmoid, SiLU and their backward
// helpers; sum, max, sum of squares, dot) and one-line public entry points that hand them to the Operators driver.
// Not here: the loop (Operators.cs), row kernels. Tested by ElementwiseTests.
using System.Numerics;
using System.Runtime.Intrinsics;

namespace SharpSeek.Tensors.Kernels;

/// <summary>Elementwise maps and reductions over equal-length spans, for T = float or double.</summary>
public static class Elementwise
{
    /// <summary>z[i] = x[i] + y[i]</summary>
    public static void Add<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> z) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Operators.Map(x, y, z, new AddOp<T>());

    /// <summary>z[i] = x[i] - y[i]</summary>
    public static void Sub<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> z) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Operators.Map(x, y, z, new SubOp<T>());

    /// <summary>z[i] = x[i] * y[i]</summary>
    public static void Mul<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> z) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Operators.Map(x, y, z, new MulOp<T>());

    /// <summary>y[i] = a * x[i]</summary>
    public static void Scale<T>(ReadOnlySpan<T> x, T a, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Operators.Map(x, y, new ScaleOp<T>(a));

    /// <summary>y[i] += a * x[i]</summary>
    public static void Axpy<T>(ReadOnlySpan<T> x, T a, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Operators.Map(x, y, y, new AxpyOp<T>(a));

    /// <summary>y[i] = -x[i]</summary>
    public static void Neg<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Operators.Map(x, y, new NegOp<T>());

    /// <summary>y[i] = exp(x[i])</summary>
    public static void Exp<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Operators.Map(x, y, new ExpOp<T>());

    /// <summary>y[i] = 1 / (1 + exp(-x[i]))</summary>
    public static void Sigmoid<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Operators.Map(x, y, new SigmoidOp<T>());

    /// <summary>forward y = sigmoid(x)  ⇒  dx[i] = dy[i] * y[i] * (1 - y[i])</summary>
    public static void SigmoidBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Operators.Map(y, dy, dx, new SigmoidBackwardOp<T>());

    /// <summary>y[i] = x[i] * sigmoid(x[i])</summary>
    public static void Silu<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Operators.Map(x, y, new SiluOp<T>());

    /// <summary>forward y = x·σ(x)  ⇒  dx[i] = dy[i] * σ(x)(1 + x(1 - σ(x)))</summary>
    public static void SiluBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Operators.Map(x, dy, dx, new SiluBackwardOp<T>());

    /// <summary>Σ x[i] (0 for an empty span)</summary>
    public static T Sum<T>(ReadOnlySpan<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Operators.Aggregate(x, new IdentityOp<T>(), new AddOp<T>());

    /// <summary>max x[i] (-∞ for an empty span)</summary>
    public static T Max<T>(ReadOnlySpan<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Operators.Aggregate(x, new IdentityOp<T>(), new MaxOp<T>());

    /// <summary>Σ x[i]²</summary>
    public static T SumOfSquares<T>(ReadOnlySpan<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Operators.Aggregate(x, new SquareOp<T>(), new AddOp<T>());

    /// <summary>Σ x[i]·y[i]</summary>
    public static T Dot<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Operators.Aggregate(x, y, new MulOp<T>(), new AddOp<T>());

    // Vector exp exists only for float and double; the typeof tests fold away when the JIT specialises T.
    internal static Vector128<T> VExp<T>(Vector128<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) { return Vector128.Exp(x.As<T, float>()).As<float, T>(); }
        if (typeof(T) == typeof(double)) { return Vector128.Exp(x.As<T, double>()).As<double, T>(); }
        throw new NotSupportedException($"exp of {typeof(T).Name} vectors");
    }

    internal static Vector256<T> VExp<T>(Vector256<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) { return Vector256.Exp(x.As<T, float>()).As<float, T>(); }
        if (typeof(T) == typeof(double)) { return Vector256.Exp(x.As<T, double>()).As<double, T>(); }
        throw new NotSupportedException($"exp of {typeof(T).Name} vectors");
    }

    internal static Vector512<T> VExp<T>(Vector512<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) { return Vector512.Exp(x.As<T, float>()).As<float, T>(); }
        if (typeof(T) == typeof(double)) { return Vector512.Exp(x.As<T, double>()).As<double, T>(); }
        throw new NotSupportedException($"exp of {typeof(T).Name} vectors");
    }

    public readonly struct IdentityOp<T> : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T x) => x;
        public Vector128<T> Invoke(Vector128<T> x) => x;
        public Vector256<T> Invoke(Vector256<T> x) => x;
        public Vector512<T> Invoke(Vector512<T> x) => x;
    }

    public readonly struct SquareOp<T> : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T x) => x * x;
        public Vector128<T> Invoke(Vector128<T> x) => x * x;
        public Vector256<T> Invoke(Vector256<T> x) => x * x;
        public Vector512<T> Invoke(Vector512<T> x) => x * x;
    }

    public readonly struct NegOp<T> : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T x) => -x;
        public Vector128<T> Invoke(Vector128<T> x) => -x;
        public Vector256<T> Invoke(Vector256<T> x) => -x;
        public Vector512<T> Invoke(Vector512<T> x) => -x;
    }

    public readonly struct ScaleOp<T>(T a) : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T x) => a * x;
        public Vector128<T> Invoke(Vector128<T> x) => Vector128.Create(a) * x;
        public Vector256<T> Invoke(Vector256<T> x) => Vector256.Create(a) * x;
        public Vector512<T> Invoke(Vector512<T> x) => Vector512.Create(a) * x;
    }

    /// <summary>exp(x - shift): the numerator of a max-subtracted softmax.</summary>
    public readonly struct ExpShiftOp<T>(T shift) : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T x) => T.Exp(x - shift);
        public Vector128<T> Invoke(Vector128<T> x) => VExp(x - Vector128.Create(shift));
        public Vector256<T> Invoke(Vector256<T> x) => VExp(x - Vector256.Create(shift));
        public Vector512<T> Invoke(Vector512<T> x) => VExp(x - Vector512.Create(shift));
    }

    /// <summary>x + shift.</summary>
    public readonly struct AddScalarOp<T>(T shift) : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T x) => x + shift;
        public Vector128<T> Invoke(Vector128<T> x) => x + Vector128.Create(shift);
        public Vector256<T> Invoke(Vector256<T> x) => x + Vector256.Create(shift);
        public Vector512<T> Invoke(Vector512<T> x) => x + Vector512.Create(shift);
    }

    public readonly struct ExpOp<T> : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T x) => T.Exp(x);
        public Vector128<T> Invoke(Vector128<T> x) => VExp(x);
        public Vector256<T> Invoke(Vector256<T> x) => VExp(x);
        public Vector512<T> Invoke(Vector512<T> x) => VExp(x);
    }

    public readonly struct SigmoidOp<T> : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T x) => T.One / (T.One + T.Exp(-x));
        public Vector128<T> Invoke(Vector128<T> x) => Vector128<T>.One / (Vector128<T>.One + VExp(-x));
        public Vector256<T> Invoke(Vector256<T> x) => Vector256<T>.One / (Vector256<T>.One + VExp(-x));
        public Vector512<T> Invoke(Vector512<T> x) => Vector512<T>.One / (Vector512<T>.One + VExp(-x));
    }

    public readonly struct SiluOp<T> : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T x) => x / (T.One + T.Exp(-x));
        public Vector128<T> Invoke(Vector128<T> x) => x / (Vector128<T>.One + VExp(-x));
        public Vector256<T> Invoke(Vector256<T> x) => x / (Vector256<T>.One + VExp(-x));
        public Vector512<T> Invoke(Vector512<T> x) => x / (Vector512<T>.One + VExp(-x));
    }

    public readonly struct AddOp<T> : IAggregationOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Identity => T.Zero;
        public T Invoke(T x, T y) => x + y;
        public Vector128<T> Invoke(Vector128<T> x, Vector128<T> y) => x + y;
        public Vector256<T> Invoke(Vector256<T> x, Vector256<T> y) => x + y;
        public Vector512<T> Invoke(Vector512<T> x, Vector512<T> y) => x + y;
    }

    public readonly struct MaxOp<T> : IAggregationOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Identity => T.NegativeInfinity;
        public T Invoke(T x, T y) => T.Max(x, y);
        public Vector128<T> Invoke(Vector128<T> x, Vector128<T> y) => Vector128.Max(x, y);
        public Vector256<T> Invoke(Vector256<T> x, Vector256<T> y) => Vector256.Max(x, y);
        public Vector512<T> Invoke(Vector512<T> x, Vector512<T> y) => Vector512.Max(x, y);
    }

    public readonly struct SubOp<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T x, T y) => x - y;
        public Vector128<T> Invoke(Vector128<T> x, Vector128<T> y) => x - y;
        public Vector256<T> Invoke(Vector256<T> x, Vector256<T> y) => x - y;
        public Vector512<T> Invoke(Vector512<T> x, Vector512<T> y) => x - y;
    }

    public readonly struct MulOp<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T x, T y) => x * y;
        public Vector128<T> Invoke(Vector128<T> x, Vector128<T> y) => x * y;
        public Vector256<T> Invoke(Vector256<T> x, Vector256<T> y) => x * y;
        public Vector512<T> Invoke(Vector512<T> x, Vector512<T> y) => x * y;
    }

    /// <summary>(x, y) → y + a·x</summary>
    public readonly struct AxpyOp<T>(T a) : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T x, T y) => y + a * x;
        public Vector128<T> Invoke(Vector128<T> x, Vector128<T> y) => y + Vector128.Create(a) * x;
        public Vector256<T> Invoke(Vector256<T> x, Vector256<T> y) => y + Vector256.Create(a) * x;
        public Vector512<T> Invoke(Vector512<T> x, Vector512<T> y) => y + Vector512.Create(a) * x;
    }

    /// <summary>(y, dy) → dy·y·(1 - y)</summary>
    public readonly struct SigmoidBackwardOp<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T y, T dy) => dy * y * (T.One - y);
        public Vector128<T> Invoke(Vector128<T> y, Vector128<T> dy) => dy * y * (Vector128<T>.One - y);
        public Vector256<T> Invoke(Vector256<T> y, Vector256<T> dy) => dy * y * (Vector256<T>.One - y);
        public Vector512<T> Invoke(Vector512<T> y, Vector512<T> dy) => dy * y * (Vector512<T>.One - y);
    }

    /// <summary>(x, dy) → dy·σ(x)·(1 + x·(1 - σ(x)))</summary>
    public readonly struct SiluBackwardOp<T> : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T x, T dy)
        {
            var s = T.One / (T.One + T.Exp(-x));
            return dy * s * (T.One + x * (T.One - s));
        }

        public Vector128<T> Invoke(Vector128<T> x, Vector128<T> dy)
        {
            var s = Vector128<T>.One / (Vector128<T>.One + VExp(-x));
            return dy * s * (Vector128<T>.One + x * (Vector128<T>.One - s));
        }

        public Vector256<T> Invoke(Vector256<T> x, Vector256<T> dy)
        {
            var s = Vector256<T>.One / (Vector256<T>.One + VExp(-x));
            return dy * s * (Vector256<T>.One + x * (Vector256<T>.One - s));
        }

        public Vector512<T> Invoke(Vector512<T> x, Vector512<T> dy)
        {
            var s = Vector512<T>.One / (Vector512<T>.One + VExp(-x));
            return dy * s * (Vector512<T>.One + x * (Vector512<T>.One - s));
        }
    }
}
