// Fp8QuantTests.cs: 1x128 activation and 128x128 weight-block E4M3 quantization: the fast kernels equal the naive ones,
// every scale is max(amax, 1e-4)/448 over the real elements of its tile, dequantization is within half an E4M3 ulp times
// the scale, edge tiles, constant and zero tiles, a single outlier, NaN/±Inf inputs (a clear error naming row and tile),
// power-of-two (UE8M0) scales, per-tensor scaling (the ablation), 128x1 tiles down the columns (the transpose's tiles),
// the dequantized values written in the quantizing pass, both tile shapes in one pass and 1x128-tile codes requantized
// down the columns (each against the separate quantizers, bit for bit).
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Tensors.Tests;

[Trait("Category", "Kernels")]
public sealed class Fp8QuantTests
{
    private static readonly int[] Sizes = [1, 127, 128, 129, 300];

    public static TheoryData<int, int> Shapes()
    {
        var data = new TheoryData<int, int> { { 0, 5 }, { 3, 0 } };
        foreach (var r in Sizes)
        {
            foreach (var c in Sizes) { data.Add(r, c); }
        }
        return data;
    }

    // Rows and blocks of very different magnitudes, so every tile gets its own scale; never zeros.
    private static float[] RandomMatrix(int seed, int rows, int cols)
    {
        var rng = new Random(seed);
        var x = new float[rows * cols];
        for (var r = 0; r < rows; r++)
        {
            var magnitude = MathF.ScaleB(1f, rng.Next(-12, 12));
            for (var c = 0; c < cols; c++)
            {
                var blockBoost = (c / 128 % 3) + 1;
                x[(r * cols) + c] = (float)((rng.NextDouble() * 2) - 1) * magnitude * blockBoost;
            }
        }
        return x;
    }

    // Half the E4M3 spacing at |v| = |x / scale|: the step is 2^(e-3) in binade e, and 2^-9 below 2^-6 (subnormals).
    private static double HalfUlp(double v) => Math.Pow(2, Math.Max(Math.Floor(Math.Log2(Math.Max(Math.Abs(v), 1e-30))), -6) - 3) / 2;

