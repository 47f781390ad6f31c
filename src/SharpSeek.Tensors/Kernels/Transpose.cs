// Transpose.cs: dst (cols, rows) = srcᵀ for a row-major (rows, cols) matrix of any unmanaged element, in 32×32 tiles so
// that both the reads and the writes stay within a few cache lines per tile row; bands of 32 source rows run on the
// worker pool (each band writes its own columns of dst). Not here: transposes fused into GEMM packing (MatmulPacking).
// Tested by TransposeTests.
namespace SharpSeek.Tensors.Kernels;

public static unsafe class Transpose
{
    private const int Tile = 32;

    /// <summary>dst[c, r] = src[r, c]; src (rows, cols), dst (cols, rows), both row-major.</summary>
    public static void Matrix<T>(ReadOnlySpan<T> src, int rows, int cols, Span<T> dst) where T : unmanaged
    {
        RowLoop.CheckMatrix(nameof(src), rows, cols, src.Length);
        RowLoop.CheckMatrix(nameof(dst), cols, rows, dst.Length);
        fixed (T* s = src, d = dst)
        {
            var body = new Bands<T> { Src = s, Dst = d, Rows = rows, Cols = cols };
            RowLoop.Run((rows + Tile - 1) / Tile, (long)Tile * cols, ref body);
        }
    }

    private struct Bands<T> : IRowBody where T : unmanaged
    {
        public T* Src;
        public T* Dst;
        public int Rows;
        public int Cols;

        public readonly void Row(int band)
        {
            var r0 = band * Tile;
            var r1 = Math.Min(Rows, r0 + Tile);
            for (var c0 = 0; c0 < Cols; c0 += Tile)
            {
                var c1 = Math.Min(Cols, c0 + Tile);
                for (var r = r0; r < r1; r++)
                {
                    var from = Src + ((long)r * Cols);
                    for (var c = c0; c < c1; c++) { Dst[((long)c * Rows) + r] = from[c]; }
                }
            }
        }
    }
}
