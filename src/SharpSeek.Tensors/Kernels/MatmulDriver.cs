// MatmulDriver.cs: the BLIS/Goto blocking loops (NC → KC → MC → NR → MR), the fused small-m / small-n paths, packing
// buffers and the split of the work over WorkerPool. Not here: argument checks (Matmul.cs), packing and the microkernel.
// Every path sums each C element over the same K blocks in the same order with the same kernel, so the result does not
// depend on the path or the thread count. Tested by MatmulTests and MatmulThreadingTests.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SharpSeek.Tensors.Kernels;

internal static unsafe class MatmulDriver
{
    /// <summary>K block: a KC×NR B micro-panel (16 KiB of f32) stays in the 32 KiB L1d.</summary>
    public const int KC = 256;

    /// <summary>Column chunk of one work item, in NR panels: the B slice one item sweeps the packed A block over.</summary>
    private const int ChunkPanels = 16;

    /// <summary>Below this many multiply-adds the pool's wake-up costs more than the second core gains.</summary>
    private const long ParallelThreshold = 1L << 20;

    [ThreadStatic]
    private static NativeBlock? s_packA;

    [ThreadStatic]
    private static NativeBlock? s_packB;

    /// <summary>Per-worker slices (<see cref="WorkerStride{T}"/> apart) for the fused small-m / small-n paths.</summary>
    [ThreadStatic]
    private static NativeBlock? s_packWorker;

    [ThreadStatic]
    private static NativeBlock? s_counters;

    /// <summary>Ints between two pack counters: one per 64-byte line, so that the workers' increments do not collide.</summary>
    private const int CounterStride = 16;

    /// <summary>Fused paths: about this many work items per thread, so that dynamic claiming evens out the load.</summary>
    private const int ItemsPerThread = 4;

    /// <summary>Fused paths: the narrowest group (in NR or MR panels) worth one pass over the other operand.</summary>
    private const int MinGroupPanels = 4;

    /// <summary>M block: an MC×KC A block (144 KiB for both types) stays in the 512 KiB L2.</summary>
    public static int MC<T>() where T : unmanaged => sizeof(T) == 4 ? 144 : 72;

    /// <summary>N block: a KC×NC packed B block (4 MiB) shared by both cores in L3.</summary>
    public static int NC<T>() where T : unmanaged => sizeof(T) == 4 ? 4096 : 2048;

    /// <summary>c (m, n) = or += op(A) (m, k) · op(B) (k, n); each C element is written by one work item with a fixed K order.</summary>
    public static void Run<T, TSource>(T* a, bool transposeA, TSource b, T* c, int m, int n, int k, bool accumulate)
        where T : unmanaged
        where TSource : struct, IPanelSource<T> => Run(new DenseRows<T>(a, m, k, transposeA), b, c, m, n, k, accumulate);

    /// <summary>The same with op(A) from any panel source (FP8 codes decoded while they are packed).</summary>
    public static void Run<T, TRows, TSource>(TRows a, TSource b, T* c, int m, int n, int k, bool accumulate)
        where T : unmanaged
        where TRows : struct, IRowPanelSource<T>
        where TSource : struct, IPanelSource<T>
    {
        if (m == 0 || n == 0) { return; }
        if (k == 0)
        {
            if (!accumulate) { new Span<T>(c, checked(m * n)).Clear(); }
            return;
        }
        // One pool for the whole call: the per-worker buffers are sized by its thread count.
        var pool = (long)m * n * k >= ParallelThreshold ? WorkerPool.Current : null;
        if (m <= MC<T>())
        {
            RunSmallM(pool, a, b, c, m, n, k, accumulate);
            return;
        }
        if ((n + MatmulMicrokernel.NR<T>() - 1) / MatmulMicrokernel.NR<T>() <= ChunkPanels)
        {
            RunSmallN(pool, a, b, c, m, n, k, accumulate);
            return;
        }
        RunBlocked(pool, a, b, c, m, n, k, accumulate);
    }

