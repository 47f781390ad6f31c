// Moe.cs: the DeepSeekMoE layer (DeepSeek-V3 technical report §2.1.2): the gate picks K routed experts per token; each expert runs only on its tokens
// (rows gathered in expert order, one SwiGLU per expert on its block of rows), the outputs are concatenated back in that
// order and added into their tokens with the gate weights; the shared experts (one SwiGLU of width n_shared·moe_inter)
// see every token. No capacity limit, no dropping; after warm-up a forward allocates nothing on the GC heap (the expert
// outputs go to an array the layer keeps). Not here: expert parallelism. Tested by GateTests (the MoE output against a
// double computation), TransformerTests, GoldenReferenceTests and DeepSeekTrainingStepAllocationTests.
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Model.Layers;

public sealed partial class Moe
{
    private int[] _load = [];
    private long[] _stepLoad = [];
    private Var[] _outputs = []; // the experts' outputs of the running forward, reused so that a step allocates nothing

    public required Gate Gate { get; init; }

    /// <summary>The routed experts, mlp.experts.{e}.</summary>
    public required IReadOnlyList<Mlp> Experts { get; init; }

    /// <summary>mlp.shared_experts, or null when n_shared_experts is 0.</summary>
    public Mlp? Shared { get; init; }

    /// <summary>Tokens sent to each expert by the last forward (E entries), for load balancing.</summary>
    public ReadOnlySpan<int> Load => _load;

    /// <summary>Tokens sent to each expert by every forward with gradients on since <see cref="ResetStepLoad"/>: the
    /// load of a whole optimizer step over its micro-batches, which the bias update reads.</summary>
    public ReadOnlySpan<long> StepLoad => _stepLoad;

    /// <summary>Starts a new step's load count.</summary>
    public void ResetStepLoad() => Array.Clear(_stepLoad);

    /// <summary>x: (B, T, D) normed input → (B, T, D).</summary>
    public Var Forward(Tape tape, Var x)
    {
        var shape = tape.Value(x).Shape;
        long n = shape.Rows, d = shape.Last;
        var u = ReshapeOp.Apply(tape, x, n, d);                                  // (N, D)
        var dispatch = Profiler.Region(ProfileCategory.Routing);                 // gate, sort and gather; the experts are not in it
        var (weights, indices) = Gate.Forward(tape, u);                          // (N, K)
        var chosen = indices.AsSpan<int>();
        var slots = chosen.Length;                                               // S = N·K

        // Counting sort of the slots (token n, choice k) by expert; ties keep slot order.
        var e = Experts.Count;
        if (_load.Length != e) { _load = new int[e]; }
        Array.Clear(_load);
        foreach (var expert in chosen) { _load[expert]++; }
        if (_stepLoad.Length != e) { _stepLoad = new long[e]; }
        for (var i = 0; tape.GradEnabled && i < e; i++) { _stepLoad[i] += _load[i]; }
        Span<int> start = e <= 1024 ? stackalloc int[e] : new int[e];
        for (int i = 0, sum = 0; i < e; sum += _load[i], i++) { start[i] = sum; }
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

        // Each expert on its block of rows, then all blocks back in sorted order.
        var rows = GatherRowsOp.Apply(tape, u, tokenOf);                          // (S, D)
        dispatch.Dispose();
        if (_outputs.Length != e) { _outputs = new Var[e]; }
        var used = 0;
        for (int i = 0, offset = 0; i < e; offset += _load[i], i++)
        {
            if (_load[i] == 0) { continue; }
            Var block;
            using (Profiler.Region(ProfileCategory.Routing)) { block = NarrowOp.Apply(tape, rows, 0, offset, _load[i]); } // (load_e, D)
            _outputs[used++] = Experts[i].Forward(tape, block);
        }
        var combine = Profiler.Region(ProfileCategory.Routing);                  // concat, weight and scatter back
        var routed = ConcatOp.Apply(tape, _outputs.AsSpan(0, used), 0);          // (S, D)
        var w = ReshapeOp.Apply(tape, GatherRowsOp.Apply(tape, ReshapeOp.Apply(tape, weights, slots, 1), slotOf), slots); // (S)
        var y = ScatterAddRowsOp.Apply(tape, routed, w, tokenOf, n);             // (N, D)
        combine.Dispose();
        if (Shared is not null) { y = AddOp.Apply(tape, y, Shared.Forward(tape, u)); }
        Span<long> dims = stackalloc long[shape.Rank];
        for (var i = 0; i < dims.Length; i++) { dims[i] = shape[i]; }
        return ReshapeOp.Apply(tape, y, dims);
    }
}
