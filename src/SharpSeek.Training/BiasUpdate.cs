// BiasUpdate.cs: DeepSeek-V3's auxiliary-loss-free balancing (DeepSeek-V3 technical report §2.1.2; γ in §4.2): after each optimizer step, every
// MoE layer's correction bias moves by γ toward balance, b_i += γ·sign(mean load − load_i), from the tokens each expert
// received over all micro-batches of the step (Moe.StepLoad). Not here: gradients (the bias has none), the balance
// losses (BalanceLoss). Tested by BiasUpdateTests and DeepSeekTrainingStepAllocationTests (Apply allocates nothing).
using SharpSeek.Model;
using SharpSeek.Tensors;

namespace SharpSeek.Training;

/// <summary>The correction-bias rule.</summary>
public static class BiasUpdate
{
    /// <summary>
    /// For every MoE layer with a correction bias: b_i += γ·sign(mean_j load_j − load_i), loads counted by the forwards
    /// with gradients on since the last update (the micro-batches of this step); then starts a new count. A layer that
    /// saw no token is left as it is. γ = 0 only resets the counts.
    /// </summary>
    public static void Apply(Transformer model, double gamma)
    {
        if (!(gamma >= 0) || double.IsInfinity(gamma)) { throw new ArgumentOutOfRangeException(nameof(gamma), $"bias update speed must be finite and ≥ 0; got {gamma}"); }
        for (var layer = 0; layer < Objective.BlockCount(model, model.Weights.Mtp.Count); layer++) // indexed, no enumerator: a step allocates nothing
        {
            if (Objective.BlockAt(model, layer).Moe is not { } moe) { continue; }
            var load = moe.StepLoad;
            if (moe.Gate.CorrectionBias is { } bias && load.Length > 0 && gamma > 0)
            {
                double sum = 0;
                foreach (var l in load) { sum += l; }
                var mean = sum / load.Length;
                for (var i = 0; sum > 0 && i < load.Length; i++)
                {
                    var step = gamma * Math.Sign(mean - load[i]);
                    if (bias.Value.DType == DType.F64) { bias.Value.AsSpan<double>()[i] += step; }
                    else { bias.Value.AsSpan<float>()[i] += (float)step; }
                }
            }
            moe.ResetStepLoad();
        }
    }

    /// <summary>Clears the load counts of every MoE layer (for example after forwards that should not count).</summary>
    public static void ResetLoads(Transformer model)
    {
        for (var i = 0; i < Objective.BlockCount(model, model.Weights.Mtp.Count); i++) { Objective.BlockAt(model, i).Moe?.ResetStepLoad(); }
    }

    /// <summary>The accumulated loads per MoE layer (trunk, then MTP), as BiasUpdate.Apply would read them.</summary>
    public static IEnumerable<(int Layer, long[] Load)> StepLoads(Transformer model) =>
        model.Weights.Layers.Concat(model.Weights.Mtp.Select(m => m.Block))
            .Where(l => l.Moe is not null).Select(l => (l.Index, l.Moe!.StepLoad.ToArray()));
}
