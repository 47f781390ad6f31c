// OpGradientTests.cs: every autograd op's forward against a double reference and its backward against finite differences,
// across odd sizes (OpCheck).
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;
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

    [Theory]
    [MemberData(nameof(Sizes))]
    public void BiasAdd(int rows, int cols) => OpCheck.Run(
        [[rows, cols], [cols]],
        (t, v) => BiasAddOp.Apply(t, v[0], v[1]),
        x => [.. x[0].Select((a, i) => a + x[1][i % cols])],
        atol: 1e-6, gradAtol: 1e-7);

    [Fact]
    public void BiasAdd_RejectsABiasOfAnotherWidth()
    {
        using var arena = new Arena("bias");
        var tape = new Tape(arena);
        var e = Assert.Throws<ArgumentException>(() => BiasAddOp.Apply(tape, tape.Constant(arena.Allocate<float>(2, 5)), tape.Constant(arena.Allocate<float>(4))));
        Assert.Contains("does not match the last axis", e.Message);
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

    private static Tensor Ints(Arena arena, int[] values) => arena.FromSpan<int>(values, values.Length);

    private static int[] RandomInts(int count, int max, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => rng.Next(max)).ToArray();
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Silu(int rows, int cols) => OpCheck.Run(
        [[rows, cols]],
        (t, v) => SiluOp.Apply(t, v[0]),
        x => x[0].Select(a => a / (1 + Math.Exp(-a))).ToArray(),
        atol: 1e-6, gradAtol: 1e-7);

    [Theory]
    [MemberData(nameof(Sizes))]
    public void SwiGlu(int rows, int cols) => OpCheck.Run(
        [[rows, cols], [rows, cols]],
        (t, v) => SwiGluOp.Apply(t, v[0], v[1]),
        x => x[0].Zip(x[1], (g, u) => g / (1 + Math.Exp(-g)) * u).ToArray(),
        atol: 1e-6, gradAtol: 1e-7);

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Softmax(int rows, int cols) => OpCheck.Run(
        [[rows, cols]],
        (t, v) => SoftmaxOp.Apply(t, v[0]),
        x => { var y = new double[x[0].Length]; Kernels.Softmax.ForwardNaive<double>(x[0], rows, cols, y); return y; },
        atol: 1e-6, gradAtol: 1e-7);

    [Theory]
    [MemberData(nameof(Sizes))]
    public void LogSoftmax(int rows, int cols) => OpCheck.Run(
        [[rows, cols]],
        (t, v) => SoftmaxOp.ApplyLog(t, v[0]),
        x => { var y = new double[x[0].Length]; Kernels.LogSoftmax.ForwardNaive<double>(x[0], rows, cols, y); return y; },
        atol: 1e-5, gradAtol: 1e-7);

    [Theory]
    [MemberData(nameof(Sizes))]
    public void CrossEntropy_WithIgnoredRows(int rows, int vocab)
    {
        using var consts = new Arena("consts");
        var ids = RandomInts(rows, vocab, seed: rows + vocab);
        if (rows > 2) { ids[1] = -100; }
        var targets = Ints(consts, ids);
        OpCheck.Run(
            [[rows, vocab]],
            (t, v) => CrossEntropyOp.Apply(t, v[0], targets),
            x => [Kernels.CrossEntropy.ForwardNaive<double>(x[0], ids, vocab, -100, new double[rows])],
            atol: 1e-5, gradAtol: 1e-7, makeInput: (_, r) => r.NextDouble() * 8 - 4);
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void TokenLogProb_WithIgnoredRows(int rows, int vocab)
    {
        using var consts = new Arena("consts");
        var ids = RandomInts(rows, vocab, seed: 3 * rows + vocab);
        if (rows > 2) { ids[1] = -100; }
        var targets = Ints(consts, ids);
        OpCheck.Run(
            [[rows, vocab]],
            (t, v) => TokenLogProbOp.Apply(t, v[0], targets),
            x =>
            {
                var nll = new double[rows];
                Kernels.CrossEntropy.ForwardNaive<double>(x[0], ids, vocab, -100, nll);
                return [.. nll.Select(v => -v)];
            },
            atol: 1e-5, gradAtol: 1e-7, makeInput: (_, r) => r.NextDouble() * 8 - 4);
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void RmsNorm(int rows, int cols) => OpCheck.Run(
        [[rows, cols], [cols]],
        (t, v) => RmsNormOp.Apply(t, v[0], v[1], 1e-6),
        x => { var y = new double[x[0].Length]; Kernels.RmsNorm.ForwardNaive<double>(x[0], x[1], 1e-6, y, new double[rows]); return y; },
        atol: 1e-5, gradAtol: 1e-6);

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(127)]
    [InlineData(128)]
    [InlineData(129)]
    public void Rope_LeadingEntriesPassThrough(int tokens)
    {
        const int maxPos = 300, heads = 2, leading = 3, headDim = 4;
        using var consts = new Arena("consts");
        var invFreq = new double[headDim / 2];
        Kernels.Rope.InverseFrequencies<double>(headDim, 10000, invFreq);
        var cos64 = new double[maxPos * headDim / 2];
        var sin64 = new double[maxPos * headDim / 2];
        Kernels.Rope.Tables<double>(invFreq, maxPos, cos64, sin64);
        var pos = RandomInts(tokens, maxPos, seed: tokens);
        var positions = Ints(consts, pos);
        Tensor cos32 = consts.FromSpan<float>(cos64.Select(c => (float)c).ToArray(), maxPos, headDim / 2),
            sin32 = consts.FromSpan<float>(sin64.Select(c => (float)c).ToArray(), maxPos, headDim / 2);
        var cosD = consts.FromSpan<double>(cos64, maxPos, headDim / 2);
        var sinD = consts.FromSpan<double>(sin64, maxPos, headDim / 2);
        OpCheck.Run(
            [[tokens, heads, leading + headDim]],
            (t, v) => t.Value(v[0]).DType == DType.F64
                ? RopeOp.Apply(t, v[0], cosD, sinD, positions, leading)
                : RopeOp.Apply(t, v[0], cos32, sin32, positions, leading),
            x =>
            {
                // y[.., j] = x[.., j] for j < leading; the last headDim entries rotated pair by pair
                var y = (double[])x[0].Clone();
                for (var tk = 0; tk < tokens; tk++)
                {
                    for (var h = 0; h < heads; h++)
                    {
                        for (var i = 0; i < headDim / 2; i++)
                        {
                            var angle = pos[tk] * invFreq[i];
                            var o = ((tk * heads + h) * (leading + headDim)) + leading + (2 * i);
                            y[o] = x[0][o] * Math.Cos(angle) - x[0][o + 1] * Math.Sin(angle);
                            y[o + 1] = x[0][o] * Math.Sin(angle) + x[0][o + 1] * Math.Cos(angle);
                        }
                    }
                }
                return y;
            },
            atol: 1e-5, gradAtol: 1e-7);
    }

    [Fact]
    public void Rope_RejectsALeadingCountOutsideTheHead()
    {
        using var arena = new Arena("rope");
        var tape = new Tape(arena);
        var x = tape.Constant(arena.Allocate<float>(2, 1, 4));
        var table = arena.Allocate<float>(4, 2);
        var positions = arena.FromSpan<int>([0, 1], 2);
        var e = Assert.Throws<ArgumentException>(() => RopeOp.Apply(tape, x, table, table, positions, leading: 4));
        Assert.Contains("leading must be in [0, 4)", e.Message);
    }

    [Theory]
    [InlineData(1, 1, 2)]
    [InlineData(7, 3, 8)]
    [InlineData(5, 2, 64)]
    public void Rope_InterleavedPairs(int tokens, int heads, int headDim)
    {
        using var consts = new Arena("consts");
        const int maxPos = 300;
        var invFreq = new double[headDim / 2];
        Kernels.Rope.InverseFrequencies<double>(headDim, 10000, invFreq);
        var cos64 = new double[maxPos * headDim / 2];
        var sin64 = new double[maxPos * headDim / 2];
        Kernels.Rope.Tables<double>(invFreq, maxPos, cos64, sin64);
        var pos = RandomInts(tokens, maxPos, seed: 11);
        var positions = Ints(consts, pos);
        Tensor cos32 = consts.FromSpan<float>(cos64.Select(c => (float)c).ToArray(), maxPos, headDim / 2),
            sin32 = consts.FromSpan<float>(sin64.Select(c => (float)c).ToArray(), maxPos, headDim / 2);
        var cosD = consts.FromSpan<double>(cos64, maxPos, headDim / 2);
        var sinD = consts.FromSpan<double>(sin64, maxPos, headDim / 2);
        OpCheck.Run(
            [[tokens, heads, headDim]],
            (t, v) => t.Value(v[0]).DType == DType.F64 ? RopeOp.Apply(t, v[0], cosD, sinD, positions) : RopeOp.Apply(t, v[0], cos32, sin32, positions),
            x =>
            {
                // y[2i] = x[2i]·cos(pθ_i) − x[2i+1]·sin(pθ_i);  y[2i+1] = x[2i]·sin(pθ_i) + x[2i+1]·cos(pθ_i)
                var y = new double[x[0].Length];
                for (var tk = 0; tk < tokens; tk++)
                {
                    for (var h = 0; h < heads; h++)
                    {
                        for (var i = 0; i < headDim / 2; i++)
                        {
                            var angle = pos[tk] * invFreq[i];
                            var o = (tk * heads + h) * headDim + 2 * i;
                            y[o] = x[0][o] * Math.Cos(angle) - x[0][o + 1] * Math.Sin(angle);
                            y[o + 1] = x[0][o] * Math.Sin(angle) + x[0][o + 1] * Math.Cos(angle);
                        }
                    }
                }
                return y;
            },
            atol: 1e-5, gradAtol: 1e-7);
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(9, 13, 7)]
    [InlineData(40, 6, 129)]
    public void Embedding_RepeatedIdsAccumulate(int tokens, int vocab, int dim)
    {
        using var consts = new Arena("consts");
        var ids = RandomInts(tokens, vocab, seed: 3);
        var idTensor = Ints(consts, ids);
        OpCheck.Run(
            [[vocab, dim]],
            (t, v) => EmbeddingOp.Apply(t, v[0], idTensor),
            x => ids.SelectMany(id => x[0].Skip(id * dim).Take(dim)).ToArray(),
            atol: 0, gradAtol: 1e-7);
    }

    [Theory]
    [InlineData(5, 3, 7)]
    [InlineData(12, 30, 9)]
    public void MoeDispatchAndCombine(int tokens, int routed, int dim)
    {
        // dispatch: gather token rows for the routed slots; "expert": ×2 then SiLU; combine: weighted scatter-add back.
        using var consts = new Arena("consts");
        var slotTokens = RandomInts(routed, tokens, seed: 5);
        var index = Ints(consts, slotTokens);
        OpCheck.Run(
            [[tokens, dim], [routed]],
            (t, v) => ScatterAddRowsOp.Apply(t, SiluOp.Apply(t, ScaleOp.Apply(t, GatherRowsOp.Apply(t, v[0], index), 2)), v[1], index, tokens),
            x =>
            {
                var y = new double[tokens * dim];
                for (var i = 0; i < routed; i++)
                {
                    for (var j = 0; j < dim; j++)
                    {
                        var a = 2 * x[0][slotTokens[i] * dim + j];
                        y[slotTokens[i] * dim + j] += x[1][i] * a / (1 + Math.Exp(-a));
                    }
                }
                return y;
            },
            atol: 1e-5, gradAtol: 1e-7);
    }

    [Theory]
    [InlineData(1, 1, 1, 4, 4, 0, true, AttentionPath.Fused)]
    [InlineData(2, 7, 2, 6, 4, 0, true, AttentionPath.Fused)]
    [InlineData(1, 5, 3, 12, 8, 4, true, AttentionPath.Fused)]  // chunked prefill: 5 queries after 4 cached keys
    [InlineData(1, 6, 2, 4, 6, 0, false, AttentionPath.Fused)]
    [InlineData(1, 1, 1, 4, 4, 0, true, AttentionPath.Materialized)]
    [InlineData(2, 7, 2, 6, 4, 0, true, AttentionPath.Materialized)]
    [InlineData(1, 5, 3, 12, 8, 4, true, AttentionPath.Materialized)]
    [InlineData(1, 6, 2, 4, 6, 0, false, AttentionPath.Materialized)]
    [InlineData(1, 70, 1, 4, 4, 0, true, AttentionPath.Materialized)] // two row blocks
    public void Attention(int batch, int tokens, int heads, int dqk, int dv, int startPos, bool causal, AttentionPath path)
    {
        var keys = startPos + tokens;
        var scale = 1 / Math.Sqrt(dqk);
        OpCheck.Run(
            [[batch, tokens, heads, dqk], [batch, keys, heads, dqk], [batch, keys, heads, dv]],
            (t, v) => AttentionOp.Apply(t, v[0], v[1], v[2], scale, startPos, causal, path: path),
            x =>
            {
                var y = new double[batch * tokens * heads * dv];
                for (var b = 0; b < batch; b++)
                {
                    for (var h = 0; h < heads; h++)
                    {
                        for (var i = 0; i < tokens; i++)
                        {
                            var visible = causal ? startPos + i + 1 : keys;
                            var s = new double[visible];
                            for (var j = 0; j < visible; j++)
                            {
                                for (var d = 0; d < dqk; d++) { s[j] += x[0][((b * tokens + i) * heads + h) * dqk + d] * x[1][((b * keys + j) * heads + h) * dqk + d]; }
                                s[j] *= scale;
                            }
                            var max = s.Max();
                            var z = s.Sum(e => Math.Exp(e - max));
                            for (var j = 0; j < visible; j++)
                            {
                                var p = Math.Exp(s[j] - max) / z;
                                for (var d = 0; d < dv; d++) { y[((b * tokens + i) * heads + h) * dv + d] += p * x[2][((b * keys + j) * heads + h) * dv + d]; }
                            }
                        }
                    }
                }
                return y;
            },
            atol: 1e-5, gradAtol: 1e-7);
    }

    // Reference for the shape ops: x seen as (outer, size, inner).
    private static double[] NarrowRef(double[] x, long[] shape, int axis, int start, int length)
    {
        long outer = shape[..axis].Aggregate(1L, (a, b) => a * b), inner = shape[(axis + 1)..].Aggregate(1L, (a, b) => a * b);
        var y = new List<double>();
        for (long o = 0; o < outer; o++)
        {
            for (long j = start; j < start + length; j++)
            {
                for (long i = 0; i < inner; i++) { y.Add(x[(o * shape[axis] + j) * inner + i]); }
            }
        }
        return [.. y];
    }

    [Theory]
    [InlineData(new long[] { 2, 3, 7 }, -1, 2, 4)]
    [InlineData(new long[] { 5, 3, 7 }, 0, 1, 3)]
    [InlineData(new long[] { 2, 9, 3, 5 }, 1, 4, 5)]
    [InlineData(new long[] { 1, 129 }, 1, 0, 129)]
    public void Narrow(long[] shape, int axis, int start, int length) => OpCheck.Run(
        [shape],
        (t, v) => NarrowOp.Apply(t, v[0], axis, start, length),
        x => NarrowRef(x[0], shape, axis < 0 ? axis + shape.Length : axis, start, length),
        atol: 0, gradAtol: 1e-7);

    [Theory]
    [InlineData(-1, 1, 4, 2)]
    [InlineData(0, 3, 1, 5)]
    [InlineData(1, 7, 2, 1)]
    public void Concat_ThreePartsAlongAnAxis(int axis, int a, int b, int c)
    {
        long[] Shape(int n) => axis switch { 0 => [n, 3, 2], 1 => [2, n, 3], _ => [2, 3, n] };
        var sizes = new[] { a, b, c };
        var full = Shape(a + b + c);
        var ax = axis < 0 ? 2 : axis;
        OpCheck.Run(
            [Shape(a), Shape(b), Shape(c)],
            (t, v) => ConcatOp.Apply(t, [v[0], v[1], v[2]], axis),
            x =>
            {
                // y[o, j, i] comes from part p at j − offset_p
                long outer = full[..ax].Aggregate(1L, (p, q) => p * q), inner = full[(ax + 1)..].Aggregate(1L, (p, q) => p * q);
                var y = new double[full.Aggregate(1L, (p, q) => p * q)];
                for (long o = 0; o < outer; o++)
                {
                    var j = 0;
                    for (var p = 0; p < 3; p++)
                    {
                        for (var jj = 0; jj < sizes[p]; jj++, j++)
                        {
                            for (long i = 0; i < inner; i++) { y[(o * full[ax] + j) * inner + i] = x[p][(o * sizes[p] + jj) * inner + i]; }
                        }
                    }
                }
                return y;
            },
            atol: 0, gradAtol: 1e-7);
    }

    [Theory]
    [InlineData(3, 4, 5)]
    [InlineData(1, 1, 1)]
    [InlineData(7, 3, 64)]
    public void Expand_SharedAcrossHeads(int tokens, int heads, int dim) => OpCheck.Run(
        [[tokens, 1, dim]],
        (t, v) => ExpandOp.Apply(t, v[0], 1, heads),
        x => Enumerable.Range(0, tokens).SelectMany(tk => Enumerable.Range(0, heads).SelectMany(_ => x[0].Skip(tk * dim).Take(dim))).ToArray(),
        atol: 0, gradAtol: 1e-7);

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Sigmoid(int rows, int cols) => OpCheck.Run(
        [[rows, cols]],
        (t, v) => SigmoidOp.Apply(t, v[0]),
        x => x[0].Select(a => 1 / (1 + Math.Exp(-a))).ToArray(),
        atol: 1e-6, gradAtol: 1e-7,
        makeInput: (_, rng) => rng.NextDouble() * 12 - 6);

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(5, 9, 3)]
    [InlineData(13, 64, 8)]
    public void TakeAlong_RepeatedColumnsAccumulate(int rows, int cols, int k)
    {
        using var consts = new Arena("consts");
        var ids = RandomInts(rows * k, cols, seed: rows + cols);
        var index = consts.FromSpan<int>(ids, rows, k);
        OpCheck.Run(
            [[rows, cols]],
            (t, v) => TakeAlongOp.Apply(t, v[0], index),
            x => ids.Select((c, i) => x[0][i / k * cols + c]).ToArray(),
            atol: 0, gradAtol: 1e-7);
    }

    [Fact]
    public void TakeAlong_RejectsAnIndexOutsideTheColumns()
    {
        using var arena = new Arena("t");
        var tape = new Autograd.Tape(arena);
        var x = tape.Constant(arena.Allocate<float>(2, 3));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => TakeAlongOp.Apply(tape, x, arena.FromSpan<int>([0, 1, 3, 2], 2, 2)));
        Assert.Contains("outside [0, 3)", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(4, 8)]
    [InlineData(7, 3)]
    public void NormalizeRows(int rows, int cols) => OpCheck.Run(
        [[rows, cols]],
        (t, v) => NormalizeRowsOp.Apply(t, v[0], 1e-20),
        x => Enumerable.Range(0, rows).SelectMany(r => x[0].Skip(r * cols).Take(cols).Select(a => a / (x[0].Skip(r * cols).Take(cols).Sum() + 1e-20))).ToArray(),
        atol: 1e-6, gradAtol: 1e-7,
        makeInput: (_, rng) => 0.05 + rng.NextDouble());
}
