// WorkerPool.cs: a persistent pool of threads sized to the cores that runs one parallel loop at a time with no allocation.
// Work items are claimed dynamically, so each item must write only its own outputs: results never depend on the thread count.
// A loop is announced by bumping a generation; idle workers sleep on their own semaphore, or, while a Hot scope is open
// (a decode step: hundreds of loops of a few µs each), spin on the generation so that a loop starts in well under a µs
// instead of a ~30 µs wake-up. Workers join a loop until the caller has finished its own share and closes it, so the
// caller never waits for a worker that had not started; a caller that blocks waits under its loop's id, so only that
// loop's last worker can wake it (never a stalled worker of an earlier loop). Not here: nested parallelism (a loop
// started from inside a loop runs inline). Tested by WorkerPoolTests.
using System.Diagnostics;
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
    // Set in _entry once the caller has finished its share: no worker joins the loop after that.
    private const int Closed = 1 << 30;

    // Spins of a waiting caller before it blocks (a joined worker normally finishes within this).
    private const int CallerSpins = 1 << 14;

    private static WorkerPool? s_current;

    private readonly Thread[] _threads;
    private readonly long[] _workerAllocatedBytes;
    private readonly SemaphoreSlim[] _wake;
    private readonly int[] _sleeping;         // per worker: 1 while it is blocked (or about to block) on its _wake
    // Released by the last joined worker when the caller blocks. A SemaphoreSlim, not a ManualResetEventSlim: the latter
    // allocates its lock object the first time a wait really blocks, which can happen at any loop, long after warm-up.
    private readonly SemaphoreSlim _done = new(0);
    private readonly Lock _gate = new();
    private void* _state;
    private delegate*<void*, int, int, void> _body;
    private int _count;
    private int _next;
    private int _generation;                  // bumped once per loop
    private int _entry;                       // workers joined to the current loop, | Closed
    private int _finished;                    // joined workers done with it
    private long _loop;                       // the current loop's id (1, 2, …), fixed while any worker is joined to it
    private long _waiting;                    // the id of the loop whose caller is blocked on _done, else 0
    private int _hot;                         // open Hot scopes
    private long _coolAt;                     // Stopwatch time until which idle workers keep spinning after the last scope
    private volatile bool _disposed;
    private ExceptionDispatchInfo? _failure;

    [ThreadStatic]
    private static bool s_insideLoop;

    public WorkerPool(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Threads = threads;
        _threads = new Thread[threads - 1];
        _wake = new SemaphoreSlim[threads - 1];
        _sleeping = new int[threads - 1];
        _workerAllocatedBytes = new long[threads];
        for (var i = 0; i < _threads.Length; i++)
        {
            var worker = i + 1;
            _wake[i] = new SemaphoreSlim(0);
            _threads[i] = new Thread(() => WorkerLoop(worker)) { IsBackground = true, Name = $"sharpseek-worker-{worker}" };
            _threads[i].Start();
        }
    }

    /// <summary>Threads that run a loop, the calling thread included.</summary>
    public int Threads { get; }

    /// <summary>Whether a <see cref="Hot"/> scope is open: a loop then starts in well under a microsecond, so kernels may
    /// split work a few microseconds long.</summary>
    public bool IsHot => Volatile.Read(ref _hot) > 0;

    /// <summary>How long idle workers keep spinning after the last <see cref="Hot"/> scope closes (the gap between two
    /// decode steps), in microseconds.</summary>
    public static int CoolDownMicroseconds => 200;

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

    /// <summary>
    /// Opens a scope (dispose it; scopes nest and may come from several threads) during which idle workers spin instead of
    /// sleeping, and for <see cref="CoolDownMicroseconds"/> after the last one closes. For a burst of short loops, such as
    /// a decode step's projections; the spinning occupies the workers' cores.
    /// </summary>
    public HotScope Hot()
    {
        if (Interlocked.Increment(ref _hot) == 1) { Wake(_threads.Length); } // spin from the first loop on, not after a wake-up
        return new HotScope(this);
    }

    /// <summary>An open <see cref="Hot"/> scope.</summary>
    public readonly ref struct HotScope
    {
        private readonly WorkerPool? _pool;

        internal HotScope(WorkerPool pool) => _pool = pool;

        public void Dispose()
        {
            if (_pool is null) { return; }
            Volatile.Write(ref _pool._coolAt, Stopwatch.GetTimestamp() + (CoolDownMicroseconds * Stopwatch.Frequency / 1_000_000));
            int hot;
            do
            {
                hot = Volatile.Read(ref _pool._hot);
            }
            while (hot > 0 && Interlocked.CompareExchange(ref _pool._hot, hot - 1, hot) != hot); // a copy disposed twice cannot go below 0
        }
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
                _finished = 0;
                var loop = ++_loop;
                Volatile.Write(ref _entry, 0);
                Interlocked.Increment(ref _generation);
                Wake(count - 1);
                RunItems(0);
                var joined = Interlocked.Or(ref _entry, Closed);
                AwaitWorkers(joined, loop);
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

    /// <summary>Called by a worker between reading a loop's state and deciding whether to wake its caller (tests stall it
    /// there to provoke a stale view; null otherwise).</summary>
    internal Action? BeforeRelease { get; set; }

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

    // Wakes up to n sleeping workers.
    private void Wake(int n)
    {
        for (int w = 0, woken = 0; w < _threads.Length && woken < n; w++)
        {
            if (Volatile.Read(ref _sleeping[w]) == 1 && Interlocked.CompareExchange(ref _sleeping[w], 0, 1) == 1)
            {
                _wake[w].Release();
                woken++;
            }
        }
    }

    // Until every worker that joined loop `loop` has finished: spin a while, then block on _done. _waiting holds the
    // loop's id, so only a worker of this loop can take it and release: a worker of an earlier loop that stalled between
    // its last check and its CAS cannot end this wait early.
    private void AwaitWorkers(int joined, long loop)
    {
        for (var spin = 0; Volatile.Read(ref _finished) != joined; spin++)
        {
            if (spin < CallerSpins)
            {
                Thread.SpinWait(1);
                continue;
            }
            Volatile.Write(ref _waiting, loop);
            Interlocked.MemoryBarrier();
            if (Volatile.Read(ref _finished) == joined && Interlocked.CompareExchange(ref _waiting, 0, loop) == loop) { return; }
            _done.Wait(); // the last worker took _waiting and releases (or already released)
            return;
        }
    }

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
        var index = worker - 1;
        var seen = 0;
        while (true)
        {
            if (!AwaitLoop(index, seen, out seen)) { return; }
            // Join unless the caller has closed the loop (it then finished every item without us).
            int entry;
            do
            {
                entry = Volatile.Read(ref _entry);
            }
            while ((entry & Closed) == 0 && Interlocked.CompareExchange(ref _entry, entry + 1, entry) != entry);
            if ((entry & Closed) != 0) { continue; }
            var loop = Volatile.Read(ref _loop); // joined: the loop cannot end, nor its id change, before we finish
            RunItems(worker);
            Volatile.Write(ref _workerAllocatedBytes[worker], GC.GetAllocatedBytesForCurrentThread());
            var finished = Interlocked.Increment(ref _finished);
            entry = Volatile.Read(ref _entry);
            BeforeRelease?.Invoke(); // tests widen the window in which this worker's view goes stale
            if ((entry & Closed) != 0 && finished == (entry & ~Closed) && Interlocked.CompareExchange(ref _waiting, 0, loop) == loop) { _done.Release(); }
        }
    }

    // Waits for a generation other than `seen` (spinning while hot, else sleeping on the worker's semaphore); false once disposed.
    private bool AwaitLoop(int index, int seen, out int generation)
    {
        var spin = 0;
        while ((generation = Volatile.Read(ref _generation)) == seen)
        {
            if (_disposed) { return false; }
            if ((++spin & 63) != 0 || IsHot || Stopwatch.GetTimestamp() < Volatile.Read(ref _coolAt))
            {
                // Now and then give the core up, in case another thread (the caller's own, the GC, a server's) needs it.
                if ((spin & 4095) == 0) { Thread.Yield(); } else { Thread.SpinWait(1); }
                continue;
            }
            Volatile.Write(ref _sleeping[index], 1);
            Interlocked.MemoryBarrier();
            if ((Volatile.Read(ref _generation) != seen || _disposed) && Interlocked.CompareExchange(ref _sleeping[index], 0, 1) == 1) { continue; }
            _wake[index].Wait(); // whoever reset _sleeping released it
        }
        return !_disposed;
    }

    public void Dispose()
    {
        if (_disposed) { return; }
        lock (_gate)
        {
            _disposed = true;
            Interlocked.Increment(ref _generation);
            for (var w = 0; w < _threads.Length; w++)
            {
                if (Interlocked.CompareExchange(ref _sleeping[w], 0, 1) == 1) { _wake[w].Release(); }
            }
        }
        foreach (var t in _threads) { t.Join(); }
        foreach (var w in _wake) { w.Dispose(); }
        _done.Dispose();
    }
}
