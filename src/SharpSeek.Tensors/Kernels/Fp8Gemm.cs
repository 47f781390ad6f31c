// Fp8Gemm.cs: DeepSeek-V3's FP8 GEMM with fine-grained scales and FP32 promotion (arXiv 2412.19437 §3.3.2, Fig. 7b;
// deepseek-ai/DeepGEMM fp8_gemm.cuh): c (m, n) = Σ over the 128-wide K blocks b, in order, of (sa[i, b]·sb[j, b])·P_b[i, j],
// where P_b is the block's sum of E4M3 products. Both operands are (rows, k) codes with one scale per row per K block:
// 1×128 activation tiles as they come, a 128×128-blocked weight expanded to its rows (RowScales), the 128×1 tiles of
// Wgrad as the 1×128 tiles of the transposed operands. P_b is exact: an E4M3 value is a multiple of 2⁻⁹ below 2⁹, so a
// product is a multiple of 2⁻¹⁸ below 2¹⁸ and 128 of them sum below 2²⁵: 43 bits, which double holds in any order of
// additions. P_b is rounded once to f32 (what the tensor core hands over), then promoted as DeepGEMM does on the CUDA
// cores: acc = acc + (sa·sb)·p in f32, here one rounding per operation (no fused multiply-add: our choice, which keeps
// the vector and scalar paths equal; nvcc may fuse DeepGEMM's). Gemm decodes both operands
// into block-major double panels and runs the double packed GEMM block by block (so it equals Reference bit for bit
// whatever its kernel's order); Reference loops, and can emulate Hopper's limited in-block accumulator instead
// (Fp8Accumulator). Not here: quantization (Fp8Quant), the fast f32 sum over dequantized operands (Fp8LinearOp). Tested by Fp8GemmTests.
using System.Buffers;
using System.Runtime.Intrinsics;

namespace SharpSeek.Tensors.Kernels;

/// <summary>
/// How the reference sums a block's products. <see cref="MantissaBits"/> 0: exactly. Otherwise Hopper's FP8 tensor
/// core as the paper describes it (§3.3.2: "around 14 bits"): every 32 products (one WGMMA's K) are added to the running
/// sum after aligning all of them to the largest exponent among them and the sum, each keeping its top
/// <see cref="MantissaBits"/> bits and truncating the rest (our model of the hardware; the paper gives no more).
/// <see cref="NeverPromote"/>: instead of promoting to f32 every 128 products (DeepSeek's recipe), the scaled products
/// of all of K go through the accumulator, the ablation without promotion. The default is exact and promoted.
/// </summary>
public readonly record struct Fp8Accumulator(int MantissaBits = 0, bool NeverPromote = false)
{
    /// <summary>The paper's estimate of H800's accumulator, promoted every 128 products.</summary>
    public static Fp8Accumulator Hopper => new(14);

    /// <summary>The same accumulator over all of K, never promoted.</summary>
    public static Fp8Accumulator HopperUnpromoted => new(14, NeverPromote: true);
}

public static unsafe class Fp8Gemm
{
    /// <summary>K block of the scales and of the promotion.</summary>
    public const int Block = Fp8Quant.Block;

    /// <summary>Products a WGMMA adds at once (K = 32 for FP8): the unit of the emulated accumulator's alignment.</summary>
    public const int Group = 32;

    // Rows of c per pass: the double partial block (rows × n) takes at most 8 MiB, so that the packed B block of a K
    // block serves many rows.
    private const int PartialBytes = 1 << 23;

