// Embedding.cs: token embedding lookup y[n] = table[ids[n]] and its backward, a deterministic scatter-add of dy into dTable.
// Ids outside the vocabulary throw naming the id and the vocabulary size. Not here: the gather/scatter loops (GatherRows.cs,
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
