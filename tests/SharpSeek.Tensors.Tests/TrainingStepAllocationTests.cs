// TrainingStepAllocationTests.cs: after warm-up, a whole training step (forward, backward, update) on arenas allocates
// nothing on the GC heap, on any thread.
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Tensors.Tests;

[Collection(SerialCollection.Name)]
public sealed class TrainingStepAllocationTests
{
    private sealed class TinyMlp : IDisposable
    {
        private readonly Arena _parameters = new("parameters");
        private readonly Arena _gradients = new("gradients");
        private readonly Tensor[] _weights;
        private readonly Tensor[] _grads;

        public TinyMlp(int dim, int hidden, int seed)
        {
            var rng = new Random(seed);
            _weights = [_parameters.Allocate<float>(hidden, dim), _parameters.Allocate<float>(dim, hidden)];
            _grads = [_gradients.Allocate<float>(hidden, dim), _gradients.Allocate<float>(dim, hidden)];
            foreach (var w in _weights)
            {
                var s = w.AsSpan<float>();
                for (var i = 0; i < s.Length; i++) { s[i] = (float)(rng.NextDouble() - 0.5) * 0.2f; }
            }
        }

        public float Step(Tape tape, Tensor input, Tensor target, float lr)
        {
            tape.Reset();
            var x = tape.Constant(input);
            var w1 = tape.Leaf(_weights[0], _grads[0]);
            var w2 = tape.Leaf(_weights[1], _grads[1]);
            var h = MatmulOp.Apply(tape, x, w1, transposeB: true);                 // h: (B, hidden)
            var y = MatmulOp.Apply(tape, MulOp.Apply(tape, h, h), w2, transposeB: true); // y: (B, D)
            var diff = AddOp.Apply(tape, y, ScaleOp.Apply(tape, tape.Constant(target), -1));
            var loss = SumOp.Apply(tape, MulOp.Apply(tape, diff, diff), mean: true);
            tape.Backward(loss);
            for (var p = 0; p < _weights.Length; p++)
            {
                var w = _weights[p].AsSpan<float>();
                var g = _grads[p].AsSpan<float>();
                for (var i = 0; i < w.Length; i++) { w[i] -= lr * g[i]; }
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
        using var model = new TinyMlp(dim: 48, hidden: 96, seed: 3);
        using var data = new Arena("data");
        var rng = new Random(5);
        var input = data.Allocate<float>(64, 48);
        var target = data.Allocate<float>(64, 48);
        foreach (var t in new[] { input, target })
        {
            var s = t.AsSpan<float>();
            for (var i = 0; i < s.Length; i++) { s[i] = (float)(rng.NextDouble() * 2 - 1); }
        }
        using var step = new Arena("step", 64);
        var tape = new Tape(step);

        var first = model.Step(tape, input, target, 0.05f);
        for (var i = 0; i < 3; i++) { model.Step(tape, input, target, 0.05f); } // warm-up: arenas and tape reach their size
        var before = GC.GetTotalAllocatedBytes(precise: true);
        float last = 0;
        for (var i = 0; i < 20; i++) { last = model.Step(tape, input, target, 0.05f); }
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        Assert.Equal(0, allocated);
        Assert.True(last < first, $"loss should fall: first {first}, last {last}");
    }
}
