// RunComparisonTests.cs: a run's loss relative to a baseline's: a constant 1% offset is +1% at every step whatever the
// smoothing, one step's spike moves exactly the window of steps that averages it, eval losses compare at common steps,
// and runs without a common step give nothing.
using SharpSeek.Training.Runs;

namespace SharpSeek.Training.Tests.Runs;

public sealed class RunComparisonTests
{
    [Fact]
    public void RelativeLoss_IsTheSmoothedRatioMinusOne_AtCommonSteps()
    {
        // A run 1% above its baseline at every step is +1% everywhere, whatever the smoothing; a run whose 12th step is 10%
        // above moves the smoothed curve at steps 12 .. 21 by 1% (a tenth of the window) and nowhere else.
        var rng = new Random(5);
        var baseline = Enumerable.Range(1, 40).Select(s => new MetricsRecord { Step = s, MainLoss = 3 + rng.NextDouble(), EvalLoss = s % 10 == 0 ? 2.5 + s / 100.0 : null }).ToList();
        var above = baseline.Select(r => r with { MainLoss = r.MainLoss * 1.01, EvalLoss = r.EvalLoss * 0.98 }).ToList();
        var (steps, relative) = RunComparison.RelativeLoss(above, baseline);
        Assert.Equal(40, steps.Length);
        Assert.All(relative, r => Assert.Equal(0.01, r, 12));
        var (evalSteps, evalRelative) = RunComparison.RelativeEval(above, baseline);
        Assert.Equal([10.0, 20, 30, 40], evalSteps);
        Assert.All(evalRelative, r => Assert.Equal(-0.02, r, 12));

        var spike = baseline.Select(r => r.Step == 12 ? r with { MainLoss = r.MainLoss * 1.1 } : r).ToList();
        (steps, relative) = RunComparison.RelativeLoss(spike, baseline);
        for (var i = 0; i < steps.Length; i++)
        {
            var moved = steps[i] is >= 12 and < 12 + RunComparison.Window;
            Assert.True(moved ? relative[i] > 0 : relative[i] == 0, $"step {steps[i]}: {relative[i]}");
        }
        Assert.Empty(RunComparison.RelativeLoss(spike.Take(5).ToList(), baseline.Skip(5).ToList()).Steps); // no common step
    }
}
