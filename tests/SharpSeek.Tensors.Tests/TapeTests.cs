// TapeTests.cs: the tape's own behaviour: gradient accumulation into leaves, no-grad mode, reuse after Reset, errors.
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Tensors.Tests;

public sealed class TapeTests
{
    [Fact]
    public void LeafGradients_AccumulateAcrossBackwardPasses()
    {
        using var parameters = new Arena("params");
        using var grads = new Arena("grads");
        using var step = new Arena("step");
        var w = parameters.FromSpan<float>([1f, 2f, 3f], 3);
        var dw = grads.Allocate<float>(3);
        var tape = new Tape(step);
        for (var pass = 1; pass <= 2; pass++)
        {
            var x = tape.Constant(step.FromSpan<float>([0.5f, -1f, 2f], 3));
            var loss = SumOp.Apply(tape, MulOp.Apply(tape, tape.Leaf(w, dw), x));
            tape.Backward(loss);
            Assert.Equal(new[] { 0.5f * pass, -1f * pass, 2f * pass }, dw.AsSpan<float>().ToArray());
            tape.Reset();
        }
    }

    [Fact]
    public void SharedInput_GradientsFromBothUsesAdd()
    {
        using var arena = new Arena("step");
        var tape = new Tape(arena);
        var x = tape.Input(arena.FromSpan<double>([3.0, -2.0], 2));
        var loss = SumOp.Apply(tape, MulOp.Apply(tape, x, x)); // Σ x²
        tape.Backward(loss);
        Assert.Equal(new[] { 6.0, -4.0 }, tape.Grad(x).AsSpan<double>().ToArray());
    }

    [Fact]
    public void NoGradMode_RecordsNothing()
    {
        using var arena = new Arena("step");
        var tape = new Tape(arena) { GradEnabled = false };
        var x = tape.Input(arena.FromSpan<float>([1f, 2f], 2));
        var y = SumOp.Apply(tape, MulOp.Apply(tape, x, x));
        Assert.Equal(0, tape.NodeCount);
        Assert.Equal(5f, tape.Value(y).AsSpan<float>()[0]);
        Assert.Throws<InvalidOperationException>(() => tape.Backward(y));
    }

    [Fact]
    public void Backward_RejectsNonScalarLoss()
    {
        using var arena = new Arena("step");
        var tape = new Tape(arena);
        var x = tape.Input(arena.FromSpan<float>([1f, 2f], 2));
        var e = Assert.Throws<ArgumentException>(() => tape.Backward(MulOp.Apply(tape, x, x)));
        Assert.Contains("(2,)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StaleVar_AfterReset_IsReported()
    {
        using var arena = new Arena("step");
        var tape = new Tape(arena);
        var x = tape.Input(arena.FromSpan<float>([1f], 1));
        tape.Reset();
        Assert.Throws<ArgumentOutOfRangeException>(() => tape.Value(x));
    }

    [Fact]
    public void MismatchedShapes_NameBothShapes()
    {
        using var arena = new Arena("step");
        var tape = new Tape(arena);
        var a = tape.Input(arena.Allocate<float>(2, 3));
        var b = tape.Input(arena.Allocate<float>(3, 2));
        var e = Assert.Throws<ArgumentException>(() => AddOp.Apply(tape, a, b));
        Assert.Contains("(2, 3)", e.Message, StringComparison.Ordinal);
        Assert.Contains("(3, 2)", e.Message, StringComparison.Ordinal);
    }
}
