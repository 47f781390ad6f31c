// Parameter.cs: one model tensor with its checkpoint name and, when training, its gradient buffer. Not here: allocation
// (ModelWeights), names (each family in Families/). Tested by ModelWeightsTests.
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;

namespace SharpSeek.Model.Layers;

/// <summary>A parameter: its HF checkpoint name, its value (a view into the parameters arena) and its gradient (a view into
/// the gradients arena, or <c>default</c> for inference).</summary>
public sealed class Parameter
{
    public Parameter(string name, Tensor value, Tensor grad)
    {
        Name = name;
        Value = value;
        Grad = grad;
    }

    public string Name { get; }

    public Tensor Value { get; }

    public Tensor Grad { get; }

    /// <summary>This parameter as a tape value: a leaf accumulating into <see cref="Grad"/> when both exist, else a constant.</summary>
    public Var Bind(Tape tape) => Grad.IsValid && tape.GradEnabled ? tape.Leaf(Value, Grad) : tape.Constant(Value);

    public override string ToString() => $"{Name} {Value}";
}