    // |q*s - x| <= (half ulp of x/s + f32 rounding of x/s) * s + f32 rounding of q*s
    private static void AssertWithinHalfUlp(float x, float dequant, float scale, string where)
    {
        double v = x / (double)scale;
        var bound = ((HalfUlp(v) + (Math.Abs(v) * Math.ScaleB(1, -24))) * scale) + (Math.Abs(dequant) * Math.ScaleB(1, -24));
        var err = Math.Abs(dequant - (double)x);
        Assert.True(err <= bound, $"{where}: x={x:R} dequant={dequant:R} scale={scale:R} error {err} > {bound}");
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Activations_MatchNaive_ScalesAreAmaxOver448_DequantWithinHalfUlp(int rows, int cols)
    {
        var x = RandomMatrix(seed: rows * 1000 + cols, rows, cols);
        var tiles = Fp8Quant.Tiles(cols);
        var q = new Float8E4M3[rows * cols];
        var scales = new float[rows * tiles];
        Fp8Quant.QuantizeActivations(x, rows, cols, q, scales);

        var qRef = new Float8E4M3[rows * cols];
        var scalesRef = new float[rows * tiles];
        Fp8Quant.QuantizeActivationsNaive(x, rows, cols, qRef, scalesRef, powerOfTwo: false);
        Assert.Equal(scalesRef, scales);
        Assert.Equal(qRef.Select(c => c.Bits), q.Select(c => c.Bits));

        var back = new float[rows * cols];
        Fp8Quant.DequantizeActivations(q, scales, rows, cols, back);
        for (var r = 0; r < rows; r++)
        {
            for (var t = 0; t < tiles; t++)
            {
                // the scale from the tile's real elements only, in double: max(amax, 1e-4) / 448
                var amax = 0.0;
                for (var c = t * 128; c < Math.Min(cols, (t + 1) * 128); c++) { amax = Math.Max(amax, Math.Abs(x[(r * cols) + c])); }
                Assert.Equal((float)(Math.Max(amax, 1e-4f) / 448f), scales[(r * tiles) + t]);
                for (var c = t * 128; c < Math.Min(cols, (t + 1) * 128); c++)
                {
                    var i = (r * cols) + c;
                    Assert.Equal(q[i].ToSingle() * scales[(r * tiles) + t], back[i]);
                    AssertWithinHalfUlp(x[i], back[i], scales[(r * tiles) + t], $"({r}, {c})");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void WeightBlocks_MatchNaive_EdgeBlocksUseRealElements_DequantWithinHalfUlp(int rows, int cols)
    {
        var w = RandomMatrix(seed: 7 + (rows * 1000) + cols, rows, cols);
        var blockRows = Fp8Quant.Tiles(rows);
        var blockCols = Fp8Quant.Tiles(cols);
        var q = new Float8E4M3[rows * cols];
        var scaleInv = new float[blockRows * blockCols];
        Fp8Quant.QuantizeWeightBlocks(w, rows, cols, q, scaleInv);

        var qRef = new Float8E4M3[rows * cols];
        var scaleRef = new float[blockRows * blockCols];
        Fp8Quant.QuantizeWeightBlocksNaive(w, rows, cols, qRef, scaleRef);
        Assert.Equal(scaleRef, scaleInv);
        Assert.Equal(qRef.Select(c => c.Bits), q.Select(c => c.Bits));

        var back = new float[rows * cols];
        Fp8Quant.DequantizeWeightBlocks(q, scaleInv, rows, cols, back);
        for (var bi = 0; bi < blockRows; bi++)
        {
            for (var bj = 0; bj < blockCols; bj++)
            {
                var amax = 0.0;
                for (var r = bi * 128; r < Math.Min(rows, (bi + 1) * 128); r++)
                {
                    for (var c = bj * 128; c < Math.Min(cols, (bj + 1) * 128); c++) { amax = Math.Max(amax, Math.Abs(w[(r * cols) + c])); }
                }
                var s = scaleInv[(bi * blockCols) + bj];
                Assert.Equal((float)(Math.Max(amax, 1e-4f) / 448f), s);
                for (var r = bi * 128; r < Math.Min(rows, (bi + 1) * 128); r++)
                {
                    for (var c = bj * 128; c < Math.Min(cols, (bj + 1) * 128); c++)
                    {
                        var i = (r * cols) + c;
                        Assert.Equal(q[i].ToSingle() * s, back[i]);
                        AssertWithinHalfUlp(w[i], back[i], s, $"({r}, {c})");
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData(1, 300)]
    [InlineData(129, 129)]
    [InlineData(300, 300)]
    public void Activations_PowerOfTwoScales_AreExactPowersOfTwoAtOrAboveThePlainScale(int rows, int cols)
    {
        var x = RandomMatrix(seed: 5, rows, cols);
        var tiles = Fp8Quant.Tiles(cols);
        var q = new Float8E4M3[rows * cols];
        var scales = new float[rows * tiles];
        var plain = new float[rows * tiles];
        Fp8Quant.QuantizeActivations(x, rows, cols, q, scales, powerOfTwoScales: true);
        Fp8Quant.QuantizeActivations(x, rows, cols, new Float8E4M3[rows * cols], plain);

        var qRef = new Float8E4M3[rows * cols];
        var scalesRef = new float[rows * tiles];
        Fp8Quant.QuantizeActivationsNaive(x, rows, cols, qRef, scalesRef, powerOfTwo: true);
        Assert.Equal(scalesRef, scales);
        Assert.Equal(qRef.Select(c => c.Bits), q.Select(c => c.Bits));

        var back = new float[rows * cols];
        Fp8Quant.DequantizeActivations(q, scales, rows, cols, back);
        for (var i = 0; i < scales.Length; i++)
        {
            Assert.Equal(0u, BitConverter.SingleToUInt32Bits(scales[i]) & 0x807F_FFFF); // positive, mantissa zero
            Assert.True(scales[i] >= plain[i] && scales[i] < 2 * plain[i], $"tile {i}: {scales[i]} vs plain {plain[i]}");
        }
        for (var i = 0; i < x.Length; i++)
        {
            Assert.False(q[i].Bits is 0x7F or 0xFF, $"element {i} overflowed to NaN");
            AssertWithinHalfUlp(x[i], back[i], scales[(i / cols * tiles) + (i % cols / 128)], $"element {i}");
        }
    }

    [Fact]
    public void HasNaNCode_IsTrueExactlyForTheTwoNaNCodes()
    {
        var codes = new Float8E4M3[300];
        for (var c = 0; c < 256; c++)
        {
            for (var i = 0; i < codes.Length; i++) { codes[i] = new Float8E4M3((byte)((i * 37 + 11) % 256 is var v && (v & 0x7F) == 0x7F ? 0 : v)); }
            Assert.False(Fp8Quant.HasNaNCode(codes));
            codes[c + 20] = new Float8E4M3((byte)c);
            Assert.Equal((c & 0x7F) == 0x7F, Fp8Quant.HasNaNCode(codes));
            Assert.Equal(float.IsNaN(new Float8E4M3((byte)c).ToSingle()), Fp8Quant.HasNaNCode(codes));
        }
    }

    [Fact]
    public void CeilToPowerOfTwo_KnownValues()
    {
        Assert.Equal(1f, Fp8Quant.CeilToPowerOfTwo(1f));
        Assert.Equal(2f, Fp8Quant.CeilToPowerOfTwo(MathF.BitIncrement(1f)));
        Assert.Equal(0.25f, Fp8Quant.CeilToPowerOfTwo(0.2f));
        Assert.Equal(MathF.ScaleB(1, -22), Fp8Quant.CeilToPowerOfTwo(1e-4f / 448f)); // 2.23e-7 -> 2^-22 = 2.38e-7
    }

    [Theory]
    [InlineData(-3.7f)]
    [InlineData(1e-3f)]
    [InlineData(12345f)]
    public void ConstantTiles_QuantizeToPlusOrMinus448(float value)
    {
        const int Rows = 3, Cols = 200;
        var x = Enumerable.Repeat(value, Rows * Cols).ToArray();
        var q = new Float8E4M3[x.Length];
        var scales = new float[Rows * 2];
        Fp8Quant.QuantizeActivations(x, Rows, Cols, q, scales);
        var w = new Float8E4M3[x.Length];
        var scaleInv = new float[2];
        Fp8Quant.QuantizeWeightBlocks(x, Rows, Cols, w, scaleInv);
        var expected = value < 0 ? 0xFE : 0x7E;
        Assert.All(q, c => Assert.Equal(expected, c.Bits));
        Assert.All(w, c => Assert.Equal(expected, c.Bits));
        Assert.All(scales, s => Assert.Equal(MathF.Abs(value) / 448f, s));
        var back = new float[x.Length];
        Fp8Quant.DequantizeActivations(q, scales, Rows, Cols, back);
        Assert.All(back, b => Assert.True(MathF.Abs(b - value) <= MathF.Abs(value) * 1e-6f, $"{b} vs {value}"));
    }

    [Fact]
    public void TinyAndZeroTiles_UseTheMinimumAmax()
    {
        const int Cols = 130;
        var x = new float[Cols];
        x[129] = 1e-6f; // second tile: amax below the 1e-4 clamp; first tile: all zero
        var q = new Float8E4M3[Cols];
        var scales = new float[2];
        Fp8Quant.QuantizeActivations(x, 1, Cols, q, scales);
        Assert.Equal(1e-4f / 448f, scales[0]);
        Assert.Equal(1e-4f / 448f, scales[1]);
        Assert.All(q.AsSpan(0, 129).ToArray(), c => Assert.Equal(0, c.Bits));
        Assert.Equal(Float8E4M3.FromSingle(1e-6f / (1e-4f / 448f)).Bits, q[129].Bits); // 4.48 -> 4.5
    }

    [Fact]
    public void ASingleOutlier_SetsItsTileScale_AndOnlyItsTile()
    {
        const int Cols = 256;
        var rng = new Random(3);
        var x = Enumerable.Range(0, Cols).Select(_ => (float)(rng.NextDouble() + 0.5)).ToArray();
        x[77] = -1e4f;                                                                       // tile 0 only
        var (q, scales) = (new Float8E4M3[Cols], new float[2]);
        Fp8Quant.QuantizeActivations(x, 1, Cols, q, scales);
        Assert.Equal(1e4f / 448f, scales[0]);
        Assert.Equal(x.Skip(128).Max(MathF.Abs) / 448f, scales[1]);
        Assert.Equal(0xFE, q[77].Bits);                                                      // −448: the outlier keeps full precision
        var back = new float[Cols];
        Fp8Quant.DequantizeActivations(q, scales, 1, Cols, back);
        for (var c = 0; c < Cols; c++) { AssertWithinHalfUlp(x[c], back[c], scales[c / 128], $"column {c}"); }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void DequantizingInTheSamePass_WritesCodesTimesScale_AndTheSameCodes(int rows, int cols)
    {
        var x = RandomMatrix(seed: rows + (7 * cols), rows, cols);
        var tiles = Fp8Quant.Tiles(cols);
        foreach (var pow2 in new[] { false, true })
        {
            var (q, scales, back) = (new Float8E4M3[x.Length], new float[rows * tiles], new float[x.Length]);
            var (qRef, scalesRef, backRef) = (new Float8E4M3[x.Length], new float[rows * tiles], new float[x.Length]);
            Fp8Quant.QuantizeActivations(x, rows, cols, q, scales, pow2, back);
            Fp8Quant.QuantizeActivations(x, rows, cols, qRef, scalesRef, pow2);
            Fp8Quant.DequantizeActivations(qRef, scalesRef, rows, cols, backRef);
            Assert.Equal(scalesRef, scales);
            Assert.Equal(qRef.Select(c => c.Bits), q.Select(c => c.Bits));
            Assert.Equal(backRef.Select(BitConverter.SingleToInt32Bits), back.Select(BitConverter.SingleToInt32Bits));
            var inPlace = (float[])x.Clone();                                                    // the output may be the input
            Fp8Quant.QuantizeActivations(inPlace, rows, cols, q, scales, pow2, inPlace);
            Assert.Equal(backRef.Select(BitConverter.SingleToInt32Bits), inPlace.Select(BitConverter.SingleToInt32Bits));
        }
        Assert.Throws<ArgumentException>(() => Fp8Quant.QuantizeActivations(new float[10], 2, 5, new Float8E4M3[10], new float[2], false, new float[9]));
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Columns_AreTheTransposedOperandsTiles_BitForBit(int rows, int cols)
    {
        // 128×1 tiles down the columns: the codes and scales of the transpose's 1×128 tiles, transposed back; and the
        // dequantizer gives codes × scale.
        var x = RandomMatrix(seed: (3 * rows) + cols, rows, cols);
        var xt = new float[x.Length];
        Transpose.Matrix<float>(x, rows, cols, xt);
        var bands = Fp8Quant.Tiles(rows);
        foreach (var pow2 in new[] { false, true })
        {
            var (qt, st) = (new Float8E4M3[x.Length], new float[cols * bands]);
            Fp8Quant.QuantizeActivations(xt, cols, rows, qt, st, pow2);
            var (q, scales, back) = (new Float8E4M3[x.Length], new float[bands * cols], new float[x.Length]);
            Fp8Quant.QuantizeColumns(x, rows, cols, q, scales, pow2);
            Fp8Quant.DequantizeColumns(q, scales, rows, cols, back);
            for (var r = 0; r < rows; r++)
            {
                for (var c = 0; c < cols; c++)
                {
                    var (i, scale) = ((r * cols) + c, st[(c * bands) + (r / 128)]);
                    Assert.Equal(scale, scales[((r / 128) * cols) + c]);
                    Assert.Equal(qt[(c * rows) + r].Bits, q[i].Bits);
                    Assert.Equal(BitConverter.SingleToInt32Bits(q[i].ToSingle() * scale), BitConverter.SingleToInt32Bits(back[i]));
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void RequantizedColumns_AreTheColumnsOfTheDequantizedRowTiles_BitForBit(int rows, int cols)
    {
        // Wgrad's X: Fprop's 1×128-tile codes, requantized in 128×1 tiles straight from the codes, against the two steps
        // through an f32 tensor; with an all-zero row tile and a column whose only nonzero value is one outlier.
        var x = RandomMatrix(seed: (5 * rows) + cols, rows, cols);
        for (var c = 0; rows > 0 && c < Math.Min(cols, 128); c++) { x[c] = 0; }                     // row 0's first tile
        if (rows > 1 && cols > 1)
        {
            for (var r = 0; r < rows; r++) { x[(r * cols) + cols - 1] = 0; }
            x[((rows - 1) * cols) + cols - 1] = 1e3f;                                                // the last column's one outlier
        }
        var tiles = Fp8Quant.Tiles(cols);
        foreach (var (rowPow2, pow2) in new[] { (false, false), (true, false), (false, true), (true, true) }) // the dispatch's rows are power-of-two, the recipe's columns need not be
        {
            var (rowCodes, rowScales, back) = (new Float8E4M3[x.Length], new float[rows * tiles], new float[x.Length]);
            Fp8Quant.QuantizeActivations(x, rows, cols, rowCodes, rowScales, rowPow2);
            Fp8Quant.DequantizeActivations(rowCodes, rowScales, rows, cols, back);
            var bands = Fp8Quant.Tiles(rows);
            var (qRef, scalesRef) = (new Float8E4M3[x.Length], new float[bands * cols]);
            Fp8Quant.QuantizeColumns(back, rows, cols, qRef, scalesRef, pow2);
            var (q, scales) = (new Float8E4M3[x.Length], new float[bands * cols]);
            Fp8Quant.RequantizeColumns(rowCodes, rowScales, rows, cols, q, scales, pow2);
            Assert.Equal(scalesRef.Select(BitConverter.SingleToInt32Bits), scales.Select(BitConverter.SingleToInt32Bits));
            Assert.Equal(qRef.Select(c => c.Bits), q.Select(c => c.Bits));
        }
        Assert.Throws<ArgumentException>(() => Fp8Quant.RequantizeColumns(new Float8E4M3[10], new float[1], 2, 5, new Float8E4M3[10], new float[5]));
    }

    [Fact]
    public void RowsAndColumns_NameANonFiniteValue_AndCheckEveryLength()
    {
        // A NaN or ±∞ in dY leaves NaN codes in both tile shapes, named by row tile (Dgrad's check) and by column; a NaN
        // code in cached row tiles carries into the requantized columns.
        const int Rows = 300, Cols = 20;
        var x = RandomMatrix(seed: 13, Rows, Cols);
        var (rq, rs, q, s) = (new Float8E4M3[x.Length], new float[Rows], new Float8E4M3[x.Length], new float[3 * Cols]);
        foreach (var bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            x[(260 * Cols) + 7] = bad;
            Fp8Quant.QuantizeRowsAndColumns(x, Rows, Cols, rq, rs, false, q, s, false);
            var rowError = Assert.Throws<NonFiniteTensorException>(() => Fp8Quant.ThrowIfNotFinite(rq, Cols, "dY"));
            Assert.Contains("dY holds a NaN or infinite value in row 260, tile 0", rowError.Message, StringComparison.Ordinal);
            var columnError = Assert.Throws<NonFiniteTensorException>(() => Fp8Quant.ThrowIfNotFinite(q, Cols, "dY", columnTiles: true));
            Assert.Contains("in column 7, 128×1 tile 2 (rows 256 .. 299)", columnError.Message, StringComparison.Ordinal);
            Fp8Quant.RequantizeColumns(rq, rs, Rows, Cols, q, s);
            Assert.Throws<NonFiniteTensorException>(() => Fp8Quant.ThrowIfNotFinite(q, Cols, "x", columnTiles: true));
        }
        Assert.Throws<ArgumentException>(() => Fp8Quant.QuantizeRowsAndColumns(new float[9], 2, 5, new Float8E4M3[10], new float[2], false, new Float8E4M3[10], new float[5], false));
        Assert.Throws<ArgumentException>(() => Fp8Quant.QuantizeRowsAndColumns(new float[10], 2, 5, new Float8E4M3[9], new float[2], false, new Float8E4M3[10], new float[5], false));
        Assert.Throws<ArgumentException>(() => Fp8Quant.QuantizeRowsAndColumns(new float[10], 2, 5, new Float8E4M3[10], new float[2], false, new Float8E4M3[9], new float[5], false));
        Assert.Throws<ArgumentException>(() => Fp8Quant.QuantizeRowsAndColumns(new float[10], 2, 5, new Float8E4M3[10], new float[2], false, new Float8E4M3[10], new float[4], false));
        Assert.Throws<ArgumentException>(() => Fp8Quant.RequantizeColumns(new Float8E4M3[9], new float[2], 2, 5, new Float8E4M3[10], new float[5]));
        Assert.Throws<ArgumentException>(() => Fp8Quant.RequantizeColumns(new Float8E4M3[10], new float[2], 2, 5, new Float8E4M3[9], new float[5]));
        Assert.Throws<ArgumentException>(() => Fp8Quant.RequantizeColumns(new Float8E4M3[10], new float[2], 2, 5, new Float8E4M3[10], new float[4]));
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void RowsAndColumns_InOnePass_AreBothQuantizers_BitForBit(int rows, int cols)
    {
        // dY for Dgrad (1×128 tiles) and Wgrad (128×1 tiles) in one pass: the two quantizers' codes and scales, each with
        // its own choice of power-of-two scales; with an all-zero row tile and a single outlier.
        var x = RandomMatrix(seed: (7 * rows) + cols, rows, cols);
        for (var c = 0; rows > 1 && c < Math.Min(cols, 128); c++) { x[cols + c] = 0; }              // row 1's first tile
        if (rows > 0 && cols > 0) { x[cols / 2] = -3e4f; }                                            // in row 0
        var (tiles, bands) = (Fp8Quant.Tiles(cols), Fp8Quant.Tiles(rows));
        foreach (var (rowPow2, pow2) in new[] { (false, false), (true, false), (false, true), (true, true) })
        {
            var (rqRef, rsRef, qRef, sRef) = (new Float8E4M3[x.Length], new float[rows * tiles], new Float8E4M3[x.Length], new float[bands * cols]);
            Fp8Quant.QuantizeActivations(x, rows, cols, rqRef, rsRef, rowPow2);
            Fp8Quant.QuantizeColumns(x, rows, cols, qRef, sRef, pow2);
            var (rq, rs, q, s) = (new Float8E4M3[x.Length], new float[rows * tiles], new Float8E4M3[x.Length], new float[bands * cols]);
            Fp8Quant.QuantizeRowsAndColumns(x, rows, cols, rq, rs, rowPow2, q, s, pow2);
            Assert.Equal(rsRef.Select(BitConverter.SingleToInt32Bits), rs.Select(BitConverter.SingleToInt32Bits));
            Assert.Equal(rqRef.Select(c => c.Bits), rq.Select(c => c.Bits));
            Assert.Equal(sRef.Select(BitConverter.SingleToInt32Bits), s.Select(BitConverter.SingleToInt32Bits));
            Assert.Equal(qRef.Select(c => c.Bits), q.Select(c => c.Bits));
        }
        Assert.Throws<ArgumentException>(() => Fp8Quant.QuantizeRowsAndColumns(new float[10], 2, 5, new Float8E4M3[10], new float[1], false, new Float8E4M3[10], new float[5], false));
    }

    [Fact]
    public void Columns_ZeroTilesTakeTheMinimumAmax_AndANonFiniteValueIsNamedByColumn()
    {
        const int Rows = 300, Cols = 20;
        var x = RandomMatrix(seed: 11, Rows, Cols);
        for (var r = 128; r < 256; r++) { x[(r * Cols) + 3] = 0; }                                // column 3's middle tile
        var (q, scales) = (new Float8E4M3[x.Length], new float[3 * Cols]);
        Fp8Quant.QuantizeColumns(x, Rows, Cols, q, scales);
        Assert.Equal(Fp8Quant.MinAmax / 448f, scales[Cols + 3]);
        Fp8Quant.ThrowIfNotFinite(q, Cols, "dY", columnTiles: true);
        foreach (var bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            x[(260 * Cols) + 7] = bad;                                                            // column 7, tile 2
            Fp8Quant.QuantizeColumns(x, Rows, Cols, q, scales);
            var error = Assert.Throws<NonFiniteTensorException>(() => Fp8Quant.ThrowIfNotFinite(q, Cols, "dY", columnTiles: true));
            Assert.Contains("dY holds a NaN or infinite value in column 7, 128×1 tile 2 (rows 256 .. 299)", error.Message, StringComparison.Ordinal);
        }
        Assert.Throws<ArgumentException>(() => Fp8Quant.QuantizeColumns(new float[10], 2, 5, new Float8E4M3[10], new float[4]));
        Assert.Throws<ArgumentException>(() => Fp8Quant.DequantizeColumns(new Float8E4M3[10], new float[4], 2, 5, new float[10]));
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void NonFiniteInputs_FailWithTheRowAndTile(float bad)
    {
        const int Rows = 4, Cols = 300;
        var x = RandomMatrix(seed: 9, Rows, Cols);
        x[(2 * Cols) + 140] = bad;                                                           // row 2, tile 1
        var (q, scales) = (new Float8E4M3[x.Length], new float[Rows * 3]);
        Fp8Quant.QuantizeActivations(x, Rows, Cols, q, scales);
        var error = Assert.Throws<NonFiniteTensorException>(() => Fp8Quant.ThrowIfNotFinite(q, Cols, "the fc1 input"));
        Assert.Contains("the fc1 input holds a NaN or infinite value in row 2, tile 1 (columns 128 .. 255)", error.Message, StringComparison.Ordinal);
        var (w, scaleInv) = (new Float8E4M3[x.Length], new float[3]);
        Fp8Quant.QuantizeWeightBlocks(x, Rows, Cols, w, scaleInv);
        Assert.Contains(", tile 1 (columns 128 .. 255)", Assert.Throws<NonFiniteTensorException>(() => Fp8Quant.ThrowIfNotFinite(w, Cols, "fc1.weight")).Message, StringComparison.Ordinal); // the NaN may fill its whole block
        x[(2 * Cols) + 140] = 1f;
        Fp8Quant.QuantizeActivations(x, Rows, Cols, q, scales);
        Fp8Quant.ThrowIfNotFinite(q, Cols, "the fc1 input");                                 // finite again: no throw
    }

    [Fact]
    public void PerTensor_OneScaleFromTheWholeTensor_AnOutlierCostsEveryTile()
    {
        // The ablation's scaling: the outlier in row 0 sets the scale of all rows and tiles, so small values elsewhere
        // lose precision they keep under 1×128 tiles; zeros, NaN and ±∞ behave as in the tiled quantizer.
        const int Rows = 3, Cols = 200;
        var rng = new Random(4);
        var x = Enumerable.Range(0, Rows * Cols).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        x[5] = 1e5f;
        var (q, scales) = (new Float8E4M3[x.Length], new float[Rows * 2]);
        Fp8Quant.QuantizeTensor(x, Rows, Cols, q, scales);
        Assert.All(scales, s => Assert.Equal(1e5f / 448f, s));
        for (var i = 0; i < x.Length; i++) { Assert.Equal(Float8E4M3.FromSingle(x[i] / scales[0]).Bits, q[i].Bits); }
        var (tiled, tiledScales) = (new Float8E4M3[x.Length], new float[Rows * 2]);
        Fp8Quant.QuantizeActivations(x, Rows, Cols, tiled, tiledScales);
        double ErrorOf(Float8E4M3[] codes, float[] sc)
        {
            var back = new float[x.Length];
            Fp8Quant.DequantizeActivations(codes, sc, Rows, Cols, back);
            return x.Zip(back).Skip(Cols).Sum(p => Math.Abs(p.First - p.Second));                 // rows 1 and 2: away from the outlier
        }
        Assert.True(ErrorOf(q, scales) > 10 * ErrorOf(tiled, tiledScales));

        var zeros = new float[Rows * Cols];
        Fp8Quant.QuantizeTensor(zeros, Rows, Cols, q, scales);
        Assert.All(scales, s => Assert.Equal(Fp8Quant.MinAmax / 448f, s));
        Assert.All(q, c => Assert.Equal(0, c.Bits));
        foreach (var bad in new[] { float.NaN, float.PositiveInfinity })
        {
            x[(2 * Cols) + 150] = bad;
            Fp8Quant.QuantizeTensor(x, Rows, Cols, q, scales);
            Assert.Contains("row 2, tile 1", Assert.Throws<NonFiniteTensorException>(() => Fp8Quant.ThrowIfNotFinite(q, Cols, "x")).Message, StringComparison.Ordinal);
        }
        Assert.Throws<ArgumentException>(() => Fp8Quant.QuantizeTensor(new float[10], 2, 5, new Float8E4M3[10], new float[1]));
    }

    [Fact]
    public void WrongLengths_Throw()
    {
        var e = Assert.Throws<ArgumentException>(() => Fp8Quant.QuantizeActivations(new float[10], 2, 5, new Float8E4M3[10], new float[3]));
        Assert.Contains("expected 2", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Fp8Quant.QuantizeActivations(new float[9], 2, 5, new Float8E4M3[10], new float[2]));
        Assert.Throws<ArgumentException>(() => Fp8Quant.QuantizeWeightBlocks(new float[129 * 2], 129, 2, new Float8E4M3[129 * 2], new float[1]));
        Assert.Throws<ArgumentException>(() => Fp8Quant.DequantizeWeightBlocks(new Float8E4M3[4], new float[1], 2, 2, new float[5]));
        Assert.Throws<ArgumentException>(() => Fp8Quant.DequantizeActivations(new Float8E4M3[4], new float[1], 2, 2, new float[4]));
    }
}
