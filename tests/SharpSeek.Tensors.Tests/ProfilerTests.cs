// ProfilerTests.cs: the step profiler: nothing is recorded while it is off, the ops charge their categories, nested
// regions are exclusive (the totals never exceed the wall time), and a backward is charged where its forward ran.
using System.Diagnostics;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Tensors.Tests;

[Collection(SerialCollection.Name)] // Profiler.Enabled is process-wide
public sealed class ProfilerTests
{
    private static readonly ProfileCategory[] All = Enum.GetValues<ProfileCategory>();

    [Fact]
    public void Disabled_RecordsNothing()
    {
        Profiler.Enabled = false;
        Profiler.Reset();
        using var arena = new Arena("step");
        var tape = new Tape(arena);
        using (Profiler.Region(ProfileCategory.Routing))
        {
            Assert.Equal(ProfileCategory.Other, Profiler.Current);
            tape.Backward(TrainingGraph(tape, new Random(3)));
        }
        Spin(0.005);
        foreach (var category in All) { Assert.Equal(0, Profiler.Ticks(category)); }
    }

    [Fact]
    public void Ops_ChargeTheirCategories_AndTheTotalIsAtMostTheWallTime()
    {
        using var arena = new Arena("step");
        var tape = new Tape(arena);
        Profiler.Enabled = true;
        try
        {
            Profiler.Reset();
            var wall = Stopwatch.StartNew();
            tape.Backward(TrainingGraph(tape, new Random(5)));
            using (Profiler.Region(ProfileCategory.Optimizer)) { Spin(0.01); }
            wall.Stop();
            Assert.True(Profiler.Ticks(ProfileCategory.Gemm) > 0, "matmul forward and backward charge GEMM");
            Assert.True(Profiler.Ticks(ProfileCategory.Attention) > 0, "attention forward and backward charge attention");
            Assert.True(Profiler.Ticks(ProfileCategory.Routing) > 0, "the row gather recorded in a routing region charges routing");
            Assert.True(Profiler.Seconds(ProfileCategory.Optimizer) >= 0.01);
            var sum = All.Sum(c => Profiler.Ticks(c));
            Assert.True(sum <= wall.ElapsedTicks * Stopwatch.Frequency / TimeSpan.TicksPerSecond + 1, $"categories {sum} exceed the wall time");
        }
        finally
        {
            Profiler.Enabled = false;
        }
    }

    [Fact]
    public void NestedRegions_AreExclusive()
    {
        Profiler.Enabled = true;
        try
        {
            Profiler.Reset();
            var wall = Stopwatch.GetTimestamp();
            using (Profiler.Region(ProfileCategory.Routing))
            {
                Spin(0.02);
                using (Profiler.Region(ProfileCategory.Gemm))
                {
                    Assert.Equal(ProfileCategory.Gemm, Profiler.Current);
                    Spin(0.03);
                }
                Assert.Equal(ProfileCategory.Routing, Profiler.Current);
                Spin(0.01);
            }
            var elapsed = Stopwatch.GetTimestamp() - wall;
            var elapsedSeconds = (double)elapsed / Stopwatch.Frequency;
            var routing = Profiler.Seconds(ProfileCategory.Routing);
            var gemm = Profiler.Seconds(ProfileCategory.Gemm);
            Assert.InRange(gemm, 0.03, elapsedSeconds - 0.03); // the outer region spun at least 0.03 s of the wall time
            Assert.True(routing >= 0.03, $"routing {routing}");
            Assert.True(Profiler.Ticks(ProfileCategory.Routing) + Profiler.Ticks(ProfileCategory.Gemm) <= elapsed,
                "the inner region's time must not also count in the outer one");
            Assert.Equal(0, Profiler.Ticks(ProfileCategory.Attention));
            Assert.Equal(ProfileCategory.Other, Profiler.Current);
        }
        finally
        {
            Profiler.Enabled = false;
        }
    }

    [Fact]
    public void Backward_IsChargedToTheRegionItsForwardRanIn()
    {
        using var arena = new Arena("step");
        var tape = new Tape(arena);
        var random = new Random(9);
        var x = tape.Input(Filled(arena, random, 37, 13));
        Var y;
        Profiler.Enabled = true;
        try
        {
            using (Profiler.Region(ProfileCategory.Optimizer)) { y = MulOp.Apply(tape, x, x); }
            var loss = SumOp.Apply(tape, y);
            Profiler.Reset();
            tape.Backward(loss);
            Assert.True(Profiler.Ticks(ProfileCategory.Optimizer) > 0, "the Mul's backward belongs to the region it was recorded in");
            Assert.Equal(0, Profiler.Ticks(ProfileCategory.Gemm));
            Assert.Equal(0, Profiler.Ticks(ProfileCategory.Routing));
        }
        finally
        {
            Profiler.Enabled = false;
        }
    }

    // A matmul, a causal attention and a gather recorded inside a routing region, reduced to a scalar.
    private static Var TrainingGraph(Tape tape, Random random)
    {
        int b = 2, t = 7, h = 3, d = 5;
        var x = tape.Input(Filled(tape.Arena, random, b * t, 11));
        var w = tape.Input(Filled(tape.Arena, random, 11, h * d));
        var qkv = MatmulOp.Apply(tape, x, w);                                    // (B·T, H·D)
        var q = ReshapeOp.Apply(tape, qkv, b, t, h, d);
        var o = AttentionOp.Apply(tape, q, q, q, 0.4);                           // (B, T, H, D)
        var rows = ReshapeOp.Apply(tape, o, b * t, h * d);
        var index = tape.Arena.FromSpan<int>(Enumerable.Range(0, b * t).Select(i => i * 5 % (b * t)).ToArray(), b * t);
        Var gathered;
        using (Profiler.Region(ProfileCategory.Routing)) { gathered = GatherRowsOp.Apply(tape, rows, index); }
        return SumOp.Apply(tape, MulOp.Apply(tape, gathered, gathered));
    }

    private static Tensor Filled(Arena arena, Random random, int rows, int cols)
    {
        var values = new float[rows * cols];
        for (var i = 0; i < values.Length; i++) { values[i] = (float)(random.NextDouble() * 2 - 1); }
        return arena.FromSpan<float>(values, rows, cols);
    }

    private static void Spin(double seconds)
    {
        var until = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < until) { Thread.SpinWait(20); }
    }
}
