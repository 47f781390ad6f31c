// Moe.Infer.cs: the MoE layer's inference form, tape-free over the experts' Linear views (DeepSeek-V3 technical report
// §2.1.2; deepseek-ai/DeepSeek-V3:inference/model.py, Gate and MoE): router scores (sigmoid or softmax of x·Wgᵀ), the
// Gate's own Choose and Weights for the choice (correction bias for selection only, group-limited top-k) and the
// weights (normalized × routed_scaling_factor); rows sorted by expert so each expert runs once on its own rows; outputs
// added back with their weights; the shared experts on every row. Decode-sized steps run the experts together, one pool
// item per projection. The routing lives in the step's arena and is kept nowhere. Not here: the training forward
// (Moe.cs). Tested by ModelRunnerTests.
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Model.Layers;

public sealed partial class Moe
{
    // Steps of at most this many rows (decode, verify) run the experts together: every expert then has at most 4 rows,
    // the GEMV path's limit, so each projection is one short streaming pass.
    private const int TogetherRows = 4;

    /// <summary>x: (..., D) normed input → (..., D) through the views, gradients off.</summary>
    public Var Infer(Tape tape, Var x)
    {
        if (tape.GradEnabled) { throw new InvalidOperationException("Infer reads the inference views and computes no gradients; set tape.GradEnabled = false"); }
        var a = tape.Value(x);
        var y = tape.Arena.Allocate(DType.F32, a.Shape);
        Apply(a, y, tape.Arena);
        return tape.Constant(y);
    }

    // a: (R, D) normed input (any leading dims); y: (R, D) += MoE(a); scratch from the arena.
    private void Apply(Tensor a, Tensor y, Arena arena)
    {
        using var region = Profiler.Region(ProfileCategory.Routing);                            // the experts' projections are GEMM inside it
        var c = Gate.Config;
        int rows = (int)a.Shape.Rows, d = (int)a.Shape.Last, e = Experts.Count, k = c.ExpertsPerToken, slots = rows * k;
        var scores = arena.Allocate(DType.F32, new Shape(rows, e)).AsSpan<float>();            // (R, E)
        Matmul.Gemm<float>(a.AsSpan<float>(), Gate.Weight.Value.AsSpan<float>(), scores, rows, e, d, transposeB: true);
        if (c.ScoringFunc == "softmax") { Softmax.Forward<float>(scores, rows, e, scores); } else { Elementwise.Sigmoid<float>(scores, scores); }
        var chosen = arena.Allocate(DType.I32, new Shape(rows, k)).AsSpan<int>();              // (R, K)
        var weights = arena.Allocate(DType.F32, new Shape(rows, k)).AsSpan<float>();           // (R, K)
        Gate.Choose<float>(c, scores, Gate.CorrectionBias is { } bias ? bias.Value.AsSpan<float>() : default, chosen);
        Gate.Weights(c, scores, chosen, weights);

        // Counting sort of the slots (row, choice) by expert.
        var counts = arena.Allocate(DType.I32, new Shape(2, e)).AsSpan<int>();
        var load = counts[..e];
        var next = counts[e..];
        foreach (var expert in chosen) { load[expert]++; }
        for (int i = 0, sum = 0; i < e; sum += load[i], i++) { next[i] = sum; }
        var slotOf = arena.Allocate(DType.I32, new Shape(slots)).AsSpan<int>();                // sorted position → slot
        var gatheredTensor = arena.Allocate(DType.F32, new Shape(slots, d));
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
        var routedTensor = arena.Allocate(DType.F32, new Shape(slots, d));
        var routed = routedTensor.AsSpan<float>();                                                // (S, D)
        var together = rows <= TogetherRows && WorkerPool.Current.Threads > 1;
        var separateShared = together && Shared is not null;
        var sharedOut = separateShared ? arena.Allocate(DType.F32, new Shape(rows, d)) : default; // (R, D)
        if (together) { ExpertsTogether(a, gatheredTensor, routedTensor, sharedOut, load, arena); }
        for (int i = 0, offset = 0; i < e && !together; offset += load[i], i++)
        {
            if (load[i] == 0) { continue; }
            Experts[i].Apply(gathered.Slice(offset * d, load[i] * d), routed.Slice(offset * d, load[i] * d), load[i], arena);
        }
        var output = y.AsSpan<float>();
        for (var at = 0; at < slots; at++)
        {
            var s = slotOf[at];
            Elementwise.Axpy<float>(routed.Slice(at * d, d), weights[s], output.Slice(s / k * d, d));
        }
        if (Shared is { } shared && !together) { shared.Apply(x, output, rows, arena); }
        if (separateShared) { Elementwise.Add<float>(output, sharedOut.AsSpan<float>(), output); } // after the routed sum, as above
    }

