// ScatterAddRows.cs: MoE combine y[index[i]] += w[i]·src[i] over rows, deterministic (each column block is owned by one worker
// that adds the rows in index order), and its backward (dSrc = w·dy[index], dWeights = rowdot(dy[index], src)).
// Also the unweighted scatter-add behind GatherRows.Backward and Embedding.Backward. Tested by GatherScatterTests.
using System.Numerics;
using static SharpSeek.Tensors.Kernels.Elementwise;

namespace SharpSeek.Tensors.Kernels;

/// <summary>y[index[i], :] += weights[i]·src[i, :] for i in order.</summary>
public static unsafe class ScatterAddRows
{
    /// <summary>Columns per work item; every row of a block is summed by the same worker in index order.</summary>
    private const int ColumnBlock = 256;

    // src: (M, D)  index: (M)  weights: (M)  y: (N, D), accumulated into; N = y.Length / D.
    public static void Forward<T>(ReadOnlySpan<T> src, ReadOnlySpan<int> index, ReadOnlySpan<T> weights, int cols, Span<T> y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Operators.CheckLength(nameof(weights), index.Length, weights.Length);
        fixed (T* pw = weights)
        {
            Accumulate(src, index, pw, cols, y);
        }
    }

    // forward: y[index[i]] += w[i]·src[i]  ⇒  dSrc[i] = w[i]·dy[index[i]],  dWeights[i] = Σ_j dy[index[i], j]·src[i, j]  (both overwritten)
    public static void Backward<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> src, ReadOnlySpan<int> index, ReadOnlySpan<T> weights, int cols,
        Span<T> dSrc, Span<T> dWeights) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rows = CheckRows(nameof(dy), dy.Length, cols);
        RowLoop.CheckMatrix(nameof(src), index.Length, cols, src.Length);
        Operators.CheckLength(nameof(weights), index.Length, weights.Length);
        RowLoop.CheckMatrix(nameof(dSrc), index.Length, cols, dSrc.Length);
        Operators.CheckLength(nameof(dWeights), index.Length, dWeights.Length);
        CheckIndices(index, rows, nameof(index));
        fixed (T* pdy = dy, ps = src, pw = weights, pds = dSrc, pdw = dWeights)
        fixed (int* pi = index)
        {
            var body = new BackwardBody<T> { Dy = pdy, Src = ps, Index = pi, Weights = pw, DSrc = pds, DWeights = pdw, Cols = cols };
            RowLoop.Run(index.Length, 3L * cols, ref body);
        }
    }

    /// <summary>The scalar reference in double.</summary>
    public static void ForwardNaive<T>(ReadOnlySpan<T> src, ReadOnlySpan<int> index, ReadOnlySpan<T> weights, int cols, Span<T> y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (var i = 0; i < index.Length; i++)
        {
            for (var j = 0; j < cols; j++)
            {
                var v = double.CreateChecked(y[index[i] * cols + j]) + double.CreateChecked(weights[i]) * double.CreateChecked(src[i * cols + j]);
                y[index[i] * cols + j] = T.CreateChecked(v);
            }
        }
    }

    /// <summary>y[index[i]] += (weights == null ? 1 : weights[i])·src[i], by column blocks, rows in index order.</summary>
    internal static void Accumulate<T>(ReadOnlySpan<T> src, ReadOnlySpan<int> index, T* weights, int cols, Span<T> y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rows = CheckRows(nameof(y), y.Length, cols);
        RowLoop.CheckMatrix(nameof(src), index.Length, cols, src.Length);
        CheckIndices(index, rows, nameof(index));
        fixed (T* ps = src, py = y)
        fixed (int* pi = index)
        {
            var body = new AccumulateBody<T> { Src = ps, Index = pi, Weights = weights, Count = index.Length, Cols = cols, Y = py };
            RowLoop.Run((cols + ColumnBlock - 1) / ColumnBlock, 2L * index.Length * ColumnBlock, ref body);
        }
    }

    internal static int CheckRows(string name, int length, int cols)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cols);
        if (length % cols != 0)
        {
            throw new ArgumentException($"{name} must have a multiple of {cols} elements (rows of D = {cols}), but has {length}", name);
        }
        return length / cols;
    }

    internal static void CheckIndices(ReadOnlySpan<int> index, int rows, string name)
    {
        for (var i = 0; i < index.Length; i++)
        {
            if ((uint)index[i] >= (uint)rows)
            {
                throw new ArgumentOutOfRangeException(name, $"index {index[i]} at position {i} is outside the {rows} rows [0, {rows})");
            }
        }
    }

    private readonly struct AccumulateBody<T> : IRowBody where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T* Src { get; init; }
        public int* Index { get; init; }
        public T* Weights { get; init; }
        public int Count { get; init; }
        public int Cols { get; init; }
        public T* Y { get; init; }

        public void Row(int block)
        {
            var start = block * ColumnBlock;
            var n = Math.Min(ColumnBlock, Cols - start);
            for (var i = 0; i < Count; i++)
            {
                var y = new Span<T>(Y + (long)Index[i] * Cols + start, n);
                var w = Weights == null ? T.One : Weights[i];
                Operators.MapSerial(new ReadOnlySpan<T>(Src + (long)i * Cols + start, n), y, y, new AxpyOp<T>(w));
            }
        }
    }

    private readonly struct BackwardBody<T> : IRowBody where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T* Dy { get; init; }
        public T* Src { get; init; }
        public int* Index { get; init; }
        public T* Weights { get; init; }
        public T* DSrc { get; init; }
        public T* DWeights { get; init; }
        public int Cols { get; init; }

        public void Row(int i)
        {
            var dy = new ReadOnlySpan<T>(Dy + (long)Index[i] * Cols, Cols);
            DWeights[i] = Dot(dy, new ReadOnlySpan<T>(Src + (long)i * Cols, Cols));
            Operators.MapSerial(dy, new Span<T>(DSrc + (long)i * Cols, Cols), new ScaleOp<T>(Weights[i]));
        }
    }
}