    /// <summary>
    /// m ≤ MC: one loop whose first items pack op(A) whole (it is small; one item per MR panel and K block), and whose
    /// other items are column groups. A group walks the K blocks in order, waits until that block of A is packed, then
    /// packs one KC×NR B panel at a time into its worker's buffer (it stays in L1) and runs it against all of A's rows.
    /// No barrier per K block, no shared B block, and one wake-up of the pool per call.
    /// </summary>
    private static void RunSmallM<T, TRows, TSource>(WorkerPool? pool, TRows a, TSource b, T* c, int m, int n, int k,
        bool accumulate)
        where T : unmanaged
        where TRows : struct, IRowPanelSource<T>
        where TSource : struct, IPanelSource<T>
    {
        const int Mr = MatmulMicrokernel.MR;
        var nr = MatmulMicrokernel.NR<T>();
        var threads = pool?.Threads ?? 1;
        var mPanels = (m + Mr - 1) / Mr;
        var nPanels = (n + nr - 1) / nr;
        var group = Math.Max(MinGroupPanels, (nPanels + ItemsPerThread * threads - 1) / (ItemsPerThread * threads));
        var stride = WorkerStride<T>(KC * nr);
        var work = new SmallMWork<T, TRows, TSource>
        {
            A = a,
            MPanels = mPanels,
            PackItems = mPanels * KBlocks(k),
            Packed = Counters(KBlocks(k)),
            PackA = (T*)Ensure(ref s_packA, (long)mPanels * Mr * k * sizeof(T)),
            Source = b,
            WorkerPack = (T*)Ensure(ref s_packWorker, threads * stride * sizeof(T)),
            WorkerStride = stride,
            C = c,
            M = m,
            N = n,
            K = k,
            GroupPanels = group,
            Accumulate = accumulate,
        };
        For(pool, work.PackItems + (nPanels + group - 1) / group, ref work);
    }

    /// <summary>
    /// n ≤ 16 NR (the KC×n B block fits L2 beside an A block), the mirror image: the first items pack op(B) whole, the
    /// others are row groups that walk the K blocks in order, packing their rows × KC slice of A into the worker's buffer.
    /// </summary>
    private static void RunSmallN<T, TRows, TSource>(WorkerPool? pool, TRows a, TSource b, T* c, int m, int n, int k,
        bool accumulate)
        where T : unmanaged
        where TRows : struct, IRowPanelSource<T>
        where TSource : struct, IPanelSource<T>
    {
        const int Mr = MatmulMicrokernel.MR;
        var nr = MatmulMicrokernel.NR<T>();
        var threads = pool?.Threads ?? 1;
        var mPanels = (m + Mr - 1) / Mr;
        var nPanels = (n + nr - 1) / nr;
        var group = Math.Clamp((mPanels + ItemsPerThread * threads - 1) / (ItemsPerThread * threads), MinGroupPanels, MC<T>() / Mr);
        var stride = WorkerStride<T>(group * Mr * KC);
        var work = new SmallNWork<T, TRows, TSource>
        {
            A = a,
            Source = b,
            NPanels = nPanels,
            PackItems = nPanels * KBlocks(k),
            Packed = Counters(KBlocks(k)),
            PackB = (T*)Ensure(ref s_packB, (long)nPanels * nr * k * sizeof(T)),
            WorkerPack = (T*)Ensure(ref s_packWorker, threads * stride * sizeof(T)),
            WorkerStride = stride,
            C = c,
            M = m,
            N = n,
            K = k,
            GroupPanels = group,
            Accumulate = accumulate,
        };
        For(pool, work.PackItems + (mPanels + group - 1) / group, ref work);
    }

