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

    public static TheoryData<int, int, int, bool, bool> MatmulCases => new()
    {
        { 1, 1, 1, false, false }, { 7, 5, 3, false, false }, { 3, 129, 17, false, true }, { 17, 3, 128, true, false },
        { 5, 7, 127, true, true }, { 33, 20, 9, false, true },
    };

    [Theory]
    [MemberData(nameof(MatmulCases))]
    public void Matmul(int m, int n, int k, bool ta, bool tb) => OpCheck.Run(
        [ta ? [k, m] : [m, k], tb ? [n, k] : [k, n]],
        (t, v) => MatmulOp.Apply(t, v[0], v[1], ta, tb),
        x =>
        {
            var c = new double[m * n];
            for (var i = 0; i < m; i++)
            {
                for (var j = 0; j < n; j++)
                {
                    double s = 0;
                    for (var p = 0; p < k; p++) { s += x[0][ta ? p * m + i : i * k + p] * x[1][tb ? j * k + p : p * n + j]; }
                    c[i * n + j] = s;
                }
            }
            return c;
        },
        atol: 1e-5, gradAtol: 1e-7);

    [Fact]
    public void Matmul_BatchedRowsOfA_ProduceLeadingDims()
    {
        using var arena = new Arena("t");
        var tape = new Autograd.Tape(arena);
        var x = tape.Input(arena.Allocate<float>(2, 3, 4));
        var w = tape.Input(arena.Allocate<float>(5, 4));
        Assert.Equal(new Shape(2, 3, 5), tape.Value(MatmulOp.Apply(tape, x, w, transposeB: true)).Shape);
        var e = Assert.Throws<ArgumentException>(() => MatmulOp.Apply(tape, x, w));
        Assert.Contains("(2, 3, 4)", e.Message, StringComparison.Ordinal);
        Assert.Contains("(5, 4)", e.Message, StringComparison.Ordinal);
    }
}
