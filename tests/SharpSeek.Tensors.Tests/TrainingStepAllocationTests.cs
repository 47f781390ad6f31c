// TrainingStepAllocationTests.cs: after warm-up, a whole training step of a tiny language model (forward, backward,
// update) on arenas allocates nothing on the GC heap, on the calling thread or the worker threads, and its loss falls.
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Tensors.Tests;

[Collection(SerialCollection.Name)]
public sealed class TrainingStepAllocationTests
{
    // embedding → RMSNorm → SwiGLU MLP (+ residual) → head → cross-entropy
    private sealed class TinyLm : IDisposable
    {
        private const int Vocab = 50, Dim = 32, Hidden = 64;
        private readonly Arena _parameters = new("parameters");
        private readonly Arena _gradients = new("gradients");
        private readonly Tensor[] _weights;
        private readonly Tensor[] _grads;

        public TinyLm(int seed)
        {
            var rng = new Random(seed);
            long[][] shapes = [[Vocab, Dim], [Dim], [Hidden, Dim], [Hidden, Dim], [Dim, Hidden], [Vocab, Dim]];
            _weights = [.. shapes.Select(s => _parameters.Allocate(DType.F32, new Shape(s)))];
            _grads = [.. shapes.Select(s => _gradients.Allocate(DType.F32, new Shape(s)))];
            foreach (var w in _weights)
            {
                var s = w.AsSpan<float>();
                for (var i = 0; i < s.Length; i++) { s[i] = w.Rank == 1 ? 1f : (float)(rng.NextDouble() - 0.5) * 0.3f; }
            }
        }

        public float Step(Tape tape, Tensor ids, Tensor targets, float lr)
        {
            tape.Reset();
            Span<Var> p = stackalloc Var[_weights.Length];
            for (var i = 0; i < p.Length; i++) { p[i] = tape.Leaf(_weights[i], _grads[i]); }
            var x = EmbeddingOp.Apply(tape, p[0], ids);                                     // x: (B, T, D)
            var h = RmsNormOp.Apply(tape, x, p[1], 1e-6);
            var gate = MatmulOp.Apply(tape, h, p[2], transposeB: true);                     // gate, up: (B, T, hidden)
            var up = MatmulOp.Apply(tape, h, p[3], transposeB: true);
            var mlp = MatmulOp.Apply(tape, SwiGluOp.Apply(tape, gate, up), p[4], transposeB: true);
            var logits = MatmulOp.Apply(tape, AddOp.Apply(tape, x, mlp), p[5], transposeB: true); // logits: (B, T, V)
            var loss = CrossEntropyOp.Apply(tape, logits, targets);
            tape.Backward(loss);
            for (var i = 0; i < _weights.Length; i++)
            {
                var w = _weights[i].AsSpan<float>();
                var g = _grads[i].AsSpan<float>();
                for (var j = 0; j < w.Length; j++) { w[j] -= lr * g[j]; }
                g.Clear();
            }
            return tape.Value(loss).AsSpan<float>()[0];
        }

        public void Dispose()
        {
            _parameters.Dispose();
            _gradients.Dispose();
        }
    }

    [Fact]
    public void TrainingStep_AfterWarmUp_AllocatesNothingOnTheGcHeap()
    {
        using var model = new TinyLm(seed: 3);
        using var data = new Arena("data");
        var rng = new Random(5);
        var tokens = Enumerable.Range(0, 4 * 33).Select(_ => rng.Next(50)).ToArray();
        var ids = data.Allocate<int>(4, 32);
        var targets = data.Allocate<int>(4 * 32);
        for (var b = 0; b < 4; b++)
        {
            tokens.AsSpan(b * 33, 32).CopyTo(ids.AsSpan<int>()[(b * 32)..]);
            tokens.AsSpan(b * 33 + 1, 32).CopyTo(targets.AsSpan<int>()[(b * 32)..]);
        }
        using var step = new Arena("step", 64);
        var tape = new Tape(step);

        var first = model.Step(tape, ids, targets, 0.5f);
        for (var i = 0; i < 3; i++) { model.Step(tape, ids, targets, 0.5f); } // warm-up: arenas and tape reach their size
        // This thread plus the worker pool's threads (process-wide counters would also count the test runner's threads).
        var pool = WorkerPool.Current;
        var before = GC.GetAllocatedBytesForCurrentThread() + pool.WorkerAllocatedBytes;
        float last = 0;
        for (var i = 0; i < 20; i++) { last = model.Step(tape, ids, targets, 0.5f); }
        var allocated = GC.GetAllocatedBytesForCurrentThread() + pool.WorkerAllocatedBytes - before;

        Assert.Equal(0, allocated);
        Assert.True(last < first * 0.9f, $"loss should fall: first {first}, last {last}");
    }
}
