// Tape.cs: reverse-mode autograd as a tape of op records. Ops (Ops/*Op.cs) compute their forward into the tape's arena and
// append a Node; Backward() replays the nodes in reverse, each op's single hand-written backward accumulating into its
// inputs' gradients. Values and nodes are plain structs in arrays that keep their capacity across Reset(), so a warmed-up
// step allocates nothing. Not here: higher-order gradients, in-place ops. Tested by TapeTests and OpGradientTests.
namespace SharpSeek.Tensors.Autograd;

/// <summary>A handle to a value recorded on a <see cref="Tape"/>.</summary>
public readonly record struct Var(int Id);

/// <summary>
/// Reverse-mode automatic differentiation. Create leaves with <see cref="Leaf"/> (parameters, whose gradients live in a
/// separate arena and accumulate across backward passes: gradient accumulation) or <see cref="Constant"/>, apply ops from
/// <c>SharpSeek.Tensors.Ops</c>, call <see cref="Backward(Var)"/> on a scalar, then <see cref="Reset"/> before the next step.
/// With <see cref="GradEnabled"/> false (inference), ops compute but record nothing.
/// </summary>
public sealed class Tape
{
    private Tensor[] _values = new Tensor[64];
    private Tensor[] _grads = new Tensor[64];
    private bool[] _requiresGrad = new bool[64];
    private Node[] _nodes = new Node[64];
    private ProfileCategory[] _categories = new ProfileCategory[64]; // the profiler region each node was recorded in
    private int _valueCount;
    private int _nodeCount;
    private Tape? _region; // RecomputeOp's tape, made on first use

    public Tape(Arena arena)
    {
        Arena = arena;
    }

    /// <summary>The arena for this step's activations, saved tensors and intermediate gradients.</summary>
    public Arena Arena { get; }

    /// <summary>When false, ops compute outputs only (inference / no-grad mode).</summary>
    public bool GradEnabled { get; set; } = true;

    public int NodeCount => _nodeCount;

    /// <summary>A leaf whose gradient accumulates into <paramref name="grad"/> (same shape and dtype as the value).</summary>
    public Var Leaf(Tensor value, Tensor grad)
    {
        Tensor.ExpectSameShape(value, grad, "Leaf gradient");
        grad.ExpectDType(value.DType, "Leaf gradient");
        var v = AddValue(value, requiresGrad: true);
        _grads[v.Id] = grad;
        return v;
    }

    /// <summary>A leaf that needs a gradient, allocated in the step arena on demand (for inputs under test).</summary>
    public Var Input(Tensor value) => AddValue(value, requiresGrad: true);

    /// <summary>A value that needs no gradient (data, targets, masks).</summary>
    public Var Constant(Tensor value) => AddValue(value, requiresGrad: false);

    public Tensor Value(Var v) => _values[Check(v)];

    public bool RequiresGrad(Var v) => _requiresGrad[Check(v)];

    /// <summary>The gradient of <paramref name="v"/>; zeros if nothing reached it. Valid after <see cref="Backward(Var)"/>.</summary>
    public Tensor Grad(Var v)
    {
        var id = Check(v);
        if (!_requiresGrad[id])
        {
            throw new InvalidOperationException($"value {id} ({_values[id]}) does not require a gradient");
        }
        if (!_grads[id].IsValid)
        {
            _grads[id] = Arena.Allocate(_values[id].DType, _values[id].Shape);
        }
        return _grads[id];
    }

    /// <summary>Records an op output. Ops call this; it returns the handle of the new value.</summary>
    internal Var Output(Tensor value, bool requiresGrad) => AddValue(value, requiresGrad && GradEnabled);

    /// <summary>True when an op over these inputs must be recorded.</summary>
    internal bool ShouldRecord(Var a) => GradEnabled && _requiresGrad[Check(a)];

    internal bool ShouldRecord(Var a, Var b) => GradEnabled && (_requiresGrad[Check(a)] || _requiresGrad[Check(b)]);

    internal bool ShouldRecord(Var a, Var b, Var c) => GradEnabled && (_requiresGrad[Check(a)] || _requiresGrad[Check(b)] || _requiresGrad[Check(c)]);

    internal void Record(in Node node)
    {
        if (_nodeCount == _nodes.Length)
        {
            Array.Resize(ref _nodes, _nodes.Length * 2);
            Array.Resize(ref _categories, _nodes.Length);
        }
        _categories[_nodeCount] = Profiler.Enabled ? Profiler.Current : ProfileCategory.Other;
        _nodes[_nodeCount++] = node;
    }

    /// <summary>The gradient buffer of an input if it needs one, else <c>default</c> (ops skip those).</summary>
    internal Tensor GradOrDefault(Var v) => v.Id >= 0 && _requiresGrad[v.Id] ? Grad(v) : default;

