// AttentionRows.cs: what the attention kernels share: the online softmax's output update o = α·o + Σ_j p[j]·x_j over
// value rows (GqaAttention's values, LatentAttention's latent rows and its q·W_UK absorption), and the element-count
// checks of their arguments. Not here: the kernels (Attention, LatentAttention, GqaAttention). Tested by
// GqaAttentionTests, LatentAttentionTests and AttentionTests.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpSeek.Tensors.Kernels;

internal static unsafe class AttentionRows
{
    // o = α·o + Σ_j p[j]·x_j over n rows x_j = x + j·stride (length d): o in register chunks of 64 (AVX-512) or 32, then
    // 16 or 8 (or 4), then scalars; every element of o takes the same multiply, then the same adds in j order.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Accumulate(float* p, float* x, int stride, int n, int d, float alpha, float* o)
    {
        var k = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var a = Vector512.Create(alpha);
            for (; k <= d - 64; k += 64)
            {
                Vector512<float> o0 = Vector512.Load(o + k) * a, o1 = Vector512.Load(o + k + 16) * a;
                Vector512<float> o2 = Vector512.Load(o + k + 32) * a, o3 = Vector512.Load(o + k + 48) * a;
                var row = x + k;
                for (var j = 0; j < n; j++, row += stride)
                {
                    var pj = Vector512.Create(p[j]);
                    o0 = Vector512.MultiplyAddEstimate(pj, Vector512.Load(row), o0);
                    o1 = Vector512.MultiplyAddEstimate(pj, Vector512.Load(row + 16), o1);
                    o2 = Vector512.MultiplyAddEstimate(pj, Vector512.Load(row + 32), o2);
                    o3 = Vector512.MultiplyAddEstimate(pj, Vector512.Load(row + 48), o3);
                }
                o0.Store(o + k);
                o1.Store(o + k + 16);
                o2.Store(o + k + 32);
                o3.Store(o + k + 48);
            }
            for (; k <= d - 16; k += 16)
            {
                var o0 = Vector512.Load(o + k) * a;
                var row = x + k;
                for (var j = 0; j < n; j++, row += stride) { o0 = Vector512.MultiplyAddEstimate(Vector512.Create(p[j]), Vector512.Load(row), o0); }
                o0.Store(o + k);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var a = Vector256.Create(alpha);
            for (; k <= d - 32; k += 32)
            {
                Vector256<float> o0 = Vector256.Load(o + k) * a, o1 = Vector256.Load(o + k + 8) * a;
                Vector256<float> o2 = Vector256.Load(o + k + 16) * a, o3 = Vector256.Load(o + k + 24) * a;
                var row = x + k;
                for (var j = 0; j < n; j++, row += stride)
                {
                    var pj = Vector256.Create(p[j]);
                    o0 = Vector256.MultiplyAddEstimate(pj, Vector256.Load(row), o0);
                    o1 = Vector256.MultiplyAddEstimate(pj, Vector256.Load(row + 8), o1);
                    o2 = Vector256.MultiplyAddEstimate(pj, Vector256.Load(row + 16), o2);
                    o3 = Vector256.MultiplyAddEstimate(pj, Vector256.Load(row + 24), o3);
                }
                o0.Store(o + k);
                o1.Store(o + k + 8);
                o2.Store(o + k + 16);
                o3.Store(o + k + 24);
            }
            for (; k <= d - 8; k += 8)
            {
                var o0 = Vector256.Load(o + k) * a;
                var row = x + k;
                for (var j = 0; j < n; j++, row += stride) { o0 = Vector256.MultiplyAddEstimate(Vector256.Create(p[j]), Vector256.Load(row), o0); }
                o0.Store(o + k);
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var a = Vector128.Create(alpha);
            for (; k <= d - 4; k += 4)
            {
                var o0 = Vector128.Load(o + k) * a;
                var row = x + k;
                for (var j = 0; j < n; j++, row += stride) { o0 = Vector128.MultiplyAddEstimate(Vector128.Create(p[j]), Vector128.Load(row), o0); }
                o0.Store(o + k);
            }
        }
        for (; k < d; k++)
        {
            var acc = o[k] * alpha;
            for (var j = 0; j < n; j++) { acc += p[j] * x[((nint)j * stride) + k]; }
            o[k] = acc;
        }
    }

    /// <summary>Throws naming the argument unless it holds <paramref name="expected"/> elements (exactly, or at least).</summary>
    public static void Expect(string name, int actual, long expected, string formula, bool exact)
    {
        if (exact ? actual != expected : actual < expected)
        {
            throw new ArgumentException($"{name}: expected {(exact ? "" : "at least ")}{expected} elements ({formula}), got {actual}", name);
        }
    }
}