    /// <summary>
    /// c (m, n) = [c +] Σ_b (aScales[i, b]·bScales[j, b])·P_b[i, j] with P_b = Σ_{p in block b} a[i, p]·b[j, p] exact;
    /// a: (m, k) E4M3 codes, aScales: (m, ceil(k/128)); b: (n, k) codes, bScales: (n, ceil(k/128)); c: (m, n) f32.
    /// </summary>
    public static void Gemm(ReadOnlySpan<Float8E4M3> a, ReadOnlySpan<float> aScales, ReadOnlySpan<Float8E4M3> b, ReadOnlySpan<float> bScales,
        Span<float> c, int m, int n, int k, bool accumulate = false)
    {
        Check(a, aScales, b, bScales, c, m, n, k);
        if (!accumulate) { c[..(m * n)].Clear(); }
        if (m == 0 || n == 0 || k == 0) { return; }
        var blocks = Fp8Quant.Tiles(k);
        var padded = (long)blocks * Block;
        if (Math.Max(m, n) * padded > Array.MaxLength)
        {
            throw new ArgumentException($"an FP8 GEMM of ({m}, {k}) by ({n}, {k}) would decode {Math.Max(m, n) * padded:N0} values into one panel, past .NET's {Array.MaxLength:N0}; split the operands");
        }
        var rows = (int)Math.Clamp(PartialBytes / ((long)n * sizeof(double)), 1, m);
        var pool = ArrayPool<double>.Shared;
        var (aPanel, bPanel, partial) = (pool.Rent((int)(m * padded)), pool.Rent((int)(n * padded)), pool.Rent(rows * n));
        var bScalesT = ArrayPool<float>.Shared.Rent(blocks * n);
        try
        {
            fixed (Float8E4M3* pa = a, pb = b)
            fixed (double* da = aPanel, db = bPanel, pp = partial)
            fixed (float* sa = aScales, sbT = bScalesT, pc = c)
            {
                Decode(pa, m, k, da);
                Decode(pb, n, k, db);
                for (var j = 0; j < n; j++)
                {
                    for (var blk = 0; blk < blocks; blk++) { sbT[(blk * n) + j] = bScales[(j * blocks) + blk]; }
                }
                for (var i0 = 0; i0 < m; i0 += rows)
                {
                    var mc = Math.Min(rows, m - i0);
                    for (var blk = 0; blk < blocks; blk++)
                    {
                        var panelA = new ReadOnlySpan<double>(da + (((long)blk * m) + i0) * Block, mc * Block);
                        var panelB = new ReadOnlySpan<double>(db + ((long)blk * n * Block), n * Block);
                        Matmul.Gemm(panelA, panelB, new Span<double>(pp, mc * n), mc, n, Block, transposeB: true);
                        var promote = new PromoteRows { Partial = pp, RowScales = sa + ((long)i0 * blocks) + blk, Blocks = blocks, ColumnScales = sbT + ((long)blk * n), C = pc + ((long)i0 * n), N = n };
                        RowLoop.Run(mc, n, ref promote);
                    }
                }
            }
        }
        finally
        {
            pool.Return(aPanel);
            pool.Return(bPanel);
            pool.Return(partial);
            ArrayPool<float>.Shared.Return(bScalesT);
        }
    }

