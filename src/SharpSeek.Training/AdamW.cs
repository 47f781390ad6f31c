// AdamW.cs: Adam with decoupled weight decay (Loshchilov & Hutter), the paper's optimizer (DeepSeek-V3 technical report §4.2), over every trainable
// parameter of a ModelWeights: all but the router correction biases, which the bias rule moves and no gradient reaches.
// The moments live in their own arena in the parameters' dtype, or in BF16 (AdamWOptions.Moments: the FP8 recipe's
// optimizer, DeepSeek-V3 technical report §3.3.3, which widens them to f32 for the update and rounds them back); the update is elementwise (vectorized in f32, per element
// in double on the f64 reference path) over fixed chunks on the worker pool, so the result does not depend on the
// thread count. State is saved as safetensors with the step count in the metadata.
// Not here: the learning-rate schedule (LrSchedule), clipping (GradClip). Tested by AdamWTests and ReferenceAdamWTests.
using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Model.Layers;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Training;

/// <summary>
/// Step t = 1, 2, …: p ← p·(1 − lr·wd) (decayed tensors only); m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²;
/// p ← p − lr·(m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + ε).
/// </summary>
public sealed class AdamW : IDisposable
{
    private const string StepKey = "step";
    private const int Chunk = 1 << 15;

    private readonly Arena _state;
    private readonly Parameter[] _params;
    private readonly Tensor[] _m;
    private readonly Tensor[] _v;
    private readonly bool[] _decay;
    private readonly int[] _firstChunk; // _firstChunk[i]: index of parameter i's first work item; the last entry is the total

    public AdamW(ModelWeights weights, AdamWOptions options)
    {
        ArgumentNullException.ThrowIfNull(weights);
        weights.EnsureMasters("AdamW");
        if (weights.Gradients is null) { throw new ArgumentException("AdamW needs gradients: construct the ModelWeights with withGradients: true", nameof(weights)); }
        if (!(options.Beta1 is >= 0 and < 1) || !(options.Beta2 is >= 0 and < 1) || !(options.Eps > 0) || !(options.WeightDecay >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"AdamW needs 0 ≤ β1, β2 < 1, ε > 0 and weight decay ≥ 0; got {options}");
        }
        Options = options;
        _params = [.. weights.Unique.Where(IsTrainable)];
        if (options.Moments is { } md && _params.Any(p => p.Value.DType != md && !(md == DType.BF16 && p.Value.DType == DType.F32)))
        {
            throw new ArgumentException($"AdamW keeps moments in the parameters' dtype or in BF16 beside F32 parameters; got {md} moments for {weights.DType} parameters", nameof(options));
        }
        var momentType = (Parameter p) => options.Moments ?? p.Value.DType;
        var bytes = _params.Sum(p => 2 * ((p.Value.ElementCount * momentType(p).SizeOf() + 63) / 64 * 64));
        _state = new Arena("adamw", Math.Max(bytes, 64));
        _m = [.. _params.Select(p => _state.Allocate(momentType(p), p.Value.Shape))];
        _v = [.. _params.Select(p => _state.Allocate(momentType(p), p.Value.Shape))];
        _decay = [.. _params.Select(p => p.Value.Rank >= 2 || options.DecayNormsAndBiases)];
        _firstChunk = new int[_params.Length + 1];
        for (var i = 0; i < _params.Length; i++) { _firstChunk[i + 1] = _firstChunk[i] + (int)((_params[i].Value.ElementCount + Chunk - 1) / Chunk); }
    }

    public AdamWOptions Options { get; }

    /// <summary>Bytes of m and v together.</summary>
    public long StateBytes => _m.Concat(_v).Sum(t => t.ElementCount * t.DType.SizeOf());

    /// <summary>Updates taken so far (t of the last step).</summary>
    public long StepCount { get; private set; }

    /// <summary>The parameters this optimizer steps, in order.</summary>
    public IReadOnlyList<Parameter> Parameters => _params;

    /// <summary>True for a parameter AdamW updates: everything but a router's e_score_correction_bias.</summary>
    public static bool IsTrainable(Parameter p) => !p.Name.EndsWith("e_score_correction_bias", StringComparison.Ordinal);

    /// <summary>One update with learning rate <paramref name="lr"/> from the accumulated gradients (left as they are).</summary>
    public void Step(double lr)
    {
        if (!(lr >= 0) || double.IsInfinity(lr)) { throw new ArgumentOutOfRangeException(nameof(lr), $"learning rate must be finite and ≥ 0; got {lr}"); }
        StepCount++;
        var o = Options;
        var work = new UpdateWork
        {
            Optimizer = this,
            C = new Coefficients(lr, o.Beta1, o.Beta2, o.Eps, 1 - Math.Pow(o.Beta1, StepCount), 1 - Math.Pow(o.Beta2, StepCount)),
            DecayFactor = 1 - (lr * o.WeightDecay),
        };
        WorkerPool.Current.For(_firstChunk[^1], ref work);
    }

