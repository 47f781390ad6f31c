// Rope.cs: rotary position embedding in DeepSeek's interleaved-pair convention (deepseek-ai/DeepSeek-V3:inference/model.py, apply_rotary_emb) over x (T, H, d), its backward
// (rotation by the negative angle), optionally after leading entries that pass through (MLA's [q_nope | q_pe] heads),
// and the plain-RoPE inv_freq / cos / sin table builders. Not here: YaRN frequencies
// (the model computes invFreq and passes it in). Tested by RopeTests.
using System.Numerics;

namespace SharpSeek.Tensors.Kernels;

/// <summary>
/// y[t, h, 2i]   = x[t, h, 2i]·cos(p·θ_i) − x[t, h, 2i+1]·sin(p·θ_i)
/// y[t, h, 2i+1] = x[t, h, 2i]·sin(p·θ_i) + x[t, h, 2i+1]·cos(p·θ_i), with p = positions[t] and the tables
/// cos[p, i] = cos(p·θ_i), sin[p, i] = sin(p·θ_i) of shape (maxPos, d/2).
/// </summary>
public static unsafe class Rope
{
    // x: (T, H, d)  cos, sin: (maxPos, d/2)  positions: (T)  y: (T, H, d); y may be the same span as x.
    public static void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> cos, ReadOnlySpan<T> sin, ReadOnlySpan<int> positions, int heads, int headDim,
        Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Rotate(x, cos, sin, positions, 0, positions.Length, heads, headDim, y, inverse: false);

