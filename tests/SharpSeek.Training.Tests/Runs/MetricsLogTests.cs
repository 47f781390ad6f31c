// MetricsLogTests.cs: metrics.jsonl round trips every field, reopening for a resume keeps only the checkpointed steps
// and drops a torn line, a corrupt line in the middle is named, and MaxVio is max/mean − 1.
using SharpSeek.Training.Runs;

namespace SharpSeek.Training.Tests.Runs;

public sealed class MetricsLogTests
{
    private static MetricsRecord Record(long step, Random rng) => new()
    {
        Step = step,
        Loss = rng.NextDouble() * 9,
        MainLoss = rng.NextDouble() * 9,
        MtpLoss = rng.NextDouble() * 9,
        BalanceLoss = rng.NextDouble() * 1e-3,
        Lr = rng.NextDouble() * 1e-3,
        GradNorm = rng.NextDouble() * 3,
        Tokens = step * 4096,
        TokensPerSecond = 1000 + rng.NextDouble(),
        ElapsedSeconds = step * 1.7,
        MoeLayers = [1, 2, 7],
        ExpertLoad = [.. Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, 5).Select(_ => (long)rng.Next(1, 100)).ToArray())],
        MaxVio = [rng.NextDouble(), rng.NextDouble(), rng.NextDouble()],
        EvalLoss = step % 3 == 0 ? rng.NextDouble() * 9 : null,
    };

    [Fact]
    public void AppendAndRead_RoundTripEveryFieldExactly()
    {
        using var tmp = new TinyRun();
        var rng = new Random(11);
        var written = Enumerable.Range(1, 7).Select(s => Record(s, rng)).ToList();
        using (var log = MetricsLog.Open(tmp.Directory, 0))
        {
            foreach (var r in written) { log.Append(r); }
        }
        var read = MetricsLog.Read(tmp.Directory);
        Assert.Equal(written.Count, read.Count);
        for (var i = 0; i < written.Count; i++)
        {
            Assert.Equal(written[i] with { ExpertLoad = [], MoeLayers = [], MaxVio = [] }, read[i] with { ExpertLoad = [], MoeLayers = [], MaxVio = [] });
            Assert.Equal(written[i].ExpertLoad, read[i].ExpertLoad);
            Assert.Equal(written[i].MoeLayers, read[i].MoeLayers);
            Assert.Equal(written[i].MaxVio, read[i].MaxVio);
        }
        Assert.DoesNotContain("eval_loss", File.ReadLines(Path.Combine(tmp.Directory, MetricsLog.FileName)).First(), StringComparison.Ordinal);
    }

    [Fact]
    public void Open_KeepsOnlyTheCheckpointedStepsAndDropsATornLine()
    {
        using var tmp = new TinyRun();
        var rng = new Random(12);
        using (var log = MetricsLog.Open(tmp.Directory, 0))
        {
            for (var s = 1; s <= 9; s++) { log.Append(Record(s, rng)); }
        }
        File.AppendAllText(Path.Combine(tmp.Directory, MetricsLog.FileName), "{\"step\": 10, \"loss\": 1.2"); // killed mid-line
        Assert.Equal(9, MetricsLog.Read(tmp.Directory).Count);

        using (var log = MetricsLog.Open(tmp.Directory, 5))
        {
            log.Append(Record(6, rng));
        }
        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L], MetricsLog.Read(tmp.Directory).Select(r => r.Step));
    }

    [Fact]
    public void Read_NamesACorruptLineInTheMiddle()
    {
        using var tmp = new TinyRun();
        var path = Path.Combine(tmp.Directory, MetricsLog.FileName);
        File.WriteAllText(path, "{\"step\": 1, \"loss\": 2.5}\nnot json\n{\"step\": 2, \"loss\": 2.25}\n");
        var e = Assert.Throws<InvalidDataException>(() => MetricsLog.Read(path));
        Assert.Contains($"{MetricsLog.FileName}:2", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new long[] { 7, 7, 7 }, 0.0)]
    [InlineData(new long[] { 3, 1, 0, 0 }, 2.0)]       // mean 1, max 3
    [InlineData(new long[] { 5, 3, 1 }, 2.0 / 3.0)]    // mean 3, max 5
    [InlineData(new long[] { 0, 0 }, 0.0)]
    public void MaxVio_IsMaxOverMeanMinusOne(long[] load, double expected) =>
        Assert.Equal(expected, MetricsLog.MaxVio(load), 12);
}
