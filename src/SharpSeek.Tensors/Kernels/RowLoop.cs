// RowLoop.cs: runs a per-row body over (rows, cols) data, serially when small, else in fixed row blocks on WorkerPool.Current.
// Each row writes only its own outputs, so results never depend on the thread count. Not here: the row math. Tested through the row kernels' tests (RmsNormTests, SoftmaxTests,
// CrossEntropyTests, GatherScatterTests, RopeTests, TopKTests, Fp8QuantTests) and ThreadCountTests.
namespace SharpSeek.Tensors.Kernels;

/// <summary>The work for one row (or one column block) of a row kernel.</summary>
internal interface IRowBody
{
    void Row(int row);
}

internal static class RowLoop
{
    /// <summary>Below this many elements of work a loop runs on the calling thread.</summary>
    public const long SerialWork = 1 << 14;

    public static void Run<TBody>(int rows, long workPerRow, ref TBody body) where TBody : struct, IRowBody
    {
        var total = rows * Math.Max(1, workPerRow);
        if (rows <= 1 || total < SerialWork || WorkerPool.Current.Threads == 1)
        {
            for (var r = 0; r < rows; r++) { body.Row(r); }
            return;
        }
        var perBlock = (int)Math.Clamp(SerialWork / Math.Max(1, workPerRow), 1, rows);
        var work = new Blocks<TBody> { Body = body, Rows = rows, PerBlock = perBlock };
        WorkerPool.Current.For((rows + perBlock - 1) / perBlock, ref work);
    }

    /// <summary>Checks that a (rows, cols) matrix span holds rows·cols elements.</summary>
    public static void CheckMatrix(string name, int rows, int cols, int actual)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        Operators.CheckLength(name, (long)rows * cols, actual);
    }

    private struct Blocks<TBody> : IWorkItem where TBody : struct, IRowBody
    {
        public TBody Body;
        public int Rows;
        public int PerBlock;

        public void Execute(int index, int worker)
        {
            var end = Math.Min(Rows, (index + 1) * PerBlock);
            for (var r = index * PerBlock; r < end; r++) { Body.Row(r); }
        }
    }
}
