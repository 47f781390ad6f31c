// PassAtK.cs: the unbiased pass@k estimator of Chen et al. 2021 (arXiv 2107.03374 §2.1): with n samples of which c are
// correct, pass@k = 1 − C(n − c, k) / C(n, k), computed as a product so no binomial overflows. Not here: sampling
// (Evaluation). Tested by EvaluationTests.
namespace SharpSeek.Rl.Eval;

/// <summary>pass@k from n samples with c correct.</summary>
public static class PassAtK
{
    public static double Estimate(int n, int c, int k)
    {
        if (n < 1 || c < 0 || c > n || k < 1 || k > n) { throw new ArgumentOutOfRangeException(nameof(k), $"pass@k needs 1 ≤ k ≤ n and 0 ≤ c ≤ n; got n {n}, c {c}, k {k}"); }
        if (n - c < k) { return 1.0; }
        double missAll = 1; // C(n − c, k) / C(n, k) = Π_{i = n − c + 1}^{n} (1 − k / i)
        for (var i = n - c + 1; i <= n; i++) { missAll *= 1 - ((double)k / i); }
        return 1 - missAll;
    }
}