    // Every active expert and the shared experts as pool items of whole projections (each GEMV on one thread): gate and
    // up of all of them in one loop, SwiGLU, then all the downs in a second; the routed outputs replace their gathered
    // blocks, the shared output goes to sharedOut (the caller adds it after the routed sum, in the serial path's order).
    // A decode step's experts are ~25K-weight GEMVs, too short to split well one at a time. Each item computes exactly
    // what the one-at-a-time path does, so the results are bitwise the same.
    private void ExpertsTogether(Tensor a, Tensor gathered, Tensor routed, Tensor sharedOut, ReadOnlySpan<int> load, Arena arena)
    {
        int rows = (int)a.Shape.Rows, slots = (int)gathered.Size(0), count = 0;
        var interRouted = Experts[0].Gate.View.Rows;
        var interShared = Shared?.Gate.View.Rows ?? 0;
        var g = arena.Allocate(DType.F32, new Shape((slots * interRouted) + (rows * interShared)));   // gate outputs, routed then shared
        var u = arena.Allocate(DType.F32, g.Shape);                                                     // up outputs, likewise
        var jobTensor = arena.Allocate(DType.I32, new Shape((2 * load.Length) + 2, ExpertJobs.Fields));
        var jobs = jobTensor.AsSpan<int>();
        static void Add(Span<int> table, ref int n, int expert, int projection, int first, int length)
        {
            var job = table.Slice(n++ * ExpertJobs.Fields, ExpertJobs.Fields);
            (job[0], job[1], job[2], job[3]) = (expert, projection, first, length);
        }
        for (int i = 0, offset = 0; i < load.Length; offset += load[i], i++)
        {
            if (load[i] == 0) { continue; }
            Add(jobs, ref count, i, ExpertJobs.GateProjection, offset, load[i]);
            Add(jobs, ref count, i, ExpertJobs.UpProjection, offset, load[i]);
        }
        if (Shared is not null)
        {
            Add(jobs, ref count, ExpertJobs.SharedExpert, ExpertJobs.GateProjection, 0, rows);
            Add(jobs, ref count, ExpertJobs.SharedExpert, ExpertJobs.UpProjection, 0, rows);
        }
        var work = new ExpertJobs { Moe = this, Jobs = jobTensor, A = a, Gathered = gathered, G = g, U = u, Routed = routed, SharedOut = sharedOut, SharedHidden = slots * interRouted };
        WorkerPool.Current.For(count, ref work);
        // SwiGLU per expert block, the spans the one-at-a-time path uses (a vector map's tail is computed in scalar code).
        void Activate(int start, int length)
            => Tensors.Kernels.SwiGlu.Forward<float>(g.AsSpan<float>().Slice(start, length), u.AsSpan<float>().Slice(start, length), g.AsSpan<float>().Slice(start, length));
        for (int i = 0, offset = 0; i < load.Length; offset += load[i], i++)
        {
            if (load[i] > 0) { Activate(offset * interRouted, load[i] * interRouted); }
        }
        if (Shared is not null) { Activate(slots * interRouted, rows * interShared); }
        count = 0;
        for (int i = 0, offset = 0; i < load.Length; offset += load[i], i++)
        {
            if (load[i] > 0) { Add(jobs, ref count, i, ExpertJobs.DownProjection, offset, load[i]); }
        }
        if (Shared is not null) { Add(jobs, ref count, ExpertJobs.SharedExpert, ExpertJobs.DownProjection, 0, rows); }
        WorkerPool.Current.For(count, ref work);
    }

    // Job i is (expert or SharedExpert, projection, first row, rows) in Jobs: gate and up read the gathered rows (the
    // shared experts: every row of A) into G and U; down reads G into the expert's block of Routed (shared: SharedOut).
    private struct ExpertJobs : IWorkItem
    {
        public const int Fields = 4;
        public const int SharedExpert = -1;
        public const int GateProjection = 0;
        public const int UpProjection = 1;
        public const int DownProjection = 2;

        public Moe Moe;
        public Tensor Jobs;
        public Tensor A;
        public Tensor Gathered;
        public Tensor G;
        public Tensor U;
        public Tensor Routed;
        public Tensor SharedOut;
        public int SharedHidden; // where the shared experts' rows start in G and U

        public readonly void Execute(int index, int worker)
        {
            var job = Jobs.AsSpan<int>().Slice(index * Fields, Fields);
            int expert = job[0], first = job[2], rows = job[3], d = (int)A.Shape.Last;
            var shared = expert == SharedExpert;
            var mlp = shared ? Moe.Shared! : Moe.Experts[expert];
            var inter = mlp.Gate.View.Rows;
            var hidden = shared ? SharedHidden : first * inter;
            var input = shared ? A.AsSpan<float>()[..(rows * d)] : Gathered.AsSpan<float>().Slice(first * d, rows * d);
            switch (job[1])
            {
                case GateProjection: mlp.Gate.Apply(input, G.AsSpan<float>().Slice(hidden, rows * inter), rows); break;
                case UpProjection: mlp.Up.Apply(input, U.AsSpan<float>().Slice(hidden, rows * inter), rows); break;
                default: mlp.Down.Apply(G.AsSpan<float>().Slice(hidden, rows * inter), shared ? SharedOut.AsSpan<float>()[..(rows * d)] : Routed.AsSpan<float>().Slice(first * d, rows * d), rows); break;
            }
        }
    }
}
