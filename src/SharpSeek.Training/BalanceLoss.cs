// BalanceLoss.cs: the MoE balance losses on the tape, from one gate's scores (N, E) and its chosen experts (N, K):
// DeepSeek-V3's complementary sequence-wise loss (eq. 17–20) and DeepSeek-V2's expert-level auxiliary loss. The counts f
// are constants, written straight into the step arena; the gradient flows through the scores. Not here: choosing the
// layers (Objective), the bias rule (BiasUpdate). Tested by BalanceLossTests and DeepSeekTrainingStepAllocationTests.
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Training;

/// <summary>Load-balancing losses of one MoE layer, as tape values of shape (1,).</summary>
public static class BalanceLoss
{
    /// <summary>
    /// Sequence-wise: rows are <paramref name="sequences"/> sequences of T = N / sequences tokens each. Per sequence,
    /// f_i = E/(K·T)·#{t : t chose i}, P_i = (1/T)·Σ_t s'_{i,t} with s'_{i,t} = s_{i,t}/Σ_j s_{j,t}, and
    /// L = α·Σ_i f_i·P_i; the result is the mean of L over the sequences.
    /// </summary>
    public static Var SequenceWise(Tape tape, Var scores, ReadOnlySpan<int> indices, int sequences, double alpha)
    {
        var (n, e, k) = Dims(tape, scores, indices);
        if (sequences <= 0 || n % sequences != 0)
        {
            throw new ArgumentException($"balance loss: {n} score rows do not split into {sequences} sequences of equal length", nameof(sequences));
        }
        var perSequence = n / sequences;
        var x = NormalizeRowsOp.Apply(tape, scores);
        var coefficients = Coefficients(tape, x);              // c[t, i] = α·f_{seq(t), i} / (T·sequences)
        Span<double> counts = e <= 1024 ? stackalloc double[e] : new double[e];
        for (var q = 0; q < sequences; q++)
        {
            counts.Clear();
            foreach (var expert in indices.Slice(q * perSequence * k, perSequence * k)) { counts[expert]++; }
            for (var i = 0; i < e; i++)
            {
                var f = (double)e / ((double)k * perSequence) * counts[i];
                var c = alpha * f / perSequence / sequences;
                FillColumn(coefficients, e, i, q * perSequence, (q + 1) * perSequence, c);
            }
        }
        return WeightedSum(tape, x, coefficients);
    }

    /// <summary>
    /// Expert-level (DeepSeek-V2), over all N rows: f_i = E/(K·N)·#{t : t chose i}, P_i = (1/N)·Σ_t s_{i,t},
    /// L = α·Σ_i f_i·P_i. The scores are used as they are (V2's softmax rows sum to 1); with
    /// <paramref name="normalize"/> each row is first divided by its sum (for a sigmoid router).
    /// </summary>
    public static Var ExpertLevel(Tape tape, Var scores, ReadOnlySpan<int> indices, double alpha, bool normalize)
    {
        var (n, e, k) = Dims(tape, scores, indices);
        Span<double> counts = e <= 1024 ? stackalloc double[e] : new double[e];
        counts.Clear();
        foreach (var expert in indices) { counts[expert]++; }
        var x = normalize ? NormalizeRowsOp.Apply(tape, scores) : scores;
        var coefficients = Coefficients(tape, x);
        for (var i = 0; i < e; i++)
        {
            var c = alpha * ((double)e / ((double)k * n) * counts[i]) / n;
            FillColumn(coefficients, e, i, 0, n, c);
        }
        return WeightedSum(tape, x, coefficients);
    }

    private static (int N, int E, int K) Dims(Tape tape, Var scores, ReadOnlySpan<int> indices)
    {
        var s = tape.Value(scores);
        if (s.Rank != 2 || s.DType is not (DType.F32 or DType.F64))
        {
            throw new ArgumentException($"balance loss: scores must be F32 or F64 (N, E); got {s.DType} {s.Shape}", nameof(scores));
        }
        int n = (int)s.Size(0), e = (int)s.Size(1);
        if (n == 0 || indices.Length % n != 0 || indices.Length == 0)
        {
            throw new ArgumentException($"balance loss: {indices.Length} chosen experts for {n} score rows; expected N·K with K ≥ 1", nameof(indices));
        }
        foreach (var expert in indices)
        {
            if ((uint)expert >= (uint)e) { throw new ArgumentOutOfRangeException(nameof(indices), $"balance loss: expert {expert} outside [0, {e})"); }
        }
        return (n, e, indices.Length / n);
    }

    // The constant c of WeightedSum, in the step arena in x's dtype and shape (no GC allocation per step).
    private static Tensor Coefficients(Tape tape, Var x)
    {
        var xv = tape.Value(x);
        return tape.Arena.Allocate(xv.DType, xv.Shape);
    }

    // c[t, i] = value for rows t in [from, to) of c (·, e): value computed in double, rounded once to c's dtype.
    private static void FillColumn(Tensor c, int e, int i, int from, int to, double value)
    {
        if (c.DType == DType.F64)
        {
            var d = c.AsSpan<double>();
            for (var t = from; t < to; t++) { d[(t * e) + i] = value; }
        }
        else
        {
            var f = c.AsSpan<float>();
            for (var t = from; t < to; t++) { f[(t * e) + i] = (float)value; }
        }
    }

    // Σ_{t,i} c[t, i]·x[t, i], with c a constant.
    private static Var WeightedSum(Tape tape, Var x, Tensor coefficients) =>
        SumOp.Apply(tape, MulOp.Apply(tape, tape.Constant(coefficients), x));
}