    // One work item per Chunk elements of one parameter, so large and small tensors spread evenly over the pool.
    private struct UpdateWork : IWorkItem
    {
        public AdamW Optimizer;
        public Coefficients C;
        public double DecayFactor;

        public readonly void Execute(int index, int worker)
        {
            var o = Optimizer;
            var i = Array.BinarySearch(o._firstChunk, index);
            i = i >= 0 ? i : ~i - 1;
            while (o._firstChunk[i + 1] == o._firstChunk[i]) { i++; } // skip empty tensors
            var n = (int)o._params[i].Value.ElementCount;
            var start = (index - o._firstChunk[i]) * Chunk;
            Update(o._params[i], o._m[i], o._v[i], start, Math.Min(Chunk, n - start), o._decay[i] ? DecayFactor : 1.0, C);
        }
    }

    /// <summary>Writes m and v (as "{name}.exp_avg", "{name}.exp_avg_sq") and the step count, atomically.</summary>
    public void Save(string path)
    {
        var entries = new List<SafeTensorEntry>(2 * _params.Length);
        for (var i = 0; i < _params.Length; i++)
        {
            var shape = _params[i].Value.Shape.ToArray();
            entries.Add(new SafeTensorEntry(_params[i].Name + ".exp_avg", _m[i].DType, shape, _m[i].AsBytes().ToArray()));
            entries.Add(new SafeTensorEntry(_params[i].Name + ".exp_avg_sq", _v[i].DType, shape, _v[i].AsBytes().ToArray()));
        }
        var metadata = new Dictionary<string, string>
        {
            [StepKey] = StepCount.ToString(CultureInfo.InvariantCulture),
            ["format"] = "sharpseek-adamw",
        };
        SafeTensorsWriter.Write(path, entries, metadata);
    }

    /// <summary>Restores the state written by <see cref="Save"/> for the same parameters; checks every tensor's presence,
    /// dtype and shape before changing anything, and throws listing every problem. F32 moments load into BF16 ones
    /// (rounded) and BF16 into F32 (widened).</summary>
    public void Load(string path)
    {
        using var file = SafeTensorsFile.Open(path);
        var problems = new List<string>();
        if (!file.Metadata.TryGetValue(StepKey, out var stepText) || !long.TryParse(stepText, NumberStyles.None, CultureInfo.InvariantCulture, out var step))
        {
            problems.Add($"metadata '{StepKey}' missing or not a non-negative integer");
            step = 0;
        }
        var moments = _params.SelectMany((p, i) => new[] { (p.Name + ".exp_avg", _m[i]), (p.Name + ".exp_avg_sq", _v[i]) }).ToList();
        foreach (var (name, t) in moments)
        {
            if (!file.Contains(name)) { problems.Add($"'{name}' missing"); continue; }
            var info = file.Info(name);
            if (!(info.DType == t.DType || Convertible(info.DType, t.DType)) || !info.Shape.SequenceEqual(t.Shape.ToArray()))
            {
                problems.Add($"'{name}' is {info.DType} {info.ShapeText}; expected {t.DType} {t.Shape}");
            }
        }
        var extra = file.Names.Except(moments.Select(x => x.Item1), StringComparer.Ordinal).ToList();
        if (extra.Count > 0) { problems.Add($"{extra.Count} tensors this model does not have, first: {string.Join(", ", extra.Take(3))}"); }
        if (problems.Count > 0) { throw new InvalidDataException($"AdamW state '{path}' does not fit this model:\n  " + string.Join("\n  ", problems)); }
        foreach (var (name, t) in moments)
        {
            var stored = file.Info(name).DType;
            if (stored == t.DType) { file.Bytes(name).CopyTo(t.AsBytes()); }
            else if (stored == DType.F32) { DTypeConvert.ToBFloat16(MemoryMarshal.Cast<byte, float>(file.Bytes(name)), t.AsSpan<BFloat16>()); }
            else { DTypeConvert.ToSingle(MemoryMarshal.Cast<byte, BFloat16>(file.Bytes(name)), t.AsSpan<float>()); }
        }
        StepCount = step;
    }

    public void Dispose() => _state.Dispose();

    // F32 and BF16 moments load into each other (rounded to nearest even, or widened exactly): a run saved before its
    // precision kept BF16 moments, or by another precision, still resumes.
    private static bool Convertible(DType stored, DType wanted) => (stored, wanted) is (DType.F32, DType.BF16) or (DType.BF16, DType.F32);

    private readonly record struct Coefficients(double Lr, double Beta1, double Beta2, double Eps, double Correction1, double Correction2);

    private static void Update(Parameter p, Tensor m, Tensor v, int start, int length, double decay, Coefficients c)
    {
        if (p.Value.DType == DType.F64) { Update<double>(p, m, v, start, length, decay, c); }
        else if (m.DType == DType.BF16) { UpdateBf16Moments(p, m, v, start, length, decay, c); }
        else
        {
            UpdateSingle(p.Value.AsSpan<float>().Slice(start, length), p.Grad.AsSpan<float>().Slice(start, length),
                m.AsSpan<float>().Slice(start, length), v.AsSpan<float>().Slice(start, length), decay, c);
        }
    }

