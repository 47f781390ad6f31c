// TrainBenchRoundsTests.cs: `bench train --rounds`' summary line: each round's ratio against the fp32 run of its own
// round (not against another round's), the range and median of those ratios, and the peak memory's range. The benchmark
// itself never runs in CI.
using SharpSeek.Bench;

namespace SharpSeek.Cli.Tests;

public sealed class TrainBenchRoundsTests
{
    private static TrainBenchResult Result(string precision, double seconds, double peak, double quantize = 0) =>
        new() { Preset = "small", Batch = 8, Seq = 256, Precision = precision, MedianSeconds = seconds, PeakMiB = peak, Quantize = quantize };

    [Fact]
    public void RoundsLine_TakesEachRatioAgainstItsOwnRound()
    {
        // Round 2's fp32 ran slow: against its own fp32 the fp8 step is 0.75×, against round 1's it would be 1.80×.
        (TrainBenchResult, TrainBenchResult)[] rounds =
        [
            (Result("fp8", 1.20, 900, 0.14), Result("fp32", 1.00, 2000)),
            (Result("fp8", 1.80, 950, 0.15), Result("fp32", 2.40, 2000)),
            (Result("fp8", 1.30, 920, 0.14), Result("fp32", 1.00, 2000)),
        ];
        Assert.Equal(
            "train small 8×256 fp8, 3 rounds: step 0.75–1.30× fp32's (median 1.20×), peak memory 900–950 MiB (45–48% of fp32's), quantize/transpose 14–15%",
            TrainBench.RoundsLine(rounds));
        Assert.Throws<ArgumentOutOfRangeException>(() => TrainBench.RoundsLine([]));
    }
}