    /// <summary>The general case: per (jc, pc) block one loop packs B and A into shared buffers, a second computes.</summary>
    private static void RunBlocked<T, TRows, TSource>(WorkerPool? pool, TRows a, TSource b, T* c, int m, int n, int k,
        bool accumulate)
        where T : unmanaged
        where TRows : struct, IRowPanelSource<T>
        where TSource : struct, IPanelSource<T>
    {
        const int Mr = MatmulMicrokernel.MR;
        var nr = MatmulMicrokernel.NR<T>();
        var mc = MC<T>();
        var nc = NC<T>();
        var mPanels = (m + Mr - 1) / Mr;
        var packA = (T*)Ensure(ref s_packA, (long)mPanels * Mr * KC * sizeof(T));
        var packB = (T*)Ensure(ref s_packB, (long)((Math.Min(n, nc) + nr - 1) / nr) * nr * KC * sizeof(T));
        var pack = new PackWork<T, TRows, TSource>
        {
            A = a,
            M = m,
            Source = b,
            PackA = packA,
            PackB = packB,
        };
        var compute = new ComputeWork<T> { PackA = packA, PackB = packB, C = c, M = m, N = n, MC = mc };
        for (var jc = 0; jc < n; jc += nc)
        {
            var ncur = Math.Min(nc, n - jc);
            var nPanels = (ncur + nr - 1) / nr;
            for (var pc = 0; pc < k; pc += KC)
            {
                var kc = Math.Min(KC, k - pc);
                pack.Pc = pc;
                pack.Kc = kc;
                pack.Jc = jc;
                pack.NCur = ncur;
                pack.BItems = (nPanels + PackWork<T, TRows, TSource>.BPanelsPerItem - 1) / PackWork<T, TRows, TSource>.BPanelsPerItem;
                var aItems = (mPanels + PackWork<T, TRows, TSource>.APanelsPerItem - 1) / PackWork<T, TRows, TSource>.APanelsPerItem;
                For(pool, pack.BItems + aItems, ref pack);

                compute.Jc = jc;
                compute.NCur = ncur;
                compute.Kc = kc;
                compute.Add = accumulate || pc > 0;
                compute.NChunks = (nPanels + ChunkPanels - 1) / ChunkPanels;
                For(pool, (m + mc - 1) / mc * compute.NChunks, ref compute);
            }
        }
    }

    private static int KBlocks(int k) => (k + KC - 1) / KC;

    /// <summary>Elements between two workers' buffers: rounded up to 4 KiB so no two workers share a line or a page.</summary>
    private static long WorkerStride<T>(long elements) where T : unmanaged
        => (elements * sizeof(T) + 4095) / 4096 * 4096 / sizeof(T);

    private static void For<TWork>(WorkerPool? pool, int count, ref TWork work) where TWork : struct, IWorkItem
    {
        if (pool is not null)
        {
            pool.For(count, ref work);
            return;
        }
        for (var i = 0; i < count; i++) { work.Execute(i, 0); }
    }

    /// <summary>The calling thread's grow-only, 64-byte-aligned buffer of at least <paramref name="bytes"/> bytes.</summary>
    private static void* Ensure(ref NativeBlock? block, long bytes)
    {
        if (block is null || block.ByteLength < bytes)
        {
            block?.Dispose();
            block = new NativeBlock(bytes);
        }
        return (void*)block.Address;
    }

    /// <summary>
    /// C[i0..i1, j..j+nrv] = or += the packed A rows (MR panels from row i0, each MR×kc) · one packed KC×NR B panel.
    /// Edge tiles run the same kernel into a padded scratch tile, then add or copy the valid part (same sums, same order).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Panel<T>(T* aPanels, int i0, int i1, T* bp, int kc, T* c, int m, int n, int j, int nrv, bool add, T* tile)
        where T : unmanaged
    {
        const int Mr = MatmulMicrokernel.MR;
        var nr = MatmulMicrokernel.NR<T>();
        for (var i = i0; i < i1; i += Mr)
        {
            var ap = aPanels + (long)(i - i0) * kc;
            var mrv = Math.Min(Mr, m - i);
            var cp = c + (long)i * n + j;
            if (mrv == Mr && nrv == nr)
            {
                MatmulMicrokernel.Run(ap, bp, kc, cp, n, add);
                continue;
            }
            MatmulMicrokernel.Run(ap, bp, kc, tile, nr, false);
            for (var r = 0; r < mrv; r++)
            {
                var dst = new Span<T>(cp + (long)r * n, nrv);
                var src = new ReadOnlySpan<T>(tile + r * nr, nrv);
                if (add) { AddInto(src, dst); }
                else { src.CopyTo(dst); }
            }
        }
    }