    // BF16 moments: each piece widened to f32 (exact), updated by the f32 path, rounded back to BF16 (nearest-even), so a
    // step equals the f32-moment step followed by rounding m and v.
    private static void UpdateBf16Moments(Parameter p, Tensor m, Tensor v, int start, int length, double decay, Coefficients c)
    {
        const int Piece = 512;
        Span<float> mf = stackalloc float[Piece], vf = stackalloc float[Piece];
        var ms = m.AsSpan<BFloat16>().Slice(start, length);
        var vs = v.AsSpan<BFloat16>().Slice(start, length);
        for (var s = 0; s < length; s += Piece)
        {
            var n = Math.Min(Piece, length - s);
            var mp = mf[..n];
            var vp = vf[..n];
            DTypeConvert.ToSingle(ms.Slice(s, n), mp);
            DTypeConvert.ToSingle(vs.Slice(s, n), vp);
            UpdateSingle(p.Value.AsSpan<float>().Slice(start + s, n), p.Grad.AsSpan<float>().Slice(start + s, n), mp, vp, decay, c);
            DTypeConvert.ToBFloat16(mp, ms.Slice(s, n));
            DTypeConvert.ToBFloat16(vp, vs.Slice(s, n));
        }
    }

    // The f32 path, vectorized: f32 lanes widened to f64, the same f64 operations in the same order as the reference path
    // below, narrowed back with round-to-nearest, so both paths give the same bits.
    private static void UpdateSingle(Span<float> ps, ReadOnlySpan<float> gs, Span<float> ms, Span<float> vs, double decay, Coefficients c)
    {
        var j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var (b1, b2, ob1, ob2) = (new Vector<double>(c.Beta1), new Vector<double>(c.Beta2), new Vector<double>(1 - c.Beta1), new Vector<double>(1 - c.Beta2));
            var (lr, c1, c2, eps, d) = (new Vector<double>(c.Lr), new Vector<double>(c.Correction1), new Vector<double>(c.Correction2), new Vector<double>(c.Eps), new Vector<double>(decay));
            for (; j <= ps.Length - Vector<float>.Count; j += Vector<float>.Count)
            {
                Vector.Widen(new Vector<float>(gs[j..]), out var g0, out var g1);
                Vector.Widen(new Vector<float>(ms[j..]), out var m0, out var m1);
                Vector.Widen(new Vector<float>(vs[j..]), out var v0, out var v1);
                Vector.Widen(new Vector<float>(ps[j..]), out var p0, out var p1);
                var (mj0, mj1) = ((b1 * m0) + (ob1 * g0), (b1 * m1) + (ob1 * g1));
                var (vj0, vj1) = ((b2 * v0) + (ob2 * g0 * g0), (b2 * v1) + (ob2 * g1 * g1));
                var pj0 = (p0 * d) - (lr * (mj0 / c1) / (Vector.SquareRoot(vj0 / c2) + eps));
                var pj1 = (p1 * d) - (lr * (mj1 / c1) / (Vector.SquareRoot(vj1 / c2) + eps));
                Vector.Narrow(pj0, pj1).CopyTo(ps[j..]);
                Vector.Narrow(mj0, mj1).CopyTo(ms[j..]);
                Vector.Narrow(vj0, vj1).CopyTo(vs[j..]);
            }
        }
        Update<float>(ps[j..], gs[j..], ms[j..], vs[j..], decay, c);
    }

    private static void Update<T>(Parameter p, Tensor m, Tensor v, int start, int length, double decay, Coefficients c)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Update<T>(p.Value.AsSpan<T>().Slice(start, length), p.Grad.AsSpan<T>().Slice(start, length), m.AsSpan<T>().Slice(start, length),
            v.AsSpan<T>().Slice(start, length), decay, c);

    // The reference update, per element in double.
    private static void Update<T>(Span<T> ps, ReadOnlySpan<T> gs, Span<T> ms, Span<T> vs, double decay, Coefficients c)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (var j = 0; j < ps.Length; j++)
        {
            var g = double.CreateChecked(gs[j]);
            var mj = (c.Beta1 * double.CreateChecked(ms[j])) + ((1 - c.Beta1) * g);
            var vj = (c.Beta2 * double.CreateChecked(vs[j])) + ((1 - c.Beta2) * g * g);
            var pj = double.CreateChecked(ps[j]) * decay;
            ps[j] = T.CreateChecked(pj - (c.Lr * (mj / c.Correction1) / (Math.Sqrt(vj / c.Correction2) + c.Eps)));
            ms[j] = T.CreateChecked(mj);
            vs[j] = T.CreateChecked(vj);
        }
    }
}
