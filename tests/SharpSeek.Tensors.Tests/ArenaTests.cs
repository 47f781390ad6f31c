// ArenaTests.cs: growth, coalescing on reset (with headroom, so a peak that creeps up keeps its block), rewinding to a
// mark, and zero native or GC allocation after warm-up.
namespace SharpSeek.Tensors.Tests;

public sealed class ArenaTests
{
    [Fact]
    public void Rewind_GivesBackWhatFollowedTheMark_KeepsWhatCameBefore_AndThePeak()
    {
        using var arena = new Arena("step", 1024);
        var kept = arena.Allocate<float>(16);
        kept.AsSpan<float>().Fill(7);
        var mark = arena.Mark();
        for (var i = 0; i < 20; i++) { arena.Allocate<float>(100); }                                  // grows past the first block
        Assert.True(arena.BlockCount > 1);
        var peak = arena.UsedBytes;
        arena.Rewind(mark);
        Assert.Equal(1, arena.BlockCount);
        Assert.Equal(64, arena.UsedBytes);
        Assert.Equal(peak, arena.HighWaterBytes);
        Assert.All(kept.AsSpan<float>().ToArray(), v => Assert.Equal(7f, v));
        var next = arena.Allocate<float>(16);                                                        // reuses the given-back space, zeroed
        Assert.All(next.AsSpan<float>().ToArray(), v => Assert.Equal(0f, v));
        arena.Reset();
        Assert.True(arena.CapacityBytes >= peak);                                                    // sized for the peak, rewinds and all
        Assert.Throws<InvalidOperationException>(() => arena.Rewind(mark));                          // the mark is past the reset top
    }

    [Fact]
    public void Growth_CoalescesIntoOneBlockOnReset()
    {
        using var arena = new Arena("step", 128);
        for (var i = 0; i < 10; i++) { arena.Allocate<float>(100); }
        Assert.True(arena.BlockCount > 1);
        var used = arena.UsedBytes;
        arena.Reset();
        Assert.Equal(1, arena.BlockCount);
        Assert.True(arena.CapacityBytes >= used);
        for (var i = 0; i < 10; i++) { arena.Allocate<float>(100); }
        Assert.Equal(1, arena.BlockCount);
    }

    [Fact]
    public void AStepWhosePeakCreepsUp_KeepsTheResetBlock()
    {
        // A MoE step's peak moves with its routing: a reset block sized exactly for the last peak would be traded for a
        // fresh one (new pages to fault in) whenever the next step needs a few bytes more; the headroom absorbs that.
        using var arena = new Arena("step", 64);
        for (var i = 0; i < 64; i++) { arena.Allocate<float>(1024); }
        arena.Reset();
        var capacity = arena.CapacityBytes;
        for (var i = 0; i < 66; i++) { arena.Allocate<float>(1024); }                               // 3% more than the last peak
        Assert.Equal(1, arena.BlockCount);
        arena.Reset();
        Assert.Equal(capacity, arena.CapacityBytes);                                                 // the same block
    }

    [Fact]
    public void StepAfterWarmUp_AllocatesNothingOnTheGcHeap()
    {
        using var arena = new Arena("step", 64);
        long before = 0;
        for (var step = 0; step < 3; step++)
        {
            if (step == 2) { before = GC.GetAllocatedBytesForCurrentThread(); }
            arena.Reset();
            for (var i = 1; i < 50; i++)
            {
                var t = arena.Allocate<float>(i, 3);
                t.AsSpan<float>()[0] = i;
            }
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void AllocationsAreAlignedTo64Bytes()
    {
        using var arena = new Arena("params", 64);
        for (var i = 1; i < 20; i++)
        {
            var t = arena.Allocate(DType.F8E4M3, new Shape(i));
            Assert.Equal(0, t.Offset % 64);
        }
    }
}
