// CrossEntropy.cs: fused log-softmax + negative log-likelihood over logits (rows, V) with int targets and an ignore index,
// per-row and mean loss; backward writes dlogits = (softmax - onehot)·dLoss/count in one pass from the saved row stats
// (max, log Σ exp(x − max)), kept apart because max + logSum rounds in float at |x| ~ 1e4.
// The per-row form (BackwardRows) serves outputs that keep each row's log-probability apart (TokenLogProbOp).
// Not here: label smoothing, z-loss. Tested by CrossEntropyTests and OpGradientTests.
using System.Numerics;
using System.Runtime.Intrinsics;
using static SharpSeek.Tensors.Kernels.Elementwise;

namespace SharpSeek.Tensors.Kernels;

/// <summary>
/// loss[r] = logsumexp(logits[r]) - logits[r, target[r]] (0 where target[r] == ignoreIndex);
/// mean = Σ loss / count of non-ignored rows (0 when every row is ignored).
/// </summary>
public static unsafe class CrossEntropy
{
    // logits: (N, V)  targets: (N)  losses: (N)  rowStats: (N, 2) = (max, log Σ exp(x − max)) per row, saved for Backward.
    // Returns the mean loss.
    public static T Forward<T>(ReadOnlySpan<T> logits, ReadOnlySpan<int> targets, int vocab, int ignoreIndex, Span<T> losses, Span<T> rowStats)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rows = targets.Length;
        RowLoop.CheckMatrix(nameof(logits), rows, vocab, logits.Length);
        Operators.CheckLength(nameof(losses), rows, losses.Length);
        RowLoop.CheckMatrix(nameof(rowStats), rows, 2, rowStats.Length);
        var count = CountTargets(targets, vocab, ignoreIndex);
        fixed (T* px = logits, pl = losses, ps = rowStats)
        fixed (int* pt = targets)
        {
            var body = new ForwardBody<T> { X = px, Targets = pt, Losses = pl, Stats = ps, Vocab = vocab, Ignore = ignoreIndex };
            RowLoop.Run(rows, 2L * vocab, ref body);
        }
        var total = T.Zero;
        for (var r = 0; r < rows; r++) { total += losses[r]; } // fixed order: thread-count independent
        return count == 0 ? T.Zero : total / T.CreateChecked(count);
    }

    // forward: mean = Σ_r (lse_r - x[r, t_r]) / count  ⇒  dx[r, j] = (exp(x[r, j] - max_r - logSum_r) - [j == t_r]) · dLoss / count
    public static void Backward<T>(T dLoss, ReadOnlySpan<T> logits, ReadOnlySpan<int> targets, ReadOnlySpan<T> rowStats, int vocab, int ignoreIndex,
        Span<T> dLogits) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rows = targets.Length;
        RowLoop.CheckMatrix(nameof(logits), rows, vocab, logits.Length);
        RowLoop.CheckMatrix(nameof(rowStats), rows, 2, rowStats.Length);
        RowLoop.CheckMatrix(nameof(dLogits), rows, vocab, dLogits.Length);
        var count = CountTargets(targets, vocab, ignoreIndex);
        var scale = count == 0 ? T.Zero : dLoss / T.CreateChecked(count);
        fixed (T* px = logits, ps = rowStats, pd = dLogits)
        fixed (int* pt = targets)
        {
            var body = new BackwardBody<T> { X = px, Targets = pt, Stats = ps, Dx = pd, Vocab = vocab, Ignore = ignoreIndex, Scale = scale };
            RowLoop.Run(rows, vocab, ref body);
        }
    }

    /// <summary>
    /// Per-row backward: dx[r, j] = (softmax(x_r)_j − [j == t_r]) · <paramref name="rowScales"/>[r] (zero rows where the
    /// target is ignored), for an output that keeps each row's loss apart (TokenLogProbOp).
    /// </summary>
    public static void BackwardRows<T>(ReadOnlySpan<T> rowScales, ReadOnlySpan<T> logits, ReadOnlySpan<int> targets, ReadOnlySpan<T> rowStats, int vocab,
        int ignoreIndex, Span<T> dLogits) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rows = targets.Length;
        RowLoop.CheckMatrix(nameof(logits), rows, vocab, logits.Length);
        RowLoop.CheckMatrix(nameof(rowStats), rows, 2, rowStats.Length);
        RowLoop.CheckMatrix(nameof(dLogits), rows, vocab, dLogits.Length);
        Operators.CheckLength(nameof(rowScales), rows, rowScales.Length);
        CountTargets(targets, vocab, ignoreIndex);
        fixed (T* px = logits, ps = rowStats, pd = dLogits, pr = rowScales)
        fixed (int* pt = targets)
        {
            var body = new BackwardBody<T> { X = px, Targets = pt, Stats = ps, Dx = pd, Vocab = vocab, Ignore = ignoreIndex, RowScales = pr };
            RowLoop.Run(rows, vocab, ref body);
        }
    }

    /// <summary>The scalar reference (double accumulation): per-row losses, returns the mean.</summary>
    public static T ForwardNaive<T>(ReadOnlySpan<T> logits, ReadOnlySpan<int> targets, int vocab, int ignoreIndex, Span<T> losses)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double total = 0;
        var count = 0;
        for (var r = 0; r < targets.Length; r++)
        {
            if (targets[r] == ignoreIndex) { losses[r] = T.Zero; continue; }
            var max = double.NegativeInfinity;
            for (var j = 0; j < vocab; j++) { max = Math.Max(max, double.CreateChecked(logits[r * vocab + j])); }
            var sum = 0.0;
            for (var j = 0; j < vocab; j++) { sum += Math.Exp(double.CreateChecked(logits[r * vocab + j]) - max); }
            var loss = max + Math.Log(sum) - double.CreateChecked(logits[r * vocab + targets[r]]);
            losses[r] = T.CreateChecked(loss);
            total += loss;
            count++;
        }
        return count == 0 ? T.Zero : T.CreateChecked(total / count);
    }

    private static int CountTargets(ReadOnlySpan<int> targets, int vocab, int ignoreIndex)
    {
        var count = 0;
        foreach (var t in targets)
        {
            if (t == ignoreIndex) { continue; }
            if ((uint)t >= (uint)vocab)
            {
                throw new ArgumentOutOfRangeException(nameof(targets), $"target {t} is outside the vocabulary [0, {vocab}) and is not the ignore index {ignoreIndex}");
            }
            count++;
        }
        return count;
    }

    private readonly struct ForwardBody<T> : IRowBody where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T* X { get; init; }
        public int* Targets { get; init; }
        public T* Losses { get; init; }
        public T* Stats { get; init; }
        public int Vocab { get; init; }
        public int Ignore { get; init; }

        public void Row(int row)
        {
            var x = new ReadOnlySpan<T>(X + (long)row * Vocab, Vocab);
            var logSum = LogSoftmax.LogSumExp(x, out var max);
            Stats[2 * row] = max;
            Stats[2 * row + 1] = logSum;
            var t = Targets[row];
            Losses[row] = t == Ignore ? T.Zero : logSum - (x[t] - max); // not lse - x[t]: max + logSum rounds at |x| ~ 1e4
        }
    }

    private readonly struct BackwardBody<T> : IRowBody where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T* X { get; init; }
        public int* Targets { get; init; }
        public T* Stats { get; init; }
        public T* Dx { get; init; }
        public int Vocab { get; init; }
        public int Ignore { get; init; }
        public T Scale { get; init; }
        public T* RowScales { get; init; } // null: every row takes Scale

        public void Row(int row)
        {
            var dx = new Span<T>(Dx + (long)row * Vocab, Vocab);
            var t = Targets[row];
            if (t == Ignore)
            {
                dx.Clear();
                return;
            }
            var scale = RowScales == null ? Scale : RowScales[row];
            Operators.MapSerial(new ReadOnlySpan<T>(X + (long)row * Vocab, Vocab), dx, new SoftmaxScaleOp<T>(Stats[2 * row], Stats[2 * row + 1], scale));
            dx[t] -= scale;
        }
    }

    /// <summary>x → exp(x − max − logSum)·scale</summary>
    private readonly struct SoftmaxScaleOp<T>(T max, T logSum, T scale) : IUnaryOperator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T Invoke(T x) => T.Exp(x - max - logSum) * scale;
        public Vector128<T> Invoke(Vector128<T> x) => VExp(x - Vector128.Create(max) - Vector128.Create(logSum)) * Vector128.Create(scale);
        public Vector256<T> Invoke(Vector256<T> x) => VExp(x - Vector256.Create(max) - Vector256.Create(logSum)) * Vector256.Create(scale);
        public Vector512<T> Invoke(Vector512<T> x) => VExp(x - Vector512.Create(max) - Vector512.Create(logSum)) * Vector512.Create(scale);
    }
}