    /// <summary>
    /// Where a backward kernel that overwrites its output should write v's gradient contribution: the gradient itself
    /// when nothing has reached v yet (it is then allocated zeroed, so overwriting equals accumulating), else a scratch
    /// tensor that <see cref="FinishGrad"/> adds in. When v needs no gradient but the kernel still needs somewhere to write,
    /// <paramref name="always"/> gives scratch instead of <c>default</c>.
    /// </summary>
    internal Tensor GradTarget(Var v, bool always = false)
    {
        if (v.Id < 0) { return default; }
        if (!_requiresGrad[v.Id]) { return always ? Arena.Allocate(_values[v.Id].DType, _values[v.Id].Shape) : default; }
        if (!_grads[v.Id].IsValid) { return Grad(v); }
        return Arena.Allocate(_values[v.Id].DType, _values[v.Id].Shape);
    }

    /// <summary>Adds a contribution written by <see cref="GradTarget"/> into v's gradient (a no-op when it was written in place).</summary>
    internal void FinishGrad(Var v, Tensor target)
    {
        if (!target.IsValid || v.Id < 0 || !_requiresGrad[v.Id]) { return; }
        var g = _grads[v.Id];
        if (g.Offset == target.Offset && g.Shape == target.Shape) { return; }
        if (g.DType == DType.F64) { Kernels.Elementwise.Axpy<double>(target.AsSpan<double>(), 1.0, g.AsSpan<double>()); }
        else { Kernels.Elementwise.Axpy<float>(target.AsSpan<float>(), 1f, g.AsSpan<float>()); }
    }

    /// <summary>Backpropagates from a scalar (one-element) value, seeding its gradient with 1.</summary>
    public void Backward(Var loss)
    {
        var value = Value(loss);
        if (value.ElementCount != 1)
        {
            throw new ArgumentException($"Backward needs a scalar loss; got shape {value.Shape}", nameof(loss));
        }
        var g = SeedGrad(loss);
        if (g.DType == DType.F64) { g.AsSpan<double>()[0] += 1; } else { g.AsSpan<float>()[0] += 1; }
        Replay();
    }

    /// <summary>Backpropagates from any value with the given output gradient (a vector-Jacobian product).</summary>
    public void Backward(Var output, Tensor outputGrad)
    {
        var g = SeedGrad(output);
        Tensor.ExpectSameShape(g, outputGrad, "Backward seed");
        outputGrad.ExpectDType(g.DType, "Backward seed");
        outputGrad.CopyTo(g);
        Replay();
    }

    private Tensor SeedGrad(Var output)
    {
        if (!_requiresGrad[Check(output)])
        {
            throw new InvalidOperationException("the output does not depend on any value that requires a gradient");
        }
        return Grad(output);
    }

    private void Replay()
    {
        for (var i = _nodeCount - 1; i >= 0; i--)
        {
            ref readonly var node = ref _nodes[i];
            if (!_grads[node.Out.Id].IsValid) { continue; } // nothing flowed into this output
            using var region = Profiler.Region(_categories[i]); // a backward counts where its forward was recorded
            Ops.OpRegistry.Backward(this, in node);
        }
    }

    /// <summary>Drops all values and nodes and resets the step arena. Leaf gradient tensors are left as they are.</summary>
    public void Reset()
    {
        Clear();
        Arena.Reset();
    }

    /// <summary>A second tape on this tape's arena for a recomputed region (RecomputeOp), empty, one at a time.</summary>
    internal Tape Region()
    {
        _region ??= new Tape(Arena);
        if (_region._nodeCount > 0 || _region._valueCount > 0) { throw new InvalidOperationException("recomputed regions do not nest"); }
        return _region;
    }

    /// <summary>Drops all values and nodes, leaving the arena as it is (a region's tape, whose arena scope gives its memory back).</summary>
    internal void Clear()
    {
        Array.Clear(_values, 0, _valueCount);
        Array.Clear(_grads, 0, _valueCount);
        Array.Clear(_nodes, 0, _nodeCount);
        _valueCount = 0;
        _nodeCount = 0;
    }

    private Var AddValue(Tensor value, bool requiresGrad)
    {
        if (!value.IsValid) { throw new ArgumentException("cannot record default(Tensor)", nameof(value)); }
        if (_valueCount == _values.Length)
        {
            var n = _values.Length * 2;
            Array.Resize(ref _values, n);
            Array.Resize(ref _grads, n);
            Array.Resize(ref _requiresGrad, n);
        }
        var id = _valueCount++;
        _values[id] = value;
        _grads[id] = default;
        _requiresGrad[id] = requiresGrad;
        return new Var(id);
    }

    private int Check(Var v)
    {
        if ((uint)v.Id >= (uint)_valueCount)
        {
            throw new ArgumentOutOfRangeException(nameof(v), $"value {v.Id} is not on this tape ({_valueCount} values); was the tape reset?");
        }
        return v.Id;
    }
}
