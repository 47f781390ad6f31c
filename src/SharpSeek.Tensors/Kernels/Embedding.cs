// Embedding.cs: token embedding lookup y[n] = table[ids[n]] and its backward, a deterministic scatter-add of dy into dTable;
// also the lookup in a BF16 table (a checkpoint's, read in place), each row widened to f32 as it is gathered. Ids outside
// the vocabulary throw naming the id and the vocabulary size. Not here: the gather/scatter loops (GatherRows.cs,
// ScatterAddRows.cs). Tested by GatherScatterTests.
using System.Numerics;

namespace SharpSeek.Tensors.Kernels;

/// <summary>y[n, :] = table[ids[n], :].</summary>
public static unsafe class Embedding
{
    // table: (V, D)  ids: (N)  y: (N, D)
    public static void Forward<T>(ReadOnlySpan<T> table, ReadOnlySpan<int> ids, int dim, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        CheckIds(ids, ScatterAddRows.CheckRows(nameof(table), table.Length, dim));
        GatherRows.Forward(table, ids, dim, y);
    }

    // table: (V, D) BF16  ids: (N)  y: (N, D) f32, y[n] = (float)table[ids[n]] (exact: BF16 is the top half of an f32)
    public static void Forward(ReadOnlySpan<BFloat16> table, ReadOnlySpan<int> ids, int dim, Span<float> y)
    {
        CheckIds(ids, ScatterAddRows.CheckRows(nameof(table), table.Length, dim));
        RowLoop.CheckMatrix(nameof(y), ids.Length, dim, y.Length);
        for (var n = 0; n < ids.Length; n++) { DTypeConvert.ToSingle(table.Slice(ids[n] * dim, dim), y.Slice(n * dim, dim)); }
    }

    // forward: y[n] = table[ids[n]]  ⇒  dTable[ids[n]] += dy[n] (accumulated, in token order per column block)
    public static void Backward<T>(ReadOnlySpan<T> dy, ReadOnlySpan<int> ids, int dim, Span<T> dTable) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        CheckIds(ids, ScatterAddRows.CheckRows(nameof(dTable), dTable.Length, dim));
        GatherRows.Backward(dy, ids, dim, dTable);
    }

    private static void CheckIds(ReadOnlySpan<int> ids, int vocab)
    {
        foreach (var id in ids)
        {
            if ((uint)id >= (uint)vocab)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} is outside the vocabulary of size {vocab}");
            }
        }
    }
}
