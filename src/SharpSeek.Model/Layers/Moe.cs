// Moe.cs: the DeepSeekMoE layer (DeepSeek-V3 technical report §2.1.2): the gate picks K routed experts per token; each expert runs only on its tokens
// (rows gathered in expert order, one SwiGLU per expert on its block of rows), the outputs are concatenated back in that
// order and added into their tokens with the gate weights; the shared experts (one SwiGLU of width n_shared·moe_inter)
// see every token. No capacity limit, no dropping. The forward returns its routing (MoeRouting) and keeps nothing, so
// forwards can interleave; its counts live in the tape's arena and its scratch on the stack, so after warm-up it
// allocates nothing on the GC heap (under FP8 training, a closure per forward: the experts and the combine are a region
// recomputed in backward, RecomputeOp; with fp8-dispatch the routed rows and the gradient before the down projections
// cross in E4M3, Fp8DispatchOp). Not here: expert parallelism. Tested by GateTests (the MoE output against a
// double computation), TransformerTests, GoldenReferenceTests and DeepSeekTrainingStepAllocationTests.
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Model.Layers;

public sealed partial class Moe : IFeedForward
{
    /// <summary>The checkpoint layer index (MTP modules count on from num_hidden_layers), named in the routing.</summary>
    public required int Layer { get; init; }

    public required Gate Gate { get; init; }

    /// <summary>The routed experts, mlp.experts.{e}.</summary>
    public required IReadOnlyList<Mlp> Experts { get; init; }

    /// <summary>mlp.shared_experts, or null when n_shared_experts is 0.</summary>
    public Mlp? Shared { get; init; }

    /// <summary>x: (B, T, D) normed input → (B, T, D), the routing discarded.</summary>
    public Var Forward(Tape tape, Var x) => Forward(tape, x, default, out _);

    /// <summary>x: (B, T, D) normed input → (B, T, D), and what was routed (see <see cref="IFeedForward"/>).</summary>
    public Var Forward(Tape tape, Var x, in MoeRouting replay, out MoeRouting routing)
    {
        if (replay.IsRouted && replay.Layer != Layer) { throw new ArgumentException($"moe: a routing of layer {replay.Layer} replayed in layer {Layer}", nameof(replay)); }
        var e = Experts.Count;
        Span<int> start = e <= 1024 ? stackalloc int[e] : new int[e];
        var shape = tape.Value(x).Shape;
        long n = shape.Rows, d = shape.Last;
        var u = ReshapeOp.Apply(tape, x, n, d);                                  // (N, D)
        var dispatch = Profiler.Region(ProfileCategory.Routing);                 // gate and sort; the experts are not in it
        var (weights, indices, scores) = Gate.Forward(tape, u, replay.Experts); // (N, K), I32 (N, K), (N, E)
        var chosen = indices.AsSpan<int>();
        var slots = chosen.Length;                                               // S = N·K

        // Counting sort of the slots (token n, choice k) by expert; ties keep slot order.
        var loadTensor = tape.Arena.Allocate(DType.I32, new Shape(e));          // tokens per expert
        var load = loadTensor.AsSpan<int>();
        load.Clear();
        foreach (var expert in chosen) { load[expert]++; }
        for (int i = 0, sum = 0; i < e; sum += load[i], i++) { start[i] = sum; }
        var slotOf = tape.Arena.Allocate(DType.I32, new Shape(slots));           // sorted position → slot
        var tokenOf = tape.Arena.Allocate(DType.I32, new Shape(slots));          // sorted position → token
        var slotSpan = slotOf.AsSpan<int>();
        var tokenSpan = tokenOf.AsSpan<int>();
        var k = slots / (int)n;
        for (var s = 0; s < slots; s++)
        {
            var at = start[chosen[s]]++;
            slotSpan[at] = s;
            tokenSpan[at] = s / k;
        }

        dispatch.Dispose();
        // The experts, the combine and the shared experts: under FP8 a region recomputed in backward from u and the
        // gate weights, which the layer keeps anyway (RecomputeOp).
        var y = Recompute ? Recomputed(tape, u, weights, loadTensor, slotOf, tokenOf) : RunExperts(tape, u, weights, loadTensor, slotOf, tokenOf);
        routing = new MoeRouting(Layer, scores, indices, loadTensor);
        Span<long> dims = stackalloc long[shape.Rank];
        for (var i = 0; i < dims.Length; i++) { dims[i] = shape[i]; }
        return ReshapeOp.Apply(tape, y, dims);
    }

    /// <summary>Under FP8 training (ModelWeights.UsePrecision): the experts and the combine are recomputed in backward.</summary>
    public bool Recompute { get; set; }

    /// <summary>Under FP8 with the fp8-dispatch recipe (ModelWeights.UsePrecision): the routed rows leave the layer in
    /// E4M3 with power-of-two scales, and the gradient before the experts' down projections in backward (Fp8DispatchOp).</summary>
    public bool Fp8Dispatch { get; set; }

    // The region's closure lives here, so that the plain path allocates nothing.
    private Var Recomputed(Tape tape, Var u, Var weights, Tensor loadTensor, Tensor slotOf, Tensor tokenOf) =>
        RecomputeOp.Apply(tape, u, weights, tape.Value(u).Shape, (t, uu, ww) => RunExperts(t, uu, ww, loadTensor, slotOf, tokenOf));

    // u: (N, D), weights: (N, K) → Σ_k weight · expert_k(u) + shared(u), (N, D): each expert on its block of rows
    // (gathered in expert order), all blocks back in sorted order, weighted and scattered back to their tokens.
    private Var RunExperts(Tape tape, Var u, Var weights, Tensor loadTensor, Tensor slotOf, Tensor tokenOf)
    {
        var e = Experts.Count;
        var load = loadTensor.AsSpan<int>();
        Span<Var> outputs = e <= 1024 ? stackalloc Var[e] : new Var[e];
        var slots = (int)slotOf.ElementCount;
        var n = tape.Value(u).Shape.Rows;
        Var rows;
        using (Profiler.Region(ProfileCategory.Routing)) { rows = GatherRowsOp.Apply(tape, Fp8Dispatch ? Fp8DispatchOp.Apply(tape, u) : u, tokenOf); } // (S, D)
        var used = 0;
        for (int i = 0, offset = 0; i < e; offset += load[i], i++)
        {
            if (load[i] == 0) { continue; }
            Var block;
            using (Profiler.Region(ProfileCategory.Routing)) { block = NarrowOp.Apply(tape, rows, 0, offset, load[i]); } // (load_e, D)
            outputs[used++] = Experts[i].Forward(tape, block);
        }
        var combine = Profiler.Region(ProfileCategory.Routing);                  // concat, weight and scatter back
        var routed = ConcatOp.Apply(tape, outputs[..used], 0);                   // (S, D)
        if (Fp8Dispatch) { routed = Fp8DispatchOp.ApplyToGradient(tape, routed); } // its gradient goes back to the experts in FP8
        var w = ReshapeOp.Apply(tape, GatherRowsOp.Apply(tape, ReshapeOp.Apply(tape, weights, slots, 1), slotOf), slots); // (S)
        var y = ScatterAddRowsOp.Apply(tape, routed, w, tokenOf, n);             // (N, D)
        combine.Dispose();
        return Shared is null ? y : AddOp.Apply(tape, y, Shared.Forward(tape, u));
    }
}
