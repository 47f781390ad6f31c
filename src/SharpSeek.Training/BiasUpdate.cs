// BiasUpdate.cs: DeepSeek-V3's auxiliary-loss-free balancing (DeepSeek-V3 technical report §2.1.2; γ in §4.2): after each optimizer step, every
// MoE layer's correction bias moves by γ toward balance, b_i += γ·sign(mean load − load_i), from the tokens each expert
// received over all micro-batches of the step. The step's count lives here: the training loop adds the routing of each
// training forward it ran (ForwardResult.Routing), not the layers. Not here: gradients (the bias has none), the balance
// losses (BalanceLoss). Tested by BiasUpdateTests and DeepSeekTrainingStepAllocationTests (Add and Apply allocate nothing).
using SharpSeek.Model;
using SharpSeek.Model.Layers;
using SharpSeek.Tensors;

namespace SharpSeek.Training;

/// <summary>The correction-bias rule with the expert loads of the step so far.</summary>
public sealed class BiasUpdate
{
    private readonly Moe?[] _moe;    // by checkpoint layer index (trunk, then MTP); null for a dense layer
    private readonly long[][] _load; // tokens per expert since the last update, by layer index ([] for a dense layer)

    public BiasUpdate(Transformer model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var blocks = model.Weights.Layers.Concat(model.Weights.Mtp.Select(m => m.Block)).ToList();
        _moe = [.. blocks.Select(b => b.Moe)];
        _load = [.. blocks.Select(b => new long[b.Moe?.Experts.Count ?? 0])];
    }

    /// <summary>Adds the tokens each expert received in <paramref name="forward"/> (a training forward of this step).</summary>
    public void Add(ForwardResult forward)
    {
        ArgumentNullException.ThrowIfNull(forward);
        foreach (var routing in forward.Routing)
        {
            var step = _load[routing.Layer];
            var load = routing.Load.AsSpan<int>();
            for (var i = 0; i < step.Length; i++) { step[i] += load[i]; }
        }
    }

    /// <summary>The loads counted since the last update, per MoE layer (trunk, then MTP), as <see cref="Apply"/> would read them.</summary>
    public List<(int Layer, long[] Load)> StepLoads() =>
        [.. _moe.Select((m, layer) => (m, layer)).Where(p => p.m is not null).Select(p => (p.layer, _load[p.layer].ToArray()))];

    /// <summary>
    /// For every MoE layer with a correction bias: b_i += γ·sign(mean_j load_j − load_i), over the loads added since the
    /// last update; then starts a new count. A layer that saw no token is left as it is. γ = 0 only resets the counts.
    /// </summary>
    public void Apply(double gamma)
    {
        if (!(gamma >= 0) || double.IsInfinity(gamma)) { throw new ArgumentOutOfRangeException(nameof(gamma), $"bias update speed must be finite and ≥ 0; got {gamma}"); }
        for (var layer = 0; layer < _moe.Length; layer++) // indexed, no enumerator: a step allocates nothing
        {
            var load = _load[layer];
            if (_moe[layer]?.Gate.CorrectionBias is { } bias && load.Length > 0 && gamma > 0)
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
            Array.Clear(load);
        }
    }
}
