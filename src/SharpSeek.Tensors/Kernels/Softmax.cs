// Softmax.cs: numerically stable row-wise softmax over a (rows, cols) matrix, its backward, and the naive reference.
// Not here: log-softmax (LogSoftmax.cs), the fused loss (CrossEntropy.cs). Tested by SoftmaxTests.
using System.Numerics;
using System.Runtime.Intrinsics;
using static SharpSeek.Tensors.Kernels.Elementwise;

namespace SharpSeek.Tensors.Kernels;

/// <summary>y[r, j] = exp(x[r, j] - max_r) / Σ_k exp(x[r, k] - max_r), row by row.</summary>
public static unsafe class Softmax
{
    // x: (rows, cols)  y: (rows, cols); y may be the same span as x.
    public static void Forward<T>(ReadOnlySpan<T> x, int rows, int cols, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        RowLoop.CheckMatrix(nameof(x), rows, cols, x.Length);
        RowLoop.CheckMatrix(nameof(y), rows, cols, y.Length);
        fixed (T* px = x, py = y)
        {
            var body = new ForwardBody<T> { X = px, Y = py, Cols = cols };
            RowLoop.Run(rows, cols, ref body);
        }
    }

    /// <summary>One row: y = softmax(x).</summary>
    public static void Row<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (x.Length == 0) { return; }
        var max = Max(x);
        Operators.MapSerial(x, y, new ExpShiftOp<T>(max));
        var sum = Sum<T>(y);
        Operators.MapSerial(y, y, new ScaleOp<T>(T.One / sum));
    }

    // forward: y = softmax(x)  ⇒  dx = y ⊙ (dy - Σ_j dy_j y_j); dx may be the same span as dy.
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

    /// <summary>The scalar reference: max-subtracted, accumulated in double.</summary>
    public static void ForwardNaive<T>(ReadOnlySpan<T> x, int rows, int cols, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (var r = 0; r < rows; r++)
        {
            var max = double.NegativeInfinity;
            for (var j = 0; j < cols; j++) { max = Math.Max(max, double.CreateChecked(x[r * cols + j])); }
            var sum = 0.0;
            for (var j = 0; j < cols; j++) { sum += Math.Exp(double.CreateChecked(x[r * cols + j]) - max); }
            for (var j = 0; j < cols; j++) { y[r * cols + j] = T.CreateChecked(Math.Exp(double.CreateChecked(x[r * cols + j]) - max) / sum); }
        }
    }

    private readonly struct ForwardBody<T> : IRowBody where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T* X { get; init; }
        public T* Y { get; init; }
        public int Cols { get; init; }

        public void Row(int row) => Softmax.Row(new ReadOnlySpan<T>(X + (long)row * Cols, Cols), new Span<T>(Y + (long)row * Cols, Cols));
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
            var y = new ReadOnlySpan<T>(Y + (long)row * Cols, Cols);
            var dot = Dot(dy, y);
            // dx = y * (dy - dot) = y*dy - dot*y
            Operators.MapSerial(dy, y, new Span<T>(Dx + (long)row * Cols, Cols), new SoftmaxBackwardOp<T>(dot));
        }
    }

    /// <summary>(dy, y) → y·(dy - dot)</summary>
    private readonly struct SoftmaxBackwardOp<T>(T dot) : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T dy, T y) => y * (dy - dot);
        public Vector128<T> Invoke(Vector128<T> dy, Vector128<T> y)
            => y * (dy - Vector128.Create(dot));
        public Vector256<T> Invoke(Vector256<T> dy, Vector256<T> y)
            => y * (dy - Vector256.Create(dot));
        public Vector512<T> Invoke(Vector512<T> dy, Vector512<T> y)
            => y * (dy - Vector512.Create(dot));
    }
}
