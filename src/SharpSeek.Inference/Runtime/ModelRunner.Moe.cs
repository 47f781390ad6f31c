// ModelRunner.Moe.cs: the MoE layer without a tape (spec §7–8): router scores (sigmoid or softmax of x·Wgᵀ), the model's
// own Gate.Choose/Gate.Weights for the choice (correction bias for selection only, group-limited top-k) and the weights
// (normalized × routed_scaling_factor); rows sorted by expert so each expert runs once on its own rows; outputs added
// back with their weights; the shared experts on every row. Tested by ModelRunnerTests.
using SharpSeek.Model.Layers;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Inference.Runtime;

public sealed partial class ModelRunner
{
    private int[] _load = [];

    // a: (R, D) normed input; y: (R, D) += MoE(a).
    private void MixtureOfExperts(MoeWeights moe, Tensor a, Tensor y)
    {
        using var region = Profiler.Region(ProfileCategory.Routing);                            // the experts' projections are GEMM inside it
        var c = Weights.Config;
        int rows = (int)a.Size(0), d = (int)a.Size(1), e = c.RoutedExperts, k = c.ExpertsPerToken, slots = rows * k;
        var scores = _step.Allocate(DType.F32, new Shape(rows, e)).AsSpan<float>();            // (R, E)
        Matmul.Gemm<float>(a.AsSpan<float>(), moe.GateWeight, scores, rows, e, d, transposeB: true);
        if (c.ScoringFunc == "softmax") { Softmax.Forward<float>(scores, rows, e, scores); } else { Elementwise.Sigmoid<float>(scores, scores); }
        var chosen = _step.Allocate(DType.I32, new Shape(rows, k)).AsSpan<int>();              // (R, K)
        var weights = _step.Allocate(DType.F32, new Shape(rows, k)).AsSpan<float>();           // (R, K)
        Gate.Choose<float>(c, scores, moe.CorrectionBias, chosen);
        Gate.Weights(c, scores, chosen, weights);

        // Counting sort of the slots (row, choice) by expert.
        if (_load.Length != 2 * e) { _load = new int[2 * e]; }
        var load = _load.AsSpan(0, e);
        var next = _load.AsSpan(e, e);
        load.Clear();
        foreach (var expert in chosen) { load[expert]++; }
        for (int i = 0, sum = 0; i < e; sum += load[i], i++) { next[i] = sum; }
        var slotOf = _step.Allocate(DType.I32, new Shape(slots)).AsSpan<int>();                // sorted position → slot
        var gathered = _step.Allocate(DType.F32, new Shape(slots, d)).AsSpan<float>();         // (S, D)
        var x = a.AsSpan<float>();
        for (var s = 0; s < slots; s++)
        {
            var at = next[chosen[s]]++;
            slotOf[at] = s;
            x.Slice(s / k * d, d).CopyTo(gathered.Slice(at * d, d));
        }

        // Each expert on its block of rows; the block is replaced by the expert's output.
        var routed = _step.Allocate(DType.F32, new Shape(slots, d)).AsSpan<float>();           // (S, D)
        for (int i = 0, offset = 0; i < e; offset += load[i], i++)
        {
            if (load[i] == 0) { continue; }
            SwiGlu(moe.Experts[i], gathered.Slice(offset * d, load[i] * d), routed.Slice(offset * d, load[i] * d), load[i]);
        }
        var output = y.AsSpan<float>();
        for (var at = 0; at < slots; at++)
        {
            var s = slotOf[at];
            Elementwise.Axpy<float>(routed.Slice(at * d, d), weights[s], output.Slice(s / k * d, d));
        }
        if (moe.Shared is { } shared) { SwiGlu(shared, x, output, rows); }
    }
}
