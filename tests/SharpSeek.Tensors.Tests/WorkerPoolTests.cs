// WorkerPoolTests.cs: every index runs exactly once (cold, and in hot scopes where workers spin), exceptions reach the
// caller, nested loops run inline, no allocation per loop, Dispose stops spinning workers.
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Tests;

[Collection(SerialCollection.Name)] // the stress test keeps every core busy for seconds: not beside tests that count allocations or time
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

    private struct RecordWorkers : IWorkItem
    {
        public int[] ByWorker;

        public readonly void Execute(int index, int worker)
        {
            Interlocked.Increment(ref ByWorker[worker]);
            Thread.SpinWait(2000); // long enough that a spinning worker joins before the caller has claimed everything
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void HotScope_ManyShortLoops_EveryIndexRunsOnce(int threads)
    {
        using var pool = new WorkerPool(threads);
        for (var round = 0; round < 4; round++)
        {
            using (pool.Hot())
            {
                Assert.True(pool.IsHot);
                for (var i = 0; i < 2000; i++)
                {
                    var n = 2 + (i % 9);
                    var work = new CountItems { Hits = new int[n], Threads = threads };
                    pool.For(n, ref work);
                    Assert.All(work.Hits, h => Assert.Equal(1, h));
                }
            }
            Assert.False(pool.IsHot);
            // Cold loops between the hot bursts, some after the workers have gone back to sleep.
            for (var i = 0; i < 50; i++)
            {
                if (i % 10 == 0) { Thread.Sleep(1); }
                var work = new CountItems { Hits = new int[7], Threads = threads };
                pool.For(7, ref work);
                Assert.All(work.Hits, h => Assert.Equal(1, h));
            }
        }
    }

    [Fact]
    public void HotScope_WorkersShareTheItems()
    {
        using var pool = new WorkerPool(2);
        var work = new RecordWorkers { ByWorker = new int[2] };
        using (pool.Hot())
        {
            for (var i = 0; i < 200; i++) { pool.For(8, ref work); }
        }
        Assert.Equal(1600, work.ByWorker[0] + work.ByWorker[1]);
        Assert.True(work.ByWorker[1] > 0, $"the spinning worker ran none of the 1600 items (caller ran {work.ByWorker[0]})");
    }

    [Fact]
    public void Dispose_WhileHot_StopsTheSpinningWorkers()
    {
        var pool = new WorkerPool(3);
        var scope = pool.Hot();
        var work = new CountItems { Hits = new int[5], Threads = 3 };
        pool.For(5, ref work);
        var disposing = new Thread(pool.Dispose);
        disposing.Start();
        Assert.True(disposing.Join(TimeSpan.FromSeconds(10)), "Dispose did not return while a hot scope was open");
        scope.Dispose();
        var after = new CountItems { Hits = new int[4], Threads = 3 };
        pool.For(4, ref after); // inline once disposed
        Assert.All(after.Hits, h => Assert.Equal(1, h));
    }

    private struct Uneven : IWorkItem
    {
        public int[] Hits;

        public readonly void Execute(int index, int worker)
        {
            // Items of uneven length, now and then longer than the caller's spin, so that it blocks; the hit is counted at
            // the end, so a loop that returns while a worker is still inside an item shows a missing hit.
            if (index % 3 == worker % 3) { Thread.SpinWait(300 * (index % 5)); }
            if (worker > 0 && index % 7 == 3) { Thread.Sleep(3); }
            Interlocked.Increment(ref Hits[index]);
        }
    }

    [Fact]
    public void Stress_SeveralCallersHotAndCold_EveryLoopRunsEachIndexOnceAndReturnsAfterIt()
    {
        // Callers share one pool (all but one of them then run inline), toggle hot scopes, and check each loop's hits the
        // moment For returns: a loop that returned early (a worker still inside it) or an item run twice shows up here.
        using var pool = new WorkerPool(3);
        var stall = new ThreadLocal<Random>(() => new Random(Environment.CurrentManagedThreadId));
        pool.BeforeRelease = () =>
        {
            if (stall.Value!.Next(4) == 0) { Thread.Sleep(1); } // a worker preempted between its last check and waking the caller
        };
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var stop = DateTime.UtcNow.AddSeconds(3);
        var callers = Enumerable.Range(0, 3).Select(c => new Thread(() =>
        {
            var rng = new Random(c);
            while (DateTime.UtcNow < stop && failures.IsEmpty)
            {
                var hot = rng.Next(2) == 0 ? pool.Hot() : default;
                for (var i = 0; i < 200; i++)
                {
                    var n = rng.Next(40);
                    var work = new Uneven { Hits = new int[n] };
                    pool.For(n, ref work);
                    var wrong = Array.FindIndex(work.Hits, h => h != 1);
                    if (wrong >= 0) { failures.Enqueue($"caller {c}: item {wrong} of {n} ran {work.Hits[wrong]} times by the time For returned"); }
                }
                hot.Dispose();
                if (rng.Next(8) == 0) { Thread.Sleep(1); } // let the workers fall asleep now and then
            }
        })).ToArray();
        foreach (var t in callers) { t.Start(); }
        foreach (var t in callers) { Assert.True(t.Join(TimeSpan.FromSeconds(60)), "a caller hung"); }
        Assert.True(failures.IsEmpty, string.Join("; ", failures.Take(3)));
    }
}
