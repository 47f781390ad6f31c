// WorkerPoolTests.cs: every index runs exactly once, exceptions reach the caller, nested loops run inline, no allocation per loop.
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Tests;

public sealed class WorkerPoolTests
{
    private struct CountItems : IWorkItem
    {
        public int[] Hits;
        public int Threads;

        public readonly void Execute(int index, int worker)
        {
            if ((uint)worker >= (uint)Threads) { throw new InvalidOperationException($"worker {worker} outside [0, {Threads})"); }
            Interlocked.Increment(ref Hits[index]);
        }
    }

    private struct Throwing : IWorkItem
    {
        public readonly void Execute(int index, int worker)
        {
            if (index == 7) { throw new InvalidOperationException("item 7"); }
        }
    }

    private struct Nested : IWorkItem
    {
        public WorkerPool Pool;
        public int[] Hits;

        public readonly void Execute(int index, int worker)
        {
            var inner = new CountItems { Hits = Hits, Threads = Pool.Threads };
            Pool.For(4, ref inner);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void EveryIndexRunsOnce(int threads)
    {
        using var pool = new WorkerPool(threads);
        for (var n = 0; n < 40; n++)
        {
            var work = new CountItems { Hits = new int[n], Threads = threads };
            pool.For(n, ref work);
            Assert.All(work.Hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void ExceptionReachesCaller()
    {
        using var pool = new WorkerPool(2);
        var work = new Throwing();
        var e = Assert.Throws<InvalidOperationException>(() => pool.For(100, ref work));
        Assert.Equal("item 7", e.Message);
        var ok = new CountItems { Hits = new int[10], Threads = 2 };
        pool.For(10, ref ok); // the pool still works afterwards
        Assert.All(ok.Hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void NestedLoop_RunsInline()
    {
        using var pool = new WorkerPool(2);
        var hits = new int[4];
        var work = new Nested { Pool = pool, Hits = hits };
        pool.For(5, ref work);
        Assert.All(hits, h => Assert.Equal(5, h));
    }

    [Fact]
    public void Loop_AllocatesNothingAfterWarmUp()
    {
        using var pool = new WorkerPool(2);
        var work = new CountItems { Hits = new int[64], Threads = 2 };
        pool.For(64, ref work);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++) { pool.For(64, ref work); }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void DisposedPool_StillRunsLoopsInline()
    {
        var pool = new WorkerPool(2);
        pool.Dispose();
        var work = new CountItems { Hits = new int[9], Threads = 2 };
        pool.For(9, ref work);
        Assert.All(work.Hits, h => Assert.Equal(1, h));
    }

    private struct Allocating : IWorkItem
    {
        public object?[] Sink;

        public readonly void Execute(int index, int worker)
        {
            Sink[index] = new byte[1000];
            Thread.Sleep(1); // give the other thread time to claim items too
        }
    }

    [Fact]
    public void WorkerAllocatedBytes_SeesAllocationsOnWorkerThreads()
    {
        using var pool = new WorkerPool(2);
        var work = new Allocating { Sink = new object?[64] };
        pool.For(64, ref work);
        var before = pool.WorkerAllocatedBytes;
        pool.For(64, ref work);
        Assert.True(pool.WorkerAllocatedBytes - before >= 1000, "the worker thread allocated at least one 1000-byte array");
    }
}
