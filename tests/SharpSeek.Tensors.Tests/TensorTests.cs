// TensorTests.cs: shapes, views (slice, narrow, transpose, reshape), strided copies and error messages.
namespace SharpSeek.Tensors.Tests;

public sealed class TensorTests
{
    [Fact]
    public void Allocate_IsZeroedContiguousAndAligned()
    {
        using var arena = new Arena("test", 256);
        var t = arena.Allocate<float>(3, 5);
        Assert.Equal(new Shape(3, 5), t.Shape);
        Assert.True(t.IsContiguous);
        Assert.All(t.AsSpan<float>().ToArray(), v => Assert.Equal(0f, v));
        var u = arena.Allocate<float>(7);
        Assert.Equal(0, u.Offset * sizeof(float) % 64);
    }

    [Fact]
    public void Narrow_Transpose_Reshape_ShareMemory()
    {
        using var arena = new Arena("test");
        var values = Enumerable.Range(0, 24).Select(i => (float)i).ToArray();
        var t = arena.FromSpan<float>(values, 2, 3, 4);

        var n = t.Narrow(1, 1, 2); // (2, 2, 4)
        Assert.Equal(new Shape(2, 2, 4), n.Shape);
        Assert.False(n.IsContiguous);
        var dense = n.Contiguous(arena).AsSpan<float>().ToArray();
        Assert.Equal(new float[] { 4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23 }, dense);

        var tr = t.Reshape(6, 4).Transpose(0, 1); // (4, 6)
        var trDense = tr.Contiguous(arena).AsSpan<float>().ToArray();
        for (var i = 0; i < 4; i++)
        {
            for (var j = 0; j < 6; j++)
            {
                Assert.Equal(values[j * 4 + i], trDense[i * 6 + j]);
            }
        }

        var s = t.Slice(1); // (3, 4), contiguous
        Assert.True(s.IsContiguous);
        s.AsSpan<float>()[0] = -1;
        Assert.Equal(-1, t.AsSpan<float>()[12]);
        Assert.Equal(new Shape(12, 2), t.Reshape(-1, 2).Shape);
    }

    [Fact]
    public void ShapeMismatch_MessageNamesBothShapes()
    {
        using var arena = new Arena("test");
        var a = arena.Allocate<float>(2, 3);
        var b = arena.Allocate<float>(3, 2);
        var e = Assert.Throws<ArgumentException>(() => a.CopyTo(b));
        Assert.Contains("(2, 3)", e.Message, StringComparison.Ordinal);
        Assert.Contains("(3, 2)", e.Message, StringComparison.Ordinal);
        var r = Assert.Throws<ArgumentException>(() => a.Reshape(4, 2));
        Assert.Contains("(2, 3)", r.Message, StringComparison.Ordinal);
        Assert.Contains("(4, 2)", r.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DTypeMismatch_MessageNamesBothDTypes()
    {
        using var arena = new Arena("test");
        var a = arena.Allocate<float>(4);
        var e = Assert.Throws<InvalidOperationException>(() => a.AsSpan<double>());
        Assert.Contains("F32", e.Message, StringComparison.Ordinal);
        Assert.Contains("F64", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NonContiguousReshape_Throws()
    {
        using var arena = new Arena("test");
        var a = arena.Allocate<float>(2, 3).Transpose(0, 1);
        Assert.Throws<InvalidOperationException>(() => a.Reshape(6));
        Assert.Throws<InvalidOperationException>(() => a.AsSpan<float>());
    }

    [Fact]
    public void Views_AllocateNothingOnTheGcHeap()
    {
        using var arena = new Arena("test");
        var t = arena.Allocate<float>(4, 8, 16);
        long sink = 0;
        for (var warm = 0; warm < 2; warm++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 1000; i++)
            {
                var v = t.Narrow(2, 1, 8).Transpose(0, 1).Slice(1);
                sink += v.ElementCount + t.Reshape(32, 16).Row<float>(3).Length;
            }
            if (warm == 1) { Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before); }
        }
        Assert.True(sink > 0);
    }
}