    /// <summary>
    /// The definition, element by element: each block's products summed in double (exactly) or by the emulated
    /// <paramref name="accumulator"/>, then promoted in f32 as <see cref="Gemm"/> does. The oracle of Gemm and of the
    /// accumulation ablations.
    /// </summary>
    public static void Reference(ReadOnlySpan<Float8E4M3> a, ReadOnlySpan<float> aScales, ReadOnlySpan<Float8E4M3> b, ReadOnlySpan<float> bScales,
        Span<float> c, int m, int n, int k, Fp8Accumulator accumulator = default, bool accumulate = false)
    {
        Check(a, aScales, b, bScales, c, m, n, k);
        if (accumulator.MantissaBits is < 0 or > 52) { throw new ArgumentOutOfRangeException(nameof(accumulator), accumulator.MantissaBits, "accumulator mantissa bits must be 0 (exact) or 1 .. 52"); }
        var table = Float8E4M3.DecodeTable;
        var blocks = Fp8Quant.Tiles(k);
        var terms = new double[Group];
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                var acc = accumulate ? c[(i * n) + j] : 0f;
                double running = 0;
                for (var blk = 0; blk < blocks; blk++)
                {
                    var (sa, sb) = (aScales[(i * blocks) + blk], bScales[(j * blocks) + blk]);
                    var unpromoted = accumulator.NeverPromote;
                    double block = 0;
                    for (var g = blk * Block; g < Math.Min(k, (blk + 1) * Block); g += Group)
                    {
                        var count = Math.Min(Group, k - g);
                        for (var t = 0; t < count; t++)
                        {
                            var product = (double)table[a[(i * k) + g + t].Bits] * table[b[(j * k) + g + t].Bits];
                            terms[t] = unpromoted ? product * ((double)sa * sb) : product;
                        }
                        ref var sum = ref unpromoted ? ref running : ref block;
                        sum = accumulator.MantissaBits == 0 ? sum + Sum(terms.AsSpan(0, count)) : Truncated(sum, terms.AsSpan(0, count), accumulator.MantissaBits);
                    }
                    if (!unpromoted) { acc = Promoted(acc, sa, sb, block); }
                }
                c[(i * n) + j] = accumulator.NeverPromote ? acc + (float)running : acc;
            }
        }
    }

    /// <summary>Per-row scales (rows, ceil(k/128)) of a weight quantized in 128×128 blocks, whose scales are
    /// (ceil(rows/128), ceil(k/128)): row r takes its block row's.</summary>
    public static void RowScales(ReadOnlySpan<float> blockScales, int rows, int k, Span<float> rowScales)
    {
        var blocks = Fp8Quant.Tiles(k);
        if (blockScales.Length != Fp8Quant.Tiles(rows) * blocks || rowScales.Length != rows * blocks)
        {
            throw new ArgumentException($"a ({rows}, {k}) weight has {Fp8Quant.Tiles(rows)} × {blocks} block scales and {rows} × {blocks} row scales; got {blockScales.Length} and {rowScales.Length}");
        }
        for (var r = 0; r < rows; r++) { blockScales.Slice(r / Block * blocks, blocks).CopyTo(rowScales.Slice(r * blocks, blocks)); }
    }

    // One block's promotion: the partial sum rounded to f32, times the two scales' product, added; three roundings.
    private static float Promoted(float acc, float sa, float sb, double block) => acc + ((sa * sb) * (float)block);

    // rows × k codes → [block][row][128] doubles, the last block zero-padded (a zero adds nothing to an exact sum).
    private static void Decode(Float8E4M3* codes, int rows, int k, double* panel)
    {
        var work = new DecodeRows { Codes = (byte*)codes, Rows = rows, K = k, Panel = panel };
        RowLoop.Run(rows, k, ref work);
    }

    private struct DecodeRows : IRowBody
    {
        public byte* Codes;
        public int Rows;
        public int K;
        public double* Panel;

        public readonly void Row(int index)
        {
            var table = Float8E4M3.DecodeTable;
            var blocks = Fp8Quant.Tiles(K);
            var row = Codes + ((long)index * K);
            for (var blk = 0; blk < blocks; blk++)
            {
                var dst = Panel + ((((long)blk * Rows) + index) * Block);
                var (p0, count) = (blk * Block, Math.Min(Block, K - (blk * Block)));
                for (var t = 0; t < count; t++) { dst[t] = table[row[p0 + t]]; }
                for (var t = count; t < Block; t++) { dst[t] = 0; }
            }
        }
    }

    // Row i of a pass: c[i, j] = c[i, j] + (sa[i]·sb[j])·(float)p[i, j], each product and sum rounded to f32 on its own.
    private struct PromoteRows : IRowBody
    {
        public double* Partial;
        public float* RowScales;
        public int Blocks;
        public float* ColumnScales;
        public float* C;
        public int N;

        public readonly void Row(int index)
        {
            var p = Partial + ((long)index * N);
            var acc = C + ((long)index * N);
            var sb = ColumnScales;
            var sa = RowScales[(long)index * Blocks];
            var j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var s = Vector256.Create(sa);
                for (; j <= N - 8; j += 8)
                {
                    var narrowed = Vector256.Narrow(Vector256.Load(p + j), Vector256.Load(p + j + 4));
                    var scaled = (s * Vector256.Load(sb + j)) * narrowed;
                    (Vector256.Load(acc + j) + scaled).Store(acc + j);
                }
            }
            if (Vector128.IsHardwareAccelerated)
            {
                var s = Vector128.Create(sa);
                for (; j <= N - 4; j += 4)
                {
                    var narrowed = Vector128.Narrow(Vector128.Load(p + j), Vector128.Load(p + j + 2));
                    var scaled = (s * Vector128.Load(sb + j)) * narrowed;
                    (Vector128.Load(acc + j) + scaled).Store(acc + j);
                }
            }
            for (; j < N; j++) { acc[j] = Promoted(acc[j], sa, sb[j], p[j]); }
        }
    }

    private static double Sum(ReadOnlySpan<double> terms)
    {
        double s = 0;
        foreach (var t in terms) { s += t; }
        return s;
    }

    // The emulated accumulator: the running sum and the group's terms aligned to their largest exponent, each truncated
    // toward zero to a multiple of 2^(e_max − bits + 1), then added exactly.
    private static double Truncated(double running, ReadOnlySpan<double> terms, int bits)
    {
        var top = running == 0 ? int.MinValue : Math.ILogB(running);
        foreach (var t in terms)
        {
            if (t != 0) { top = Math.Max(top, Math.ILogB(t)); }
        }
        if (top == int.MinValue) { return 0; }
        var ulp = Math.ScaleB(1.0, top - bits + 1);
        var sum = Math.Truncate(running / ulp) * ulp;
        foreach (var t in terms) { sum += Math.Truncate(t / ulp) * ulp; }
        return sum;
    }

    private static void Check(ReadOnlySpan<Float8E4M3> a, ReadOnlySpan<float> aScales, ReadOnlySpan<Float8E4M3> b, ReadOnlySpan<float> bScales,
        ReadOnlySpan<float> c, int m, int n, int k)
    {
        if (m < 0 || n < 0 || k < 0) { throw new ArgumentOutOfRangeException(nameof(m), $"dimensions must be non-negative; got m {m}, n {n}, k {k}"); }
        var blocks = Fp8Quant.Tiles(k);
        foreach (var (name, length, expected, shape) in (ReadOnlySpan<(string, int, long, string)>)[
            ("a", a.Length, (long)m * k, $"({m}, {k})"), ("aScales", aScales.Length, (long)m * blocks, $"({m}, {blocks})"),
            ("b", b.Length, (long)n * k, $"({n}, {k})"), ("bScales", bScales.Length, (long)n * blocks, $"({n}, {blocks})"),
            ("c", c.Length, (long)m * n, $"({m}, {n})")])
        {
            if (length < expected) { throw new ArgumentException($"{name} holds {length} values; a {shape} operand needs {expected}", name); }
        }
    }
}
