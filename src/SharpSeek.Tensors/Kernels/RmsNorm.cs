// RmsNorm.cs: y = x · rstd · w over the rows of x (N, D) with rstd saved, its backward (dx, and dw accumulated
// deterministically by column blocks), and the naive reference. Not here: the autograd op wrapper (Ops/). Tested by RmsNormTests.
using System.Numerics;
using System.Runtime.Intrinsics;
using static SharpSeek.Tensors.Kernels.Elementwise;

namespace SharpSeek.Tensors.Kernels;

/// <summary>y[r, j] = x[r, j] · rstd[r] · w[j], rstd[r] = 1 / sqrt(mean_j x[r, j]² + eps).</summary>
public static unsafe class RmsNorm
{
    /// <summary>Columns per dWeight work item: each block is owned by one worker and sums rows in order.</summary>
    private const int ColumnBlock = 256;

    // x: (N, D)  weight: (D)  y: (N, D)  rstd: (N); N = rstd.Length.
    public static void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> weight, T eps, Span<T> y, Span<T> rstd)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int rows = rstd.Length, cols = weight.Length;
        RowLoop.CheckMatrix(nameof(x), rows, cols, x.Length);
        RowLoop.CheckMatrix(nameof(y), rows, cols, y.Length);
        fixed (T* px = x, pw = weight, py = y, pr = rstd)
        {
            var body = new ForwardBody<T> { X = px, W = pw, Y = py, Rstd = pr, Cols = cols, Eps = eps };
            RowLoop.Run(rows, 2L * cols, ref body);
        }
    }

    // forward: y = x·rstd·w, xhat = x·rstd  ⇒  dx = rstd·(w⊙dy − xhat·mean(w⊙dy⊙xhat)) = rstd·w⊙dy − rstd³·(Σ w⊙dy⊙x / D)·x
    //                                          dWeight += Σ_rows dy ⊙ xhat (accumulated into what dWeight holds)
    public static void Backward<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, ReadOnlySpan<T> weight, ReadOnlySpan<T> rstd, Span<T> dx, Span<T> dWeight)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int rows = rstd.Length, cols = weight.Length;
        RowLoop.CheckMatrix(nameof(dy), rows, cols, dy.Length);
        RowLoop.CheckMatrix(nameof(x), rows, cols, x.Length);
        RowLoop.CheckMatrix(nameof(dx), rows, cols, dx.Length);
        Operators.CheckLength(nameof(dWeight), cols, dWeight.Length);
        fixed (T* pdy = dy, px = x, pw = weight, pr = rstd, pdx = dx, pdw = dWeight)
        {
            var body = new BackwardBody<T> { Dy = pdy, X = px, W = pw, Rstd = pr, Dx = pdx, Cols = cols };
            RowLoop.Run(rows, 3L * cols, ref body);
            var dw = new WeightBody<T> { Dy = pdy, X = px, Rstd = pr, DWeight = pdw, Rows = rows, Cols = cols };
            RowLoop.Run((cols + ColumnBlock - 1) / ColumnBlock, 2L * rows * ColumnBlock, ref dw);
        }
    }

    /// <summary>The scalar reference, accumulated in double.</summary>
    public static void ForwardNaive<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> weight, T eps, Span<T> y, Span<T> rstd)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int rows = rstd.Length, cols = weight.Length;
        for (var r = 0; r < rows; r++)
        {
            var ss = 0.0;
            for (var j = 0; j < cols; j++) { ss += double.CreateChecked(x[r * cols + j]) * double.CreateChecked(x[r * cols + j]); }
            var rs = 1.0 / Math.Sqrt(ss / cols + double.CreateChecked(eps));
            rstd[r] = T.CreateChecked(rs);
            for (var j = 0; j < cols; j++) { y[r * cols + j] = T.CreateChecked(double.CreateChecked(x[r * cols + j]) * rs * double.CreateChecked(weight[j])); }
        }
    }

    private readonly struct ForwardBody<T> : IRowBody where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T* X { get; init; }
        public T* W { get; init; }
        public T* Y { get; init; }
        public T* Rstd { get; init; }
        public int Cols { get; init; }
        public T Eps { get; init; }

        public void Row(int row)
        {
            var x = new ReadOnlySpan<T>(X + (long)row * Cols, Cols);
            var r = T.One / T.Sqrt(SumOfSquares(x) / T.CreateChecked(Cols) + Eps);
            Rstd[row] = r;
            Operators.MapSerial(x, new ReadOnlySpan<T>(W, Cols), new Span<T>(Y + (long)row * Cols, Cols), new ScaledMulOp<T>(r));
        }
    }

    private readonly struct BackwardBody<T> : IRowBody where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T* Dy { get; init; }
        public T* X { get; init; }
        public T* W { get; init; }
        public T* Rstd { get; init; }
        public T* Dx { get; init; }
        public int Cols { get; init; }

        public void Row(int row)
        {
            var dy = new ReadOnlySpan<T>(Dy + (long)row * Cols, Cols);
            var x = new ReadOnlySpan<T>(X + (long)row * Cols, Cols);
            var w = new ReadOnlySpan<T>(W, Cols);
            var r = Rstd[row];
            var s = Operators.Aggregate(dy, w, x, new Mul3Op<T>(), new AddOp<T>());
            var b = r * r * r * s / T.CreateChecked(Cols);
            Operators.MapSerial(dy, w, x, new Span<T>(Dx + (long)row * Cols, Cols), new DxOp<T>(r, b));
        }
    }

    /// <summary>Column block <c>block</c> of dWeight: rows summed in order by the one worker that owns the block.</summary>
    private readonly struct WeightBody<T> : IRowBody where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T* Dy { get; init; }
        public T* X { get; init; }
        public T* Rstd { get; init; }
        public T* DWeight { get; init; }
        public int Rows { get; init; }
        public int Cols { get; init; }

        public void Row(int block)
        {
            var start = block * ColumnBlock;
            var n = Math.Min(ColumnBlock, Cols - start);
            var dw = new Span<T>(DWeight + start, n);
            for (var r = 0; r < Rows; r++)
            {
                var offset = (long)r * Cols + start;
                Operators.MapSerial(dw, new ReadOnlySpan<T>(Dy + offset, n), new ReadOnlySpan<T>(X + offset, n), dw, new AccumulateOp<T>(Rstd[r]));
            }
        }
    }

    /// <summary>(x, w) → x·w·r</summary>
    private readonly struct ScaledMulOp<T>(T r) : IBinaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T x, T w) => x * r * w;
        public Vector128<T> Invoke(Vector128<T> x, Vector128<T> w) => x * Vector128.Create(r) * w;
        public Vector256<T> Invoke(Vector256<T> x, Vector256<T> w) => x * Vector256.Create(r) * w;
        public Vector512<T> Invoke(Vector512<T> x, Vector512<T> w) => x * Vector512.Create(r) * w;
    }

    /// <summary>(dy, w, x) → dy·w·x</summary>
    private readonly struct Mul3Op<T> : ITernaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T dy, T w, T x) => dy * w * x;
        public Vector128<T> Invoke(Vector128<T> dy, Vector128<T> w, Vector128<T> x) => dy * w * x;
        public Vector256<T> Invoke(Vector256<T> dy, Vector256<T> w, Vector256<T> x) => dy * w * x;
        public Vector512<T> Invoke(Vector512<T> dy, Vector512<T> w, Vector512<T> x) => dy * w * x;
    }

    /// <summary>(dy, w, x) → a·w·dy − b·x</summary>
    private readonly struct DxOp<T>(T a, T b) : ITernaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T dy, T w, T x) => a * w * dy - b * x;
        public Vector128<T> Invoke(Vector128<T> dy, Vector128<T> w, Vector128<T> x) => Vector128.Create(a) * w * dy - Vector128.Create(b) * x;
        public Vector256<T> Invoke(Vector256<T> dy, Vector256<T> w, Vector256<T> x) => Vector256.Create(a) * w * dy - Vector256.Create(b) * x;
        public Vector512<T> Invoke(Vector512<T> dy, Vector512<T> w, Vector512<T> x) => Vector512.Create(a) * w * dy - Vector512.Create(b) * x;
    }

    /// <summary>(dw, dy, x) → dw + r·dy·x</summary>
    private readonly struct AccumulateOp<T>(T r) : ITernaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T dw, T dy, T x) => dw + r * dy * x;
        public Vector128<T> Invoke(Vector128<T> dw, Vector128<T> dy, Vector128<T> x) => dw + Vector128.Create(r) * dy * x;
        public Vector256<T> Invoke(Vector256<T> dw, Vector256<T> dy, Vector256<T> x) => dw + Vector256.Create(r) * dy * x;
        public Vector512<T> Invoke(Vector512<T> dw, Vector512<T> dy, Vector512<T> x) => dw + Vector512.Create(r) * dy * x;
    }
}
