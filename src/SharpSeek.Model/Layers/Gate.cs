// Gate.cs: the MoE router (DeepSeek-V3 technical report §2.1.2; deepseek-ai/DeepSeek-V3:inference/model.py, Gate). Scores = sigmoid (V3) or softmax (V2) of u·Wgᵀ; experts are chosen on the scores plus
// e_score_correction_bias (choice only), limited to the top topk_group groups (group score: sum of the top-2 biased scores,
// or the max without a bias); weights are the unbiased scores at the chosen experts, normalized by their sum when
// norm_topk_prob, times routed_scaling_factor. The choice is a constant to autograd; the weights are differentiable.
// The forward returns its scores (on the tape) and choice with the weights, and keeps nothing: the balance losses are
// built from what it returned. Not here: the bias update and balance losses (training). Tested by GateTests.
using System.Numerics;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Model.Layers;

public sealed class Gate
{
    public required ModelConfig Config { get; init; }

    /// <summary>mlp.gate.weight (E, D).</summary>
    public required Parameter Weight { get; init; }

    /// <summary>mlp.gate.e_score_correction_bias (E), or null for the V2-style router.</summary>
    public Parameter? CorrectionBias { get; init; }

    /// <summary>
    /// u: (N, D) → weights (N, K) on the tape, the chosen experts, I32 (N, K), largest biased score first, and the unbiased
    /// scores (N, E) on the tape (what the balance losses differentiate). Given <paramref name="experts"/> (I32 (N, K)),
    /// those are the choice instead (routing held fixed, as for finite differences).
    /// </summary>
    public (Var Weights, Tensor Indices, Var Scores) Forward(Tape tape, Var u, Tensor experts = default)
    {
        using var region = Profiler.Region(ProfileCategory.Routing);
        var c = Config;
        var logits = Linear.Apply(tape, u, Weight);                                                   // (N, E)
        var scores = c.ScoringFunc == "softmax" ? SoftmaxOp.Apply(tape, logits) : SigmoidOp.Apply(tape, logits);
        var s = tape.Value(scores);
        int n = (int)s.Size(0), k = c.ExpertsPerToken;
        var indices = tape.Arena.Allocate(DType.I32, new Shape(n, k));
        if (experts.IsValid)
        {
            if (experts.DType != DType.I32 || experts.ElementCount != (long)n * k)
            {
                throw new ArgumentException($"gate: the given experts are {experts.DType} {experts.Shape}; expected I32 (N, K) = ({n}, {k})", nameof(experts));
            }
            experts.AsSpan<int>().CopyTo(indices.AsSpan<int>());
        }
        else if (s.DType == DType.F64) { Choose<double>(c, s.AsSpan<double>(), CorrectionBias is { } b ? b.Value.AsSpan<double>() : default, indices.AsSpan<int>()); }
        else { Choose<float>(c, s.AsSpan<float>(), CorrectionBias is { } b ? b.Value.AsSpan<float>() : default, indices.AsSpan<int>()); }

        var weights = TakeAlongOp.Apply(tape, scores, indices);                                         // (N, K)
        if (c.NormTopKProb) { weights = NormalizeRowsOp.Apply(tape, weights, 1e-20); }
        if (c.RoutedScalingFactor != 1.0) { weights = ScaleOp.Apply(tape, weights, c.RoutedScalingFactor); }
        return (weights, indices, scores);
    }

    /// <summary>
    /// The tape-free choice: scores (N, E) unbiased router scores, bias (E) the correction bias or empty; indices (N, K).
    /// Per token: biased = s + b; keep the top topk_group groups; take the top K biased scores (ties to the lower index).
    /// </summary>
    public static void Choose<T>(ModelConfig c, ReadOnlySpan<T> scores, ReadOnlySpan<T> bias, Span<int> indices) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(c);
        int e = c.RoutedExperts, k = c.ExpertsPerToken, groups = c.ExpertGroups, perGroup = e / groups;
        var limitGroups = groups > 1 && c.TopKMethod != "greedy";
        var hasBias = !bias.IsEmpty;
        Span<double> biased = e <= 512 ? stackalloc double[e] : new double[e];
        Span<double> groupScore = stackalloc double[groups];
        for (var row = 0; row < scores.Length / e; row++)
        {
            for (var j = 0; j < e; j++) { biased[j] = double.CreateChecked(scores[row * e + j]) + (hasBias ? double.CreateChecked(bias[j]) : 0); }
            if (limitGroups)
            {
                for (var g = 0; g < groups; g++)
                {
                    var group = biased.Slice(g * perGroup, perGroup);
                    groupScore[g] = hasBias ? TopTwoSum(group) : Max(group);
                }
                for (var kept = 0; kept < c.TopKGroups; kept++) { groupScore[ArgMax(groupScore)] = double.NaN; } // NaN marks a kept group
                for (var g = 0; g < groups; g++)
                {
                    if (!double.IsNaN(groupScore[g])) { biased.Slice(g * perGroup, perGroup).Fill(double.NegativeInfinity); }
                }
            }
            for (var j = 0; j < k; j++)
            {
                var best = ArgMax(biased);
                indices[row * k + j] = best;
                biased[best] = double.NaN; // taken
            }
        }
    }

    /// <summary>The tape-free weights: w[n, k] = scores[n, indices[n, k]], divided by (their row sum + 1e-20) when
    /// norm_topk_prob, times routed_scaling_factor; the same math as <see cref="Forward"/>.</summary>
    public static void Weights(ModelConfig c, ReadOnlySpan<float> scores, ReadOnlySpan<int> indices, Span<float> weights)
    {
        ArgumentNullException.ThrowIfNull(c);
        int e = c.RoutedExperts, k = c.ExpertsPerToken;
        for (var row = 0; row < indices.Length / k; row++)
        {
            var w = weights.Slice(row * k, k);
            for (var j = 0; j < k; j++) { w[j] = scores[(row * e) + indices[(row * k) + j]]; }
            if (c.NormTopKProb)
            {
                var sum = 0f;
                foreach (var v in w) { sum += v; }
                var inv = 1f / (sum + 1e-20f);
                for (var j = 0; j < k; j++) { w[j] *= inv; }
            }
            for (var j = 0; j < k; j++) { w[j] *= (float)c.RoutedScalingFactor; }
        }
    }

    // The index of the largest value that is not NaN (NaN marks taken entries), ties to the lower index.
    private static int ArgMax(ReadOnlySpan<double> x)
    {
        var best = -1;
        for (var i = 0; i < x.Length; i++)
        {
            if (!double.IsNaN(x[i]) && (best < 0 || x[i] > x[best])) { best = i; }
        }
        return best;
    }

    private static double Max(ReadOnlySpan<double> x)
    {
        var m = double.NegativeInfinity;
        foreach (var v in x) { m = Math.Max(m, v); }
        return m;
    }

    private static double TopTwoSum(ReadOnlySpan<double> x)
    {
        double first = double.NegativeInfinity, second = double.NegativeInfinity;
        foreach (var v in x)
        {
            if (v > first) { (first, second) = (v, first); } else if (v > second) { second = v; }
        }
        return x.Length == 1 ? first : first + second;
    }
}
