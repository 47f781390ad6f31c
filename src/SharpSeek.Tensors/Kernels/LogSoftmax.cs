// LogSoftmax.cs: numerically stable row-wise log-softmax over a (rows, cols) matrix, its backward, and the naive reference.
// Not here: softmax (Softmax.cs), the fused loss (CrossEntropy.cs). Tested by SoftmaxTests.
using System.Numerics;
using System.Runtime.Intrinsics;
using static SharpSeek.Tensors.Kernels.Elementwise;

namespace SharpSeek.Tensors.Kernels;

/// <summary>y[r, j] = x[r, j] - max_r - log Σ_k exp(x[r, k] - max_r), row by row.</summary>
public static unsafe class LogSoftmax
{
    // x: (rows, cols)  y: (rows, cols); y may be the same span as x.
    public static void Forward<T>(ReadOnlySpan<T> x, int rows, int cols, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        RowLoop.CheckMatrix(nameof(x), rows, cols, x.Length);
        RowLoop.CheckMatrix(nameof(y), rows, cols, y.Length);
        fixed (T* px = x, py = y)
        {
            var body = new ForwardBody<T> { X = px, Y = py, Cols = cols };
            RowLoop.Run(rows, 2L * cols, ref body);
        }
    }

    /// <summary>log Σ exp(x), computed as max + log Σ exp(x - max); -∞ for an empty row.</summary>
    public static T LogSumExp<T>(ReadOnlySpan<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var logSum = LogSumExp(x, out var max);
        return max + logSum;
    }

    /// <summary>
    /// log Σ exp(x − max) with max = max(x) returned separately: x − max − logSum keeps full precision where
    /// max + logSum would round (at |x| ~ 1e4 a float ulp is 1e-3).
    /// </summary>
    internal static T LogSumExp<T>(ReadOnlySpan<T> x, out T max) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        max = Max(x);
        if (T.IsInfinity(max)) { return T.Zero; }
        return T.Log(Operators.Aggregate(x, new ExpShiftOp<T>(max), new AddOp<T>()));
    }

    // forward: y = x - logsumexp(x)  ⇒  dx = dy - exp(y) Σ_j dy_j; dx may be the same span as dy.
    public static void Backward<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> y, int rows, int cols, Span<T> dx)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        RowLoop.CheckMatrix(nameof(dy), rows, cols, dy.Length);
        RowLoop.CheckMatrix(nameof(y), rows, cols, y.Length);
        RowLoop.CheckMatrix(nameof(dx), rows, cols, dx.Length);
        fixed (T* pdy = dy, py = y, pdx = dx)
        {
            var body = new BackwardBody<T> { Dy = pdy, Y = py, Dx = pdx, Cols = cols };
            RowLoop.Run(rows, 2L * cols, ref body);
        }
    }

    /// <summary>The scalar reference, accumulated in double.</summary>
    public static void ForwardNaive<T>(ReadOnlySpan<T> x, int rows, int cols, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (var r = 0; r < rows; r++)
        {
            var max = double.NegativeInfinity;
            for (var j = 0; j < cols; j++) { max = Math.Max(max, double.CreateChecked(x[r * cols + j])); }
            var sum = 0.0;
            for (var j = 0; j < cols; j++) { sum += Math.Exp(double.CreateChecked(x[r * cols + j]) - max); }
            var lse = max + Math.Log(sum);
            for (var j = 0; j < cols; j++) { y[r * cols + j] = T.CreateChecked(double.CreateChecked(x[r * cols + j]) - lse); }
        }
    }

    private readonly struct ForwardBody<T> : IRowBody where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T* X { get; init; }
        public T* Y { get; init; }
        public int Cols { get; init; }

        public void Row(int row)
        {
            var x = new ReadOnlySpan<T>(X + (long)row * Cols, Cols);
            var logSum = LogSumExp(x, out var max);
            Operators.MapSerial(x, new Span<T>(Y + (long)row * Cols, Cols), new ShiftOp<T>(max, logSum));
        }
    }

    private readonly struct BackwardBody<T> : IRowBody where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T* Dy { get; init; }
        public T* Y { get; init; }
        public T* Dx { get; init; }
        public int Cols { get; init; }

        public void Row(int row)
        {
            var dy = new ReadOnlySpan<T>(Dy + (long)row * Cols, Cols);
            var sum = Sum(dy);
            Operators.MapSerial(dy, new ReadOnlySpan<T>(Y + (long)row * Cols, Cols), new Span<T>(Dx + (long)row * Cols, Cols),
                new LogSoftmaxBackwardOp<T>(sum));
        }
    }

    /// <summary>x → (x − max) − logSum</summary>
    private readonly struct ShiftOp<T>(T max, T logSum) : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T x) => x - max - logSum;
        public Vector128<T> Invoke(Vector128<T> x) => x - Vector128.Create(max) - Vector128.Create(logSum);
        public Vector256<T> Invoke(Vector256<T> x) => x - Vector256.Create(max) - Vector256.Create(logSum);
        public Vector512<T> Invoke(Vector512<T> x) => x - Vector512.Create(max) - Vector512.Create(logSum);
    }

    /// <summary>(dy, y) → dy - exp(y)·sum</summary>
    private readonly struct LogSoftmaxBackwardOp<T>(T sum) : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T dy, T y) => dy - T.Exp(y) * sum;
        public Vector128<T> Invoke(Vector128<T> dy, Vector128<T> y) => dy - VExp(y) * Vector128.Create(sum);
        public Vector256<T> Invoke(Vector256<T> dy, Vector256<T> y) => dy - VExp(y) * Vector256.Create(sum);
        public Vector512<T> Invoke(Vector512<T> dy, Vector512<T> y) => dy - VExp(y) * Vector512.Create(sum);
    }
}