    private static void AddInto<T>(ReadOnlySpan<T> src, Span<T> dst) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            var s = MemoryMarshal.Cast<T, float>(src);
            var d = MemoryMarshal.Cast<T, float>(dst);
            for (var x = 0; x < d.Length; x++) { d[x] += s[x]; }
            return;
        }
        var sd = MemoryMarshal.Cast<T, double>(src);
        var dd = MemoryMarshal.Cast<T, double>(dst);
        for (var x = 0; x < dd.Length; x++) { dd[x] += sd[x]; }
    }

    /// <summary>Zeroed per-K-block counters of finished pack items, one per cache line.</summary>
    private static int* Counters(int blocks)
    {
        var counters = (int*)Ensure(ref s_counters, (long)blocks * CounterStride * sizeof(int));
        new Span<int>(counters, blocks * CounterStride).Clear();
        return counters;
    }

    /// <summary>
    /// Spins until <paramref name="count"/> pack items of K block <paramref name="block"/> are done. Items are claimed in
    /// index order and pack items come first, so every item waited on is already running on another thread (or done).
    /// </summary>
    private static void WaitPacked(int* packed, int block, int count)
    {
        var spin = default(SpinWait);
        while (Volatile.Read(ref packed[block * CounterStride]) < count) { spin.SpinOnce(-1); }
    }

    /// <summary>
    /// Items [0, PackItems): A panel (index % MPanels) of K block (index / MPanels) into PackA + pc·MPanels·MR + p·MR·kc.
    /// Items from PackItems on: GroupPanels NR panels of C, all rows, every K block in order (see RunSmallM).
    /// </summary>
    private struct SmallMWork<T, TRows, TSource> : IWorkItem
        where T : unmanaged
        where TRows : struct, IRowPanelSource<T>
        where TSource : struct, IPanelSource<T>
    {
        public TRows A;
        public int MPanels;
        public int PackItems;
        public int* Packed;
        public T* PackA;
        public TSource Source;
        public T* WorkerPack;
        public long WorkerStride;
        public T* C;
        public int M;
        public int N;
        public int K;
        public int GroupPanels;
        public bool Accumulate;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Execute(int index, int worker)
        {
            const int Mr = MatmulMicrokernel.MR;
            var nr = MatmulMicrokernel.NR<T>();
            if (index < PackItems)
            {
                var p = index % MPanels;
                var block = index / MPanels;
                var pk = Math.Min(KC, K - block * KC);
                A.Pack(p * Mr, Math.Min(Mr, M - p * Mr), block * KC, pk, PackA + (long)block * KC * MPanels * Mr + (long)p * Mr * pk);
                Interlocked.Increment(ref Packed[block * CounterStride]);
                return;
            }
            index -= PackItems;
            var tile = stackalloc T[Mr * 16];
            var bp = WorkerPack + worker * WorkerStride;
            var q0 = index * GroupPanels;
            var q1 = Math.Min((N + nr - 1) / nr, q0 + GroupPanels);
            for (var pc = 0; pc < K; pc += KC)
            {
                var kc = Math.Min(KC, K - pc);
                WaitPacked(Packed, pc / KC, MPanels);
                var aBlock = PackA + (long)pc * MPanels * Mr;
                for (var q = q0; q < q1; q++)
                {
                    var nrv = Math.Min(nr, N - q * nr);
                    Source.Pack(pc, kc, q * nr, nrv, bp);
                    Panel(aBlock, 0, M, bp, kc, C, M, N, q * nr, nrv, Accumulate || pc > 0, tile);
                }
            }
        }
    }

    /// <summary>
    /// Items [0, PackItems): B panel (index % NPanels) of K block (index / NPanels) into PackB + pc·NPanels·NR + q·NR·kc.
    /// Items from PackItems on: GroupPanels MR panels of C rows, all columns, every K block in order (see RunSmallN).
    /// </summary>
    private struct SmallNWork<T, TRows, TSource> : IWorkItem
        where T : unmanaged
        where TRows : struct, IRowPanelSource<T>
        where TSource : struct, IPanelSource<T>
    {
        public TRows A;
        public TSource Source;
        public int NPanels;
        public int PackItems;
        public int* Packed;
        public T* PackB;
        public T* WorkerPack;
        public long WorkerStride;
        public T* C;
        public int M;
        public int N;
        public int K;
        public int GroupPanels;
        public bool Accumulate;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Execute(int index, int worker)
        {
            const int Mr = MatmulMicrokernel.MR;
            var nr = MatmulMicrokernel.NR<T>();
            if (index < PackItems)
            {
                var q = index % NPanels;
                var block = index / NPanels;
                var pk = Math.Min(KC, K - block * KC);
                Source.Pack(block * KC, pk, q * nr, Math.Min(nr, N - q * nr), PackB + (long)block * KC * NPanels * nr + (long)q * nr * pk);
                Interlocked.Increment(ref Packed[block * CounterStride]);
                return;
            }
            index -= PackItems;
            var tile = stackalloc T[Mr * 16];
            var ap = WorkerPack + worker * WorkerStride;
            var i0 = index * GroupPanels * Mr;
            var i1 = Math.Min(M, i0 + GroupPanels * Mr);
            for (var pc = 0; pc < K; pc += KC)
            {
                var kc = Math.Min(KC, K - pc);
                for (var i = i0; i < i1; i += Mr)
                {
                    A.Pack(i, Math.Min(Mr, M - i), pc, kc, ap + (long)(i - i0) * kc);
                }
                WaitPacked(Packed, pc / KC, NPanels);
                var bBlock = PackB + (long)pc * NPanels * nr;
                for (var q = 0; q < NPanels; q++)
                {
                    Panel(ap, i0, i1, bBlock + (long)q * nr * kc, kc, C, M, N, q * nr, Math.Min(nr, N - q * nr),
                        Accumulate || pc > 0, tile);
                }
            }
        }
    }

    private struct PackWork<T, TRows, TSource> : IWorkItem
        where T : unmanaged
        where TRows : struct, IRowPanelSource<T>
        where TSource : struct, IPanelSource<T>
    {
        public const int BPanelsPerItem = 8;
        public const int APanelsPerItem = 24;

        public TRows A;
        public int M;
        public TSource Source;
        public T* PackA;
        public T* PackB;
        public int Pc;
        public int Kc;
        public int Jc;
        public int NCur;
        public int BItems;

        public readonly void Execute(int index, int worker)
        {
            const int Mr = MatmulMicrokernel.MR;
            var nr = MatmulMicrokernel.NR<T>();
            if (index < BItems)
            {
                var q1 = Math.Min((NCur + nr - 1) / nr, (index + 1) * BPanelsPerItem);
                for (var q = index * BPanelsPerItem; q < q1; q++)
                {
                    Source.Pack(Pc, Kc, Jc + q * nr, Math.Min(nr, NCur - q * nr), PackB + (long)q * nr * Kc);
                }
                return;
            }
            index -= BItems;
            var p1 = Math.Min((M + Mr - 1) / Mr, (index + 1) * APanelsPerItem);
            for (var p = index * APanelsPerItem; p < p1; p++)
            {
                A.Pack(p * Mr, Math.Min(Mr, M - p * Mr), Pc, Kc, PackA + (long)p * Mr * Kc);
            }
        }
    }

    private struct ComputeWork<T> : IWorkItem where T : unmanaged
    {
        public T* PackA;
        public T* PackB;
        public T* C;
        public int M;
        public int N;
        public int MC;
        public int Jc;
        public int NCur;
        public int Kc;
        public bool Add;
        public int NChunks;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Execute(int index, int worker)
        {
            const int Mr = MatmulMicrokernel.MR;
            var nr = MatmulMicrokernel.NR<T>();
            var tile = stackalloc T[Mr * 16];
            var i0 = index / NChunks * MC;
            var i1 = Math.Min(M, i0 + MC);
            var q0 = index % NChunks * ChunkPanels;
            var q1 = Math.Min((NCur + nr - 1) / nr, q0 + ChunkPanels);
            for (var q = q0; q < q1; q++)
            {
                Panel(PackA + (long)i0 * Kc, i0, i1, PackB + (long)q * nr * Kc, Kc, C, M, N, Jc + q * nr,
                    Math.Min(nr, NCur - q * nr), Add, tile);
            }
        }
    }
}
