// GatherRows.cs: MoE dispatch y[i] = x[index[i]] (rows packed into a buffer) and its backward, the unweighted scatter-add
// dx[index[i]] += dy[i], deterministic. Not here: the weighted combine (ScatterAddRows.cs). Tested by GatherScatterTests.
using System.Numerics;

namespace SharpSeek.Tensors.Kernels;

/// <summary>y[i, :] = x[index[i], :].</summary>
public static unsafe class GatherRows
{
    // x: (N, D)  index: (M)  y: (M, D)
    public static void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<int> index, int cols, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rows = ScatterAddRows.CheckRows(nameof(x), x.Length, cols);
        RowLoop.CheckMatrix(nameof(y), index.Length, cols, y.Length);
        ScatterAddRows.CheckIndices(index, rows, nameof(index));
        fixed (T* px = x, py = y)
        fixed (int* pi = index)
        {
            var body = new Body<T> { X = px, Index = pi, Y = py, Cols = cols };
            RowLoop.Run(index.Length, 2L * cols, ref body);
        }
    }

    // forward: y[i] = x[index[i]]  ⇒  dx[index[i]] += dy[i] (accumulated, rows added in index order)
    public static void Backward<T>(ReadOnlySpan<T> dy, ReadOnlySpan<int> index, int cols, Span<T> dx) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => ScatterAddRows.Accumulate(dy, index, (T*)null, cols, dx);

    private readonly struct Body<T> : IRowBody where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T* X { get; init; }
        public int* Index { get; init; }
        public T* Y { get; init; }
        public int Cols { get; init; }

        public void Row(int i) => new ReadOnlySpan<T>(X + (long)Index[i] * Cols, Cols).CopyTo(new Span<T>(Y + (long)i * Cols, Cols));
    }
}
