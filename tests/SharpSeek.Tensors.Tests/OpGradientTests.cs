// OpGradientTests.cs: every autograd op's forward against a double reference and its backward against finite differences,
// across odd sizes (OpCheck).
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Tensors.Tests;

public sealed class OpGradientTests
{
    public static TheoryData<int, int> Sizes => new() { { 1, 1 }, { 1, 7 }, { 7, 1 }, { 3, 127 }, { 2, 128 }, { 2, 129 } };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Add(int rows, int cols) => OpCheck.Run(
        [[rows, cols], [rows, cols]],
        (t, v) => AddOp.Apply(t, v[0], v[1]),
        x => x[0].Zip(x[1], (a, b) => a + b).ToArray(),
        atol: 1e-6, gradAtol: 1e-7);

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Mul(int rows, int cols) => OpCheck.Run(
        [[rows, cols], [rows, cols]],
        (t, v) => MulOp.Apply(t, v[0], v[1]),
        x => x[0].Zip(x[1], (a, b) => a * b).ToArray(),
        atol: 1e-6, gradAtol: 1e-7);

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Scale(int rows, int cols) => OpCheck.Run(
        [[rows, cols]],
        (t, v) => ScaleOp.Apply(t, v[0], -0.37),
        x => x[0].Select(a => -0.37 * a).ToArray(),
        atol: 1e-6, gradAtol: 1e-7);

    [Theory]
    [MemberData(nameof(Sizes))]
    public void SumAndMean(int rows, int cols)
    {
        OpCheck.Run([[rows, cols]], (t, v) => SumOp.Apply(t, v[0]), x => [x[0].Sum()], atol: 1e-5, gradAtol: 1e-7);
        OpCheck.Run([[rows, cols]], (t, v) => SumOp.Apply(t, v[0], mean: true), x => [x[0].Average()], atol: 1e-5, gradAtol: 1e-7);
    }

    [Fact]
    public void Reshape_ChainsGradientsThroughAView() => OpCheck.Run(
        [[6, 4], [3, 8]],
        (t, v) => MulOp.Apply(t, ReshapeOp.Apply(t, v[0], 3, 8), v[1]),
        x => x[0].Zip(x[1], (a, b) => a * b).ToArray(),
        atol: 1e-6, gradAtol: 1e-7);
}
