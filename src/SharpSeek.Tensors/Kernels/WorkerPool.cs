// WorkerPool.cs: a persistent pool of threads sized to the cores that runs one parallel loop at a time with no allocation.
// Work items are claimed dynamically, so each item must write only its own outputs: results never depend on the thread count.
// Not here: nested parallelism (a loop started from inside a loop runs inline). Tested by WorkerPoolTests.
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace SharpSeek.Tensors.Kernels;

/// <summary>One parallel loop body: <c>Execute(index, worker)</c> for every index in [0, count).</summary>
public interface IWorkItem
{
    /// <summary>Runs item <paramref name="index"/> on worker <paramref name="worker"/> (in [0, <see cref="WorkerPool.Threads"/>)).</summary>
    void Execute(int index, int worker);
}

/// <summary>
/// A persistent thread pool for kernel loops. <see cref="Current"/> is what kernels use; its size is the core count,
/// or the SHARPSEEK_THREADS environment variable, or whatever <see cref="UseThreads"/> last set.
/// </summary>
public sealed unsafe class WorkerPool : IDisposable
{
    private static WorkerPool? s_current;

    private readonly Thread[] _threads;
    private readonly long[] _workerAllocatedBytes;
    private readonly SemaphoreSlim _start = new(0);
    // Released once by the last helper of a loop. A SemaphoreSlim, not a ManualResetEventSlim: the latter allocates its
    // lock object the first time a wait really blocks, which can happen at any loop, long after warm-up.
    private readonly SemaphoreSlim _done = new(0);
    private readonly Lock _gate = new();
    private void* _state;
    private delegate*<void*, int, int, void> _body;
    private int _count;
    private int _next;
    private int _active;
    private volatile bool _disposed;
    private ExceptionDispatchInfo? _failure;

    [ThreadStatic]
    private static bool s_insideLoop;

    public WorkerPool(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Threads = threads;
        _threads = new Thread[threads - 1];
        _workerAllocatedBytes = new long[threads];
        for (var i = 0; i < _threads.Length; i++)
        {
            var worker = i + 1;
            _threads[i] = new Thread(() => WorkerLoop(worker)) { IsBackground = true, Name = $"sharpseek-worker-{worker}" };
            _threads[i].Start();
        }
    }

    /// <summary>Threads that run a loop, the calling thread included.</summary>
    public int Threads { get; }

    /// <summary>The pool kernels use.</summary>
    public static WorkerPool Current
    {
        get
        {
            if (s_current is { } pool) { return pool; }
            var created = new WorkerPool(DefaultThreads());
            return Interlocked.CompareExchange(ref s_current, created, null) ?? created;
        }
    }

    /// <summary>Replaces <see cref="Current"/> with a pool of <paramref name="threads"/> threads (the old pool is disposed).</summary>
    public static void UseThreads(int threads)
    {
        if (s_current is { } existing && existing.Threads == threads) { return; }
        var old = Interlocked.Exchange(ref s_current, new WorkerPool(threads));
        old?.Dispose();
    }

    /// <summary>SHARPSEEK_THREADS if set to a positive integer, else the processor count.</summary>
    public static int DefaultThreads()
    {
        var env = Environment.GetEnvironmentVariable("SHARPSEEK_THREADS");
        return int.TryParse(env, out var n) && n > 0 ? n : Environment.ProcessorCount;
    }

    /// <summary>Runs <c>work.Execute(i, worker)</c> for i in [0, count) on the pool and returns when all are done.</summary>
    public void For<T>(int count, ref T work) where T : struct, IWorkItem
    {
        if (count <= 0) { return; }
        if (count == 1 || Threads == 1 || s_insideLoop || _disposed || !_gate.TryEnter())
        {
            RunInline(count, ref work);
            return;
        }
        if (_disposed) // disposed (by UseThreads) between the check and taking the gate: still run, on this thread
        {
            _gate.Exit();
            RunInline(count, ref work);
            return;
        }
        try
        {
            // A stack copy cannot move during the loop, so its address is safe to hand to the workers.
            var local = work;
            {
                _state = Unsafe.AsPointer(ref local);
                _body = &Invoke<T>;
                _count = count;
                _next = 0;
                _failure = null;
                var helpers = Math.Min(_threads.Length, count - 1);
                _active = helpers;
                _start.Release(helpers);
                RunItems(0);
                if (helpers > 0) { _done.Wait(); }
                _state = null;
            }
            work = local;
            _failure?.Throw();
        }
        finally
        {
            _gate.Exit();
        }
    }

    /// <summary>
    /// GC bytes allocated so far by the pool's own threads (as of their last finished loop), for tests that prove a
    /// step allocates nothing; process-wide counters would also see the test runner's threads.
    /// </summary>
    internal long WorkerAllocatedBytes
    {
        get
        {
            long sum = 0;
            for (var i = 1; i < _workerAllocatedBytes.Length; i++) { sum += Volatile.Read(ref _workerAllocatedBytes[i]); }
            return sum;
        }
    }

    private static void RunInline<T>(int count, ref T work) where T : struct, IWorkItem
    {
        for (var i = 0; i < count; i++) { work.Execute(i, 0); }
    }

    private static void Invoke<T>(void* state, int index, int worker) where T : struct, IWorkItem
        => Unsafe.AsRef<T>(state).Execute(index, worker);

    private void RunItems(int worker)
    {
        s_insideLoop = true;
        try
        {
            int i;
            while ((i = Interlocked.Increment(ref _next) - 1) < _count)
            {
                _body(_state, i, worker);
            }
        }
        catch (Exception e)
        {
            _failure ??= ExceptionDispatchInfo.Capture(e);
            Volatile.Write(ref _next, _count); // stop handing out work
        }
        finally
        {
            s_insideLoop = false;
        }
    }

    private void WorkerLoop(int worker)
    {
        while (true)
        {
            _start.Wait();
            if (_disposed) { return; }
            RunItems(worker);
            Volatile.Write(ref _workerAllocatedBytes[worker], GC.GetAllocatedBytesForCurrentThread());
            if (Interlocked.Decrement(ref _active) == 0) { _done.Release(); }
        }
    }

    public void Dispose()
    {
        if (_disposed) { return; }
        lock (_gate)
        {
            _disposed = true;
            if (_threads.Length > 0) { _start.Release(_threads.Length); }
        }
        foreach (var t in _threads) { t.Join(); }
        _start.Dispose();
        _done.Dispose();
    }
}
