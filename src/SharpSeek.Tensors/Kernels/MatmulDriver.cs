// MatmulDriver.cs: the BLIS/Goto blocking loops (NC → KC → MC → NR → MR), per-thread packing buffers and the split of
// the work over WorkerPool. Not here: argument checks (Matmul.cs), packing and the microkernel. Tested by MatmulTests.
using System.Runtime.CompilerServices;

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

    /// <summary>M block: an MC×KC A block (144 KiB for both types) stays in the 512 KiB L2.</summary>
    public static int MC<T>() where T : unmanaged => sizeof(T) == 4 ? 144 : 72;

    /// <summary>N block: a KC×NC packed B block (4 MiB) shared by both cores in L3.</summary>
    public static int NC<T>() where T : unmanaged => sizeof(T) == 4 ? 4096 : 2048;

    /// <summary>c (m, n) = or += op(A) (m, k) · op(B) (k, n); each C element is written by one work item with a fixed K order.</summary>
    public static void Run<T, TSource>(T* a, bool transposeA, TSource b, T* c, int m, int n, int k, bool accumulate)
        where T : unmanaged
        where TSource : struct, IPanelSource<T>
    {
        if (m == 0 || n == 0) { return; }
        if (k == 0)
        {
            if (!accumulate) { new Span<T>(c, checked(m * n)).Clear(); }
            return;
        }
        const int Mr = MatmulMicrokernel.MR;
        var nr = MatmulMicrokernel.NR<T>();
        var mc = MC<T>();
        var nc = NC<T>();
        var parallel = (long)m * n * k >= ParallelThreshold;
        var mPanels = (m + Mr - 1) / Mr;
        var packA = (T*)Ensure(ref s_packA, (long)mPanels * Mr * KC * sizeof(T));
        var packB = (T*)Ensure(ref s_packB, (long)((Math.Min(n, nc) + nr - 1) / nr) * nr * KC * sizeof(T));
        var pack = new PackWork<T, TSource>
        {
            A = a,
            M = m,
            K = k,
            TransposeA = transposeA,
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
                pack.BItems = (nPanels + PackWork<T, TSource>.BPanelsPerItem - 1) / PackWork<T, TSource>.BPanelsPerItem;
                var aItems = (mPanels + PackWork<T, TSource>.APanelsPerItem - 1) / PackWork<T, TSource>.APanelsPerItem;
                For(pack.BItems + aItems, ref pack, parallel);

                compute.Jc = jc;
                compute.NCur = ncur;
                compute.Kc = kc;
                compute.Add = accumulate || pc > 0;
                compute.NChunks = (nPanels + ChunkPanels - 1) / ChunkPanels;
                For((m + mc - 1) / mc * compute.NChunks, ref compute, parallel);
            }
        }
    }

    private static void For<TWork>(int count, ref TWork work, bool parallel) where TWork : struct, IWorkItem
    {
        if (parallel)
        {
            WorkerPool.Current.For(count, ref work);
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

    private struct PackWork<T, TSource> : IWorkItem
        where T : unmanaged
        where TSource : struct, IPanelSource<T>
    {
        public const int BPanelsPerItem = 8;
        public const int APanelsPerItem = 24;

        public T* A;
        public int M;
        public int K;
        public bool TransposeA;
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
                MatmulPacking.PackA(A, M, K, TransposeA, p * Mr, Math.Min(Mr, M - p * Mr), Pc, Kc, PackA + (long)p * Mr * Kc);
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
                var bp = PackB + (long)q * nr * Kc;
                var j = Jc + q * nr;
                var nrv = Math.Min(nr, NCur - q * nr);
                for (var i = i0; i < i1; i += Mr)
                {
                    var ap = PackA + (long)(i / Mr) * Mr * Kc;
                    var mrv = Math.Min(Mr, M - i);
                    var cp = C + (long)i * N + j;
                    if (mrv == Mr && nrv == nr)
                    {
                        MatmulMicrokernel.Run(ap, bp, Kc, cp, N, Add);
                        continue;
                    }
                    // Edge tile: the same kernel into a padded scratch tile, then the valid part into C (same sums, same order).
                    MatmulMicrokernel.Run(ap, bp, Kc, tile, nr, false);
                    for (var r = 0; r < mrv; r++)
                    {
                        var dst = new Span<T>(cp + (long)r * N, nrv);
                        var src = new ReadOnlySpan<T>(tile + r * nr, nrv);
                        if (Add) { AddInto(src, dst); }
                        else { src.CopyTo(dst); }
                    }
                }
            }
        }

        private static void AddInto(ReadOnlySpan<T> src, Span<T> dst)
        {
            if (typeof(T) == typeof(float))
            {
                var s = System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(src);
                var d = System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(dst);
                for (var x = 0; x < d.Length; x++) { d[x] += s[x]; }
                return;
            }
            var sd = System.Runtime.InteropServices.MemoryMarshal.Cast<T, double>(src);
            var dd = System.Runtime.InteropServices.MemoryMarshal.Cast<T, double>(dst);
            for (var x = 0; x < dd.Length; x++) { dd[x] += sd[x]; }
        }
    }
}
