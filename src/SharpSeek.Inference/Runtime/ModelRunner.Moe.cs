// ModelRunner.Moe.cs: the MoE layer without a tape (DeepSeek-V3 technical report §2.1.2; deepseek-ai/DeepSeek-V3:inference/model.py, Gate and MoE): router scores (sigmoid or softmax of x·Wgᵀ), the model's
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
    // Steps of at most this many rows (decode, verify) run the experts together: every expert then has at most 4 rows,
    // the GEMV path's limit, so each projection is one short streaming pass.
    private const int TogetherRows = 4;

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
        var gatheredTensor = _step.Allocate(DType.F32, new Shape(slots, d));
        var gathered = gatheredTensor.AsSpan<float>();                                            // (S, D)
        var x = a.AsSpan<float>();
        for (var s = 0; s < slots; s++)
        {
            var at = next[chosen[s]]++;
            slotOf[at] = s;
            x.Slice(s / k * d, d).CopyTo(gathered.Slice(at * d, d));
        }

        // Each expert on its block of rows; the block is replaced by the expert's output. Decode-sized loads run the
        // experts together (ExpertsTogether), larger ones one after another, each GEMM using the whole pool.
        var routedTensor = _step.Allocate(DType.F32, new Shape(slots, d));
        var routed = routedTensor.AsSpan<float>();                                                // (S, D)
        var together = rows <= TogetherRows && WorkerPool.Current.Threads > 1;
        var separateShared = together && moe.Shared is not null;
        var sharedOut = separateShared ? _step.Allocate(DType.F32, a.Shape) : default;                      // (R, D)
        if (together) { ExpertsTogether(moe, a, gatheredTensor, routedTensor, sharedOut, load); }
        for (int i = 0, offset = 0; i < e && !together; offset += load[i], i++)
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
        if (moe.Shared is { } shared && !together) { SwiGlu(shared, x, output, rows); }
        if (separateShared) { Elementwise.Add<float>(output, sharedOut.AsSpan<float>(), output); } // after the routed sum, as above
    }

    private ProjectionJob[] _jobs = [];

    // Every active expert and the shared experts as pool items of whole projections (each GEMV on one thread): gate and
    // up of all of them in one loop, SwiGLU, then all the downs in a second; the routed outputs replace their gathered
    // blocks, the shared output goes to sharedOut (the caller adds it after the routed sum, in the serial path's order).
    // A decode step's experts are ~25K-weight GEMVs, too short to split well one at a time. Each item computes exactly
    // what the one-at-a-time path does, so the results are bitwise the same.
    private void ExpertsTogether(MoeWeights moe, Tensor a, Tensor gathered, Tensor routed, Tensor sharedOut, ReadOnlySpan<int> load)
    {
        int rows = (int)a.Size(0), d = (int)a.Size(1), slots = (int)gathered.Size(0), jobs = 0;
        var interRouted = moe.Experts[0].Gate.Rows;
        var interShared = moe.Shared?.Gate.Rows ?? 0;
        var g = _step.Allocate(DType.F32, new Shape((slots * interRouted) + (rows * interShared)));   // gate outputs, routed then shared
        var u = _step.Allocate(DType.F32, g.Shape);                                                     // up outputs, likewise
        if (_jobs.Length < (2 * load.Length) + 2) { _jobs = new ProjectionJob[(2 * load.Length) + 2]; }
        for (int i = 0, offset = 0; i < load.Length; offset += load[i], i++)
        {
            if (load[i] == 0) { continue; }
            var expert = moe.Experts[i];
            _jobs[jobs++] = new(expert.Gate, gathered, offset * d, g, offset * interRouted, load[i], false);
            _jobs[jobs++] = new(expert.Up, gathered, offset * d, u, offset * interRouted, load[i], false);
        }
        var shared = slots * interRouted;
        if (moe.Shared is { } s)
        {
            _jobs[jobs++] = new(s.Gate, a, 0, g, shared, rows, false);
            _jobs[jobs++] = new(s.Up, a, 0, u, shared, rows, false);
        }
        var work = new ProjectionJobs { Jobs = _jobs };
        WorkerPool.Current.For(jobs, ref work);
        // SwiGLU per expert block, the spans the one-at-a-time path uses (a vector map's tail is computed in scalar code).
        void Activate(int start, int length)
            => Tensors.Kernels.SwiGlu.Forward<float>(g.AsSpan<float>().Slice(start, length), u.AsSpan<float>().Slice(start, length), g.AsSpan<float>().Slice(start, length));
        for (int i = 0, offset = 0; i < load.Length; offset += load[i], i++)
        {
            if (load[i] > 0) { Activate(offset * interRouted, load[i] * interRouted); }
        }
        if (moe.Shared is not null) { Activate(shared, rows * interShared); }
        jobs = 0;
        for (int i = 0, offset = 0; i < load.Length; offset += load[i], i++)
        {
            if (load[i] > 0) { _jobs[jobs++] = new(moe.Experts[i].Down, g, offset * interRouted, routed, offset * d, load[i], false); }
        }
        if (moe.Shared is { } sharedDown) { _jobs[jobs++] = new(sharedDown.Down, g, shared, sharedOut, 0, rows, false); }
        WorkerPool.Current.For(jobs, ref work);
    }

    // y[YOffset ..] (Rows, W.Rows) [+]= x[XOffset ..] (Rows, W.Cols) · Wᵀ.
    private readonly record struct ProjectionJob(Projection W, Tensor X, int XOffset, Tensor Y, int YOffset, int Rows, bool Accumulate);

    private struct ProjectionJobs : IWorkItem
    {
        public ProjectionJob[] Jobs;

        public readonly void Execute(int index, int worker)
        {
            var j = Jobs[index];
            j.W.Apply(j.X.AsSpan<float>().Slice(j.XOffset, j.Rows * j.W.Cols), j.Y.AsSpan<float>().Slice(j.YOffset, j.Rows * j.W.Rows), j.Rows, j.Accumulate);
        }
    }
}