    /// <summary>The same with positions startPos, startPos + 1, ... for the T = x.Length / (H·d) tokens.</summary>
    public static void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> cos, ReadOnlySpan<T> sin, int startPos, int heads, int headDim, Span<T> y)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Rotate(x, cos, sin, default, startPos, TokenCount(x.Length, heads, headDim), heads, headDim, y, inverse: false);

    /// <summary>
    /// x: (T, H, leading + d): the first <paramref name="leading"/> entries of each head are copied unchanged (MLA's q_nope),
    /// the last d = <paramref name="headDim"/> are rotated as above (q_pe); cos, sin: (maxPos, d/2).
    /// </summary>
    public static void Forward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> cos, ReadOnlySpan<T> sin, ReadOnlySpan<int> positions, int heads, int leading, int headDim,
        Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Rotate(x, cos, sin, positions, 0, positions.Length, heads, headDim, y, inverse: false, leading);

    /// <summary>The backward of the leading-pass-through forward: the leading entries of dy copied, the rest rotated back.</summary>
    public static void Backward<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> cos, ReadOnlySpan<T> sin, ReadOnlySpan<int> positions, int heads, int leading, int headDim,
        Span<T> dx) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Rotate(dy, cos, sin, positions, 0, positions.Length, heads, headDim, dx, inverse: true, leading);

    // forward: y = R(p·θ) x per pair, R orthogonal  ⇒  dx = R(p·θ)ᵀ dy = R(−p·θ) dy
    public static void Backward<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> cos, ReadOnlySpan<T> sin, ReadOnlySpan<int> positions, int heads, int headDim,
        Span<T> dx) where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Rotate(dy, cos, sin, positions, 0, positions.Length, heads, headDim, dx, inverse: true);

    public static void Backward<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> cos, ReadOnlySpan<T> sin, int startPos, int heads, int headDim, Span<T> dx)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Rotate(dy, cos, sin, default, startPos, TokenCount(dy.Length, heads, headDim), heads, headDim, dx, inverse: true);

    /// <summary>Plain RoPE frequencies: invFreq[i] = theta^(−2i/d) for i in [0, d/2).</summary>
    public static void InverseFrequencies<T>(int headDim, double theta, Span<T> invFreq) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        CheckHeadDim(headDim);
        Operators.CheckLength(nameof(invFreq), headDim / 2, invFreq.Length);
        for (var i = 0; i < headDim / 2; i++) { invFreq[i] = T.CreateChecked(1.0 / Math.Pow(theta, 2.0 * i / headDim)); }
    }

    /// <summary>cos[p, i] = cos(p·invFreq[i]), sin[p, i] = sin(p·invFreq[i]) for p in [0, maxPos), angles in double.</summary>
    public static void Tables<T>(ReadOnlySpan<T> invFreq, int maxPos, Span<T> cos, Span<T> sin) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var half = invFreq.Length;
        RowLoop.CheckMatrix(nameof(cos), maxPos, half, cos.Length);
        RowLoop.CheckMatrix(nameof(sin), maxPos, half, sin.Length);
        for (var p = 0; p < maxPos; p++)
        {
            for (var i = 0; i < half; i++)
            {
                var angle = p * double.CreateChecked(invFreq[i]);
                cos[p * half + i] = T.CreateChecked(Math.Cos(angle));
                sin[p * half + i] = T.CreateChecked(Math.Sin(angle));
            }
        }
    }

    /// <summary>The scalar reference: the rotation computed in double from the tables.</summary>
    public static void ForwardNaive<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> cos, ReadOnlySpan<T> sin, ReadOnlySpan<int> positions, int heads, int headDim,
        Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var half = headDim / 2;
        for (var t = 0; t < positions.Length; t++)
        {
            for (var h = 0; h < heads; h++)
            {
                var o = (t * heads + h) * headDim;
                for (var i = 0; i < half; i++)
                {
                    double c = double.CreateChecked(cos[positions[t] * half + i]), s = double.CreateChecked(sin[positions[t] * half + i]);
                    double x0 = double.CreateChecked(x[o + 2 * i]), x1 = double.CreateChecked(x[o + 2 * i + 1]);
                    y[o + 2 * i] = T.CreateChecked(x0 * c - x1 * s);
                    y[o + 2 * i + 1] = T.CreateChecked(x0 * s + x1 * c);
                }
            }
        }
    }

    private static int TokenCount(int length, int heads, int headDim)
    {
        CheckHeadDim(headDim);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(heads);
        if (length % (heads * headDim) != 0)
        {
            throw new ArgumentException($"x must have a multiple of H·d = {heads * headDim} elements, but has {length}", nameof(length));
        }
        return length / (heads * headDim);
    }

    private static void CheckHeadDim(int headDim)
    {
        if (headDim <= 0 || headDim % 2 != 0)
        {
            throw new ArgumentException($"the rotary head dimension must be even and positive, but is {headDim}", nameof(headDim));
        }
    }

    private static void Rotate<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> cos, ReadOnlySpan<T> sin, ReadOnlySpan<int> positions, int startPos, int tokens,
        int heads, int headDim, Span<T> y, bool inverse, int leading = 0) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        CheckHeadDim(headDim);
        ArgumentOutOfRangeException.ThrowIfNegative(heads);
        ArgumentOutOfRangeException.ThrowIfNegative(leading);
        var half = headDim / 2;
        Operators.CheckLength(nameof(x), (long)tokens * heads * (leading + headDim), x.Length);
        Operators.CheckLength(nameof(y), (long)tokens * heads * (leading + headDim), y.Length);
        Operators.CheckLength(nameof(sin), cos.Length, sin.Length);
        if (cos.Length % half != 0)
        {
            throw new ArgumentException($"cos must have a multiple of d/2 = {half} elements, but has {cos.Length}", nameof(cos));
        }
        var maxPos = cos.Length / half;
        for (var t = 0; t < tokens; t++)
        {
            var p = positions.IsEmpty ? startPos + t : positions[t];
            if ((uint)p >= (uint)maxPos)
            {
                throw new ArgumentOutOfRangeException(nameof(positions), $"position {p} of token {t} is outside the table [0, {maxPos})");
            }
        }
        fixed (T* px = x, pc = cos, ps = sin, py = y)
        fixed (int* pp = positions)
        {
            var body = new Body<T>
            {
                X = px,
                Cos = pc,
                Sin = ps,
                Positions = pp,
                StartPos = startPos,
                Heads = heads,
                HeadDim = headDim,
                Leading = leading,
                Y = py,
                Sign = inverse ? -T.One : T.One,
            };
            RowLoop.Run(tokens, 2L * heads * (leading + headDim), ref body);
        }
    }

    private readonly struct Body<T> : IRowBody where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T* X { get; init; }
        public T* Cos { get; init; }
        public T* Sin { get; init; }
        public int* Positions { get; init; }
        public int StartPos { get; init; }
        public int Heads { get; init; }
        public int HeadDim { get; init; }
        public int Leading { get; init; }
        public T* Y { get; init; }
        public T Sign { get; init; }

        public void Row(int token)
        {
            var half = HeadDim / 2;
            var p = Positions == null ? StartPos + token : Positions[token];
            var c = Cos + (long)p * half;
            var s = Sin + (long)p * half;
            var stride = Leading + HeadDim;
            var x = X + ((long)token * Heads * stride);
            var y = Y + ((long)token * Heads * stride);
            for (var h = 0; h < Heads; h++, x += HeadDim, y += HeadDim)
            {
                // the leading entries pass through; x and y then point at the rotated part
                if (x != y) { new ReadOnlySpan<T>(x, Leading).CopyTo(new Span<T>(y, Leading)); }
                x += Leading;
                y += Leading;
                for (var i = 0; i < half; i++)
                {
                    T x0 = x[2 * i], x1 = x[2 * i + 1], ci = c[i], si = Sign * s[i];
                    y[2 * i] = x0 * ci - x1 * si;
                    y[2 * i + 1] = x0 * si + x1 * ci;
                }
            }
        }
    }
}
