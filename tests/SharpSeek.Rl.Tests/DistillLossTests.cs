// DistillLossTests.cs: the distillation losses on one row of logits: values computed by hand on a row whose softmax is
// (0.1, 0.2, 0.3, 0.4), the teacher's top-k renormalized and read at temperature 1 from log-probs stored at the sampling
// temperature, and every gradient against central finite differences of the loss on random logits.
using SharpSeek.Rl.Distill;

namespace SharpSeek.Rl.Tests;

public sealed class DistillLossTests
{
    // softmax = (0.1, 0.2, 0.3, 0.4)
    private static readonly float[] Row = [0f, MathF.Log(2), MathF.Log(3), MathF.Log(4)];

    private static double[] LogP(float[] logits)
    {
        var logp = new double[logits.Length];
        DistillLoss.LogSoftmax(logits, logp);
        return logp;
    }

    [Fact]
    public void CrossEntropy_ByHand()
    {
        var grad = new float[4];
        Assert.Equal(-Math.Log(0.3), DistillLoss.CrossEntropy(LogP(Row), 2, grad, 1), 6);
        Assert.Equal([0.1, 0.2, -0.7, 0.4], grad.Select(g => Math.Round(g, 6)));
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.6)]
    public void TopKForwardKl_ByHand_RenormalizedAtTemperatureOne(double temperature)
    {
        // The teacher's logits for tokens 3 and 1 are ln 6 and ln 2 (+ any constant): over {3, 1} that is (0.75, 0.25)
        // at temperature 1, whatever the temperature its log-probs were stored at (log p = l/T − lse(l/T)).
        var scaled = new[] { Math.Log(6) / temperature, Math.Log(2) / temperature, Math.Log(5) / temperature };
        var lse = Math.Log(scaled.Sum(Math.Exp));
        float[] stored = [(float)(scaled[0] - lse), (float)(scaled[1] - lse)];
        var grad = new float[4];
        var kl = DistillLoss.TopKForwardKl(LogP(Row), [3, 1], stored, temperature, grad, 1);
        Assert.Equal((0.75 * Math.Log(0.75 / 0.4)) + (0.25 * Math.Log(0.25 / 0.2)), kl, 5);
        Assert.Equal([0.1, -0.05, 0.3, -0.35], grad.Select(g => Math.Round(g, 5)));
    }

    [Fact]
    public void ReverseKl_ByHand()
    {
        var uniform = Enumerable.Repeat(Math.Log(0.25), 4).ToArray();
        var grad = new float[4];
        var p = new[] { 0.1, 0.2, 0.3, 0.4 };
        var expected = p.Sum(x => x * Math.Log(x / 0.25));
        Assert.Equal(expected, DistillLoss.ReverseKl(LogP(Row), uniform, grad, 1), 6);
        for (var i = 0; i < 4; i++) { Assert.Equal(p[i] * (Math.Log(p[i] / 0.25) - expected), grad[i], 5); }
        // Against itself the divergence and its gradient vanish.
        var same = new float[4];
        Assert.Equal(0, DistillLoss.ReverseKl(LogP(Row), LogP(Row), same, 1), 9);
        Assert.All(same, g => Assert.Equal(0, g, 6));
    }

    public static TheoryData<string> Losses => new() { "ce", "forward-kl", "reverse-kl" };

    [Theory]
    [MemberData(nameof(Losses))]
    public void Gradient_MatchesFiniteDifferences(string loss)
    {
        var random = new Random(loss.Length);
        const int V = 9;
        var logits = Enumerable.Range(0, V).Select(_ => (float)((random.NextDouble() * 4) - 2)).ToArray();
        var teacher = LogP([.. Enumerable.Range(0, V).Select(_ => (float)((random.NextDouble() * 4) - 2))]);
        int[] ids = [4, 0, 7];
        float[] top = [-0.4f, -1.3f, -2.2f];
        double Loss(float[] z, float[] grad) => loss switch
        {
            "ce" => DistillLoss.CrossEntropy(LogP(z), 5, grad, 0.7),
            "forward-kl" => DistillLoss.TopKForwardKl(LogP(z), ids, top, 0.6, grad, 0.7),
            _ => DistillLoss.ReverseKl(LogP(z), teacher, grad, 0.7),
        };
        var analytic = new float[V];
        Loss(logits, analytic);
        const float H = 1e-3f;
        for (var i = 0; i < V; i++)
        {
            var plus = (float[])logits.Clone();
            var minus = (float[])logits.Clone();
            plus[i] += H;
            minus[i] -= H;
            var numeric = 0.7 * (Loss(plus, new float[V]) - Loss(minus, new float[V])) / (plus[i] - minus[i]);
            Assert.True(Math.Abs(numeric - analytic[i]) < 2e-4, $"{loss} logit {i}: analytic {analytic[i]}, numeric {numeric}");
        }
    }

    [Fact]
    public void BadShapes_AreRefused()
    {
        Assert.Throws<ArgumentException>(() => DistillLoss.ReverseKl(LogP(Row), new double[3], new float[4], 1));
        Assert.Throws<ArgumentException>(() => DistillLoss.TopKForwardKl(LogP(Row), [1, 2], [-1f], 1, new float[4], 1));
        Assert.Contains("vocabulary is smaller", Assert.Throws<ArgumentOutOfRangeException>(() => DistillLoss.TopKForwardKl(LogP(Row), [9], [-1f], 1, new float[4], 1)).Message, StringComparison.Ordinal);
    }
}
