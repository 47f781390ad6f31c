// TopK.cs: per row the k largest values and their indices, sorted descending, ties to the lower index (MoE routing, DeepSeek-V3 technical report §2.1.2).
// Not here: group limiting and weight normalisation (the model's Gate). Tested by TopKTests.
using System.Numerics;

namespace SharpSeek.Tensors.Kernels;

/// <summary>values[r, :] / indices[r, :] = the k largest x[r, j], largest first; equal values keep the lower j first.</summary>
public static unsafe class TopK
{
    // x: (N, E)  values: (N, K)  indices: (N, K)
    public static void Forward<T>(ReadOnlySpan<T> x, int rows, int cols, int k, Span<T> values, Span<int> indices)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        RowLoop.CheckMatrix(nameof(x), rows, cols, x.Length);
        if (k < 0 || k > cols) { throw new ArgumentOutOfRangeException(nameof(k), $"k must be in [0, {cols}] (the columns), but is {k}"); }
        RowLoop.CheckMatrix(nameof(values), rows, k, values.Length);
        RowLoop.CheckMatrix(nameof(indices), rows, k, indices.Length);
        fixed (T* px = x, pv = values)
        fixed (int* pi = indices)
        {
            var body = new Body<T> { X = px, Values = pv, Indices = pi, Cols = cols, K = k };
            RowLoop.Run(rows, (long)cols * Math.Max(1, k), ref body);
        }
    }

    /// <summary>The reference: a full stable sort of each row by (value descending, index ascending).</summary>
    public static void ForwardNaive<T>(ReadOnlySpan<T> x, int rows, int cols, int k, Span<T> values, Span<int> indices)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var order = new int[cols];
        var row = new T[cols];
        for (var r = 0; r < rows; r++)
        {
            x.Slice(r * cols, cols).CopyTo(row);
            for (var j = 0; j < cols; j++) { order[j] = j; }
            Array.Sort(order, (a, b) => row[a] != row[b] ? row[b].CompareTo(row[a]) : a.CompareTo(b));
            for (var j = 0; j < k; j++)
            {
                indices[r * k + j] = order[j];
                values[r * k + j] = row[order[j]];
            }
        }
    }

    private readonly struct Body<T> : IRowBody where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T* X { get; init; }
        public T* Values { get; init; }
        public int* Indices { get; init; }
        public int Cols { get; init; }
        public int K { get; init; }

        public void Row(int row)
        {
            if (K == 0) { return; }
            var x = X + (long)row * Cols;
            var v = Values + (long)row * K;
            var idx = Indices + (long)row * K;
            var filled = 0;
            for (var j = 0; j < Cols; j++)
            {
                var value = x[j];
                // Strictly greater only: an equal later value never displaces an earlier one.
                if (filled == K && !(value > v[K - 1])) { continue; }
                var p = filled == K ? K - 1 : filled++;
                while (p > 0 && value > v[p - 1])
                {
                    v[p] = v[p - 1];
                    idx[p] = idx[p - 1];
                    p--;
                }
                v[p] = value;
                idx[p] = j;
            }
        }
    }
}
