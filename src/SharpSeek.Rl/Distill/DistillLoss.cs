// DistillLoss.cs: the per-position losses of distillation on one row of the student's logits z (length V), each with its
// gradient beside it, added into a gradient row (scaled) so the caller seeds the tape's backward with it:
//   cross-entropy on the sampled token t (R1's SFT, arXiv 2501.12948 §2.4):   −log p_S(t);         ∂/∂z_i = p_S(i) − [i = t]
//   forward KL on the teacher's top-k (logits mode; Hinton et al. arXiv 1503.02531, truncated to the k tokens the teacher
//   data keeps, renormalized): KL(p̃_T ‖ p_S) = Σ_{j∈K} p̃_T(j) (log p̃_T(j) − log p_S(j));   ∂/∂z_i = p_S(i) − p̃_T(i)·[i∈K]
//   reverse KL over the vocabulary (on-policy mode, on the student's own samples; GKD arXiv 2306.13649, MiniLLM arXiv
//   2306.08543): KL(p_S ‖ p_T) = Σ_j p_S(j) d_j with d_j = log p_S(j) − log p_T(j);   ∂/∂z_i = p_S(i) (d_i − KL)
// The teacher's top-k log-probs are stored at its sampling temperature T (the engine's), log p = l/T − lse(l/T); its
// temperature-1 distribution over K is softmax(T · log p) there, which is what the forward KL reads. All sums in double.
// Not here: packing sequences and the tape (DistillRun). Tested by DistillLossTests (hand-computed values, finite
// differences).
namespace SharpSeek.Rl.Distill;

/// <summary>Distillation losses on one row of logits, with their gradients.</summary>
public static class DistillLoss
{
    /// <summary>log softmax(<paramref name="logits"/>) into <paramref name="logp"/>, in double.</summary>
    public static void LogSoftmax(ReadOnlySpan<float> logits, Span<double> logp)
    {
        if (logp.Length != logits.Length) { throw new ArgumentException($"{logp.Length} outputs for {logits.Length} logits"); }
        var max = double.NegativeInfinity;
        foreach (var x in logits) { max = Math.Max(max, x); }
        double sum = 0;
        foreach (var x in logits) { sum += Math.Exp(x - max); }
        var lse = max + Math.Log(sum);
        for (var i = 0; i < logits.Length; i++) { logp[i] = logits[i] - lse; }
    }

    /// <summary>−log p_S(<paramref name="target"/>); adds <paramref name="scale"/>·(p_S − onehot) to <paramref name="grad"/>.</summary>
    public static double CrossEntropy(ReadOnlySpan<double> logp, int target, Span<float> grad, double scale)
    {
        Check(logp, grad);
        if ((uint)target >= (uint)logp.Length) { throw new ArgumentOutOfRangeException(nameof(target), target, $"a target in [0, {logp.Length})"); }
        for (var i = 0; i < logp.Length; i++) { grad[i] += (float)(scale * Math.Exp(logp[i])); }
        grad[target] -= (float)scale;
        return -logp[target];
    }

    /// <summary>KL(p̃_T ‖ p_S) with p̃_T the teacher's top-k (<paramref name="ids"/>, <paramref name="teacherLogProbs"/> at
    /// <paramref name="temperature"/>) at temperature 1, renormalized over the k; adds <paramref name="scale"/> times
    /// its gradient to <paramref name="grad"/>.</summary>
    public static double TopKForwardKl(ReadOnlySpan<double> logp, ReadOnlySpan<int> ids, ReadOnlySpan<float> teacherLogProbs, double temperature, Span<float> grad, double scale)
    {
        Check(logp, grad);
        if (ids.Length != teacherLogProbs.Length || ids.Length == 0) { throw new ArgumentException($"{ids.Length} ids for {teacherLogProbs.Length} teacher log-probs (expected the same, at least one)"); }
        if (!(temperature > 0)) { throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "the teacher's sampling temperature is positive"); }
        Span<double> q = stackalloc double[ids.Length];
        var max = double.NegativeInfinity;
        for (var j = 0; j < ids.Length; j++) { max = Math.Max(max, q[j] = temperature * teacherLogProbs[j]); }
        double sum = 0;
        for (var j = 0; j < ids.Length; j++) { sum += Math.Exp(q[j] - max); }
        var lse = max + Math.Log(sum);
        for (var i = 0; i < logp.Length; i++) { grad[i] += (float)(scale * Math.Exp(logp[i])); }
        double kl = 0;
        for (var j = 0; j < ids.Length; j++)
        {
            if ((uint)ids[j] >= (uint)logp.Length) { throw new ArgumentOutOfRangeException(nameof(ids), ids[j], $"a teacher token id in [0, {logp.Length}): the student's vocabulary is smaller than the teacher's"); }
            var logq = q[j] - lse;
            var p = Math.Exp(logq);
            kl += p * (logq - logp[ids[j]]);
            grad[ids[j]] -= (float)(scale * p);
        }
        return kl;
    }

    /// <summary>KL(p_S ‖ p_T) over the whole vocabulary; adds <paramref name="scale"/> times its gradient to
    /// <paramref name="grad"/>.</summary>
    public static double ReverseKl(ReadOnlySpan<double> logp, ReadOnlySpan<double> teacherLogp, Span<float> grad, double scale)
    {
        Check(logp, grad);
        if (teacherLogp.Length != logp.Length) { throw new ArgumentException($"the teacher's row has {teacherLogp.Length} log-probs, the student's {logp.Length}: the two vocabularies differ"); }
        double kl = 0;
        for (var i = 0; i < logp.Length; i++) { kl += Math.Exp(logp[i]) * (logp[i] - teacherLogp[i]); }
        for (var i = 0; i < logp.Length; i++) { grad[i] += (float)(scale * Math.Exp(logp[i]) * (logp[i] - teacherLogp[i] - kl)); }
        return kl;
    }

    private static void Check(ReadOnlySpan<double> logp, Span<float> grad)
    {
        if (grad.Length != logp.Length) { throw new ArgumentException($"a gradient row of {grad.Length} for {logp.Length} logits"); }
    }
}
