// FiniteDifferences.cs: the shared gradient-check helpers for kernel tests: seeded random inputs, central differences of a
// scalar loss perturbing each input element ±h, and close-enough assertions that name the first bad index. Not here: tests.
namespace SharpSeek.Tensors.Tests;

internal static class FiniteDifferences
{
    /// <summary>n values uniform in [-scale, scale], never exactly zero in practice.</summary>
    public static double[] Random(Random random, int n, double scale = 1.0)
    {
        var a = new double[n];
        for (var i = 0; i < n; i++) { a[i] = (2 * random.NextDouble() - 1) * scale; }
        return a;
    }

    public static float[] RandomFloat(Random random, int n, double scale = 1.0) => Array.ConvertAll(Random(random, n, scale), v => (float)v);

    /// <summary>dL/dinput[i] ≈ (L(input + h e_i) − L(input − h e_i)) / 2h, perturbing input in place and restoring it.</summary>
    public static double[] Gradient(double[] input, Func<double> loss, double h = 1e-5)
    {
        var g = new double[input.Length];
        for (var i = 0; i < input.Length; i++)
        {
            var saved = input[i];
            input[i] = saved + h;
            var plus = loss();
            input[i] = saved - h;
            var minus = loss();
            input[i] = saved;
            g[i] = (plus - minus) / (2 * h);
        }
        return g;
    }

    /// <summary>Σ y·r, the loss whose gradient with respect to y is r.</summary>
    public static double Dot(ReadOnlySpan<double> y, ReadOnlySpan<double> r)
    {
        var s = 0.0;
        for (var i = 0; i < y.Length; i++) { s += y[i] * r[i]; }
        return s;
    }

    /// <summary>Asserts |expected − actual| ≤ atol + rtol·|expected| elementwise.</summary>
    public static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, double atol, double rtol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var tol = atol + rtol * Math.Abs(expected[i]);
            if (!(Math.Abs(expected[i] - actual[i]) <= tol))
            {
                Assert.Fail($"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (tolerance {tol:G3})");
            }
        }
    }

    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double atol, double rtol, string what)
        => AssertClose(Array.ConvertAll(expected.ToArray(), v => (double)v), Array.ConvertAll(actual.ToArray(), v => (double)v), atol, rtol, what);
}
