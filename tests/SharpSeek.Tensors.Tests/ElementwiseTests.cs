// ElementwiseTests.cs: every elementwise op and reduction of Elementwise/Operators over every length 0..256 (and one length
// past the parallel threshold) against a scalar double reference, for float and double.
using SharpSeek.Tensors.Kernels;
using static SharpSeek.Tensors.Tests.FiniteDifferences;

namespace SharpSeek.Tensors.Tests;

[Trait("Category", "Kernels")]
public sealed class ElementwiseTests
{
    private static readonly int[] Lengths = [.. Enumerable.Range(0, 257), Operators.ParallelThreshold + 7];

    private static double Sig(double x) => 1 / (1 + Math.Exp(-x));

    public static TheoryData<string> UnaryOps => ["neg", "exp", "sigmoid", "silu", "scale"];

    public static TheoryData<string> BinaryOps => ["add", "sub", "mul", "axpy", "sigmoidBackward", "siluBackward"];

    private static double UnaryReference(string op, double x) => op switch
    {
        "neg" => -x,
        "exp" => Math.Exp(x),
        "sigmoid" => Sig(x),
        "silu" => x * Sig(x),
        "scale" => 0.37 * x,
        _ => throw new ArgumentException(op),
    };

    private static void Unary<T>(string op, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        switch (op)
        {
            case "neg": Elementwise.Neg(x, y); break;
            case "exp": Elementwise.Exp(x, y); break;
            case "sigmoid": Elementwise.Sigmoid(x, y); break;
            case "silu": Elementwise.Silu(x, y); break;
            case "scale": Elementwise.Scale(x, T.CreateChecked(0.37), y); break;
            default: throw new ArgumentException(op);
        }
    }

    private static double BinaryReference(string op, double x, double y) => op switch
    {
        "add" => x + y,
        "sub" => x - y,
        "mul" => x * y,
        "axpy" => y + 0.37 * x,
        "sigmoidBackward" => y * x * (1 - x),
        "siluBackward" => y * Sig(x) * (1 + x * (1 - Sig(x))),
        _ => throw new ArgumentException(op),
    };

    private static void Binary<T>(string op, ReadOnlySpan<T> x, Span<T> y, Span<T> z) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        switch (op)
        {
            case "add": Elementwise.Add<T>(x, y, z); break;
            case "sub": Elementwise.Sub<T>(x, y, z); break;
            case "mul": Elementwise.Mul<T>(x, y, z); break;
            case "axpy": y.CopyTo(z); Elementwise.Axpy(x, T.CreateChecked(0.37), z); break;
            case "sigmoidBackward": Elementwise.SigmoidBackward<T>(x, y, z); break;
            case "siluBackward": Elementwise.SiluBackward<T>(x, y, z); break;
            default: throw new ArgumentException(op);
        }
    }

    [Theory]
    [MemberData(nameof(UnaryOps))]
    public void Unary_MatchesScalarReference_AllLengths(string op)
    {
        var random = new Random(1);
        foreach (var n in Lengths)
        {
            var xd = Random(random, n, 8);
            var expected = Array.ConvertAll(xd, v => UnaryReference(op, v));
            var yd = new double[n];
            Unary<double>(op, xd, yd);
            AssertClose(expected, yd, 1e-300, 1e-14, $"{op} double n={n}");
            var xf = Array.ConvertAll(xd, v => (float)v);
            var yf = new float[n];
            Unary<float>(op, xf, yf);
            AssertClose(Array.ConvertAll(xf, v => (float)UnaryReference(op, v)), yf, 1e-30, 1e-6, $"{op} float n={n}");
        }
    }

    [Theory]
    [MemberData(nameof(BinaryOps))]
    public void Binary_MatchesScalarReference_AllLengths(string op)
    {
        var random = new Random(2);
        foreach (var n in Lengths)
        {
            var xd = Random(random, n, 4);
            var yd = Random(random, n, 4);
            var expected = new double[n];
            for (var i = 0; i < n; i++) { expected[i] = BinaryReference(op, xd[i], yd[i]); }
            var zd = new double[n];
            Binary<double>(op, xd, yd, zd);
            AssertClose(expected, zd, 1e-14, 1e-13, $"{op} double n={n}");
            float[] xf = Array.ConvertAll(xd, v => (float)v), yf = Array.ConvertAll(yd, v => (float)v), zf = new float[n];
            var expectedF = new float[n];
            for (var i = 0; i < n; i++) { expectedF[i] = (float)BinaryReference(op, xf[i], yf[i]); }
            Binary<float>(op, xf, yf, zf);
            AssertClose(expectedF, zf, 1e-6, 1e-6, $"{op} float n={n}");
        }
    }

    [Fact]
    public void Reductions_MatchScalarReference_AllLengths()
    {
        var random = new Random(3);
        foreach (var n in Lengths)
        {
            var x = Random(random, n, 3);
            var y = Random(random, n, 3);
            double sum = 0, sumSq = 0, dot = 0, abs = 0, max = double.NegativeInfinity;
            for (var i = 0; i < n; i++)
            {
                sum += x[i];
                sumSq += x[i] * x[i];
                dot += x[i] * y[i];
                abs += Math.Abs(x[i]) * 3;
                max = Math.Max(max, x[i]);
            }
            Assert.True(Math.Abs(Elementwise.Sum<double>(x) - sum) <= 1e-14 * abs, $"sum n={n}");
            Assert.True(Math.Abs(Elementwise.SumOfSquares<double>(x) - sumSq) <= 1e-14 * abs * 3, $"sumsq n={n}");
            Assert.True(Math.Abs(Elementwise.Dot<double>(x, y) - dot) <= 1e-14 * abs * 3, $"dot n={n}");
            Assert.Equal(max, Elementwise.Max<double>(x));
            var xf = Array.ConvertAll(x, v => (float)v);
            var yf = Array.ConvertAll(y, v => (float)v);
            double sumF = 0, dotF = 0;
            for (var i = 0; i < n; i++) { sumF += xf[i]; dotF += (double)xf[i] * yf[i]; }
            Assert.True(Math.Abs(Elementwise.Sum<float>(xf) - sumF) <= 1e-6 * abs + 1e-6, $"float sum n={n}");
            Assert.True(Math.Abs(Elementwise.Dot<float>(xf, yf) - dotF) <= 3e-6 * abs + 1e-6, $"float dot n={n}");
            Assert.Equal(n == 0 ? float.NegativeInfinity : xf.Max(), Elementwise.Max<float>(xf));
        }
    }

    [Fact]
    public void InPlace_MatchesOutOfPlace()
    {
        var random = new Random(4);
        var x = RandomFloat(random, 1001, 3);
        var expected = new float[x.Length];
        Elementwise.Silu<float>(x, expected);
        Elementwise.Silu<float>(x, x);
        Assert.Equal(expected, x);
    }

    [Fact]
    public void LengthMismatch_NamesExpectedAndActual()
    {
        var e = Assert.Throws<ArgumentException>(() => Elementwise.Add<float>(new float[5], new float[5], new float[4]));
        Assert.Contains("5", e.Message);
        Assert.Contains("4", e.Message);
    }
}
