// ModelWeights.cs: every parameter of ParameterShapes.For(config) in one parameters arena (and, for training, the
// gradients in one gradients arena), exposed as layer objects with .NET-named fields and by HF name. The MTP modules'
// copies of the embedding and head are the main tensors under a second name. A config whose weights cannot fit in memory
// is refused before anything is allocated (ModelFootprint.EnsureFits). UseFormat builds every projection's inference
// view (the Linears' Projections: F32 in place, BF16, FP8 or FP8 as a checkpoint stored it). MapBF16 (in
// ModelWeights.Mapped.cs) loads for inference only, its BF16 matrices read in place from the mapped files with no F32
// masters. Not here: file formats (a checkpoint reader fills the tensors through Set or Load), the forward
// (Transformer). Tested by ModelWeightsTests, InferenceWeightsTests and MappedWeightsTests.
using SharpSeek.Model.Checkpoint;
using SharpSeek.Model.Layers;
using SharpSeek.Tensors;
using Fp8Quant = SharpSeek.Tensors.Kernels.Fp8Quant;
using Fp8Recipe = SharpSeek.Tensors.Ops.Fp8Recipe;

namespace SharpSeek.Model;

/// <summary>The parameters of a model of any family (DeepSeek-V3, Qwen2, Llama), in F32 (or F64 for finite-difference checks).</summary>
public sealed partial class ModelWeights : IDisposable
{
    private readonly Dictionary<string, Parameter> _byName = new(StringComparer.Ordinal);
    private readonly List<Parameter> _unique = [];
    private readonly CheckpointDirectory? _mapped;

    public ModelWeights(ModelConfig config, DType dtype = DType.F32, bool withGradients = false)
        : this(config, dtype, withGradients, inPlace: null, mapped: null)
    {
    }

    // inPlace: tensors read in place from the mapped checkpoint (no master allocated), owned by `mapped`.
    private ModelWeights(ModelConfig config, DType dtype, bool withGradients, Dictionary<string, Tensor>? inPlace, CheckpointDirectory? mapped)
    {
        if (dtype is not (DType.F32 or DType.F64)) { throw new ArgumentException($"model weights must be F32 or F64; got {dtype}", nameof(dtype)); }
        if (inPlace is not { Count: > 0 }) { ModelFootprint.EnsureFits(config, dtype.SizeOf() * (withGradients ? 2L : 1L)); }
        Config = config;
        DType = dtype;
        _mapped = mapped;
        var shapes = ParameterShapes.For(config);
        var unique = shapes.Where(s => WeightNames.SharedAlias(config, s.Name) is null).ToList();
        var bytes = unique.Where(s => inPlace?.ContainsKey(s.Name) != true).Sum(s => (s.Elements * dtype.SizeOf() + 63) / 64 * 64);
        Parameters = new Arena("parameters", bytes);
        Gradients = withGradients ? new Arena("gradients", bytes) : null;
        foreach (var s in unique)
        {
            var shape = new Shape(s.Shape);
            var value = inPlace is not null && inPlace.TryGetValue(s.Name, out var held) ? held : Parameters.Allocate(dtype, shape);
            var p = new Parameter(s.Name, value, Gradients?.Allocate(dtype, shape) ?? default);
            _byName.Add(s.Name, p);
            _unique.Add(p);
        }
        foreach (var s in shapes)
        {
            if (WeightNames.SharedAlias(config, s.Name) is { } target) { _byName.Add(s.Name, _byName[target]); }
        }
        Embedding = _byName[WeightNames.Embedding];
        FinalNorm = new RmsNorm { Weight = _byName[WeightNames.FinalNorm], Eps = config.RmsNormEps };
        Head = new Linear { Weight = config.TieWordEmbeddings ? Embedding : _byName[WeightNames.Head] };
        Layers = [.. Enumerable.Range(0, config.NumHiddenLayers).Select(i => ModelFamilies.Block(config, i, Get))];
        Mtp = [.. Enumerable.Range(config.NumHiddenLayers, config.MtpDepth).Select(i => DeepSeekV3Family.Mtp(config, i, Get))];
    }

    public ModelConfig Config { get; }

    public DType DType { get; }

    /// <summary>The masters (the norms, biases and router only, for weights loaded by <see cref="MapBF16"/>).</summary>
    public Arena Parameters { get; }

    /// <summary>The gradients arena, or null for inference.</summary>
    public Arena? Gradients { get; }

    /// <summary>model.embed_tokens (V, D), shared by the MTP modules.</summary>
    public Parameter Embedding { get; }

    /// <summary>model.norm (D).</summary>
    public RmsNorm FinalNorm { get; }

    /// <summary>lm_head (V, D) (the embedding when tied), shared by the MTP modules.</summary>
    public Linear Head { get; }

    /// <summary>The format <see cref="UseFormat"/> last built the projections' views in (F32, in place, until then).</summary>
    public WeightFormat Format { get; private set; }

    /// <summary>The decoder layers 0 .. num_hidden_layers − 1.</summary>
    public IReadOnlyList<Block> Layers { get; }

    /// <summary>The MTP modules, stored as layers num_hidden_layers .. num_hidden_layers + D − 1.</summary>
    public IReadOnlyList<Mtp> Mtp { get; }

    /// <summary>Every HF name, the MTP copies of the embedding and head included.</summary>
    public IEnumerable<string> Names => _byName.Keys;

    /// <summary>Each distinct parameter once (what an optimizer steps).</summary>
    public IReadOnlyList<Parameter> Unique => _unique;

    /// <summary>The parameter stored under an HF checkpoint name.</summary>
    public Parameter Get(string hfName) => _byName.TryGetValue(hfName, out var p) ? p
        : throw new KeyNotFoundException($"no parameter named '{hfName}' in this {Config.NumHiddenLayers}-layer config (see ParameterShapes.For)");

    /// <summary>Fills the parameter named <paramref name="hfName"/> from float32 values (converted to this dtype).</summary>
    public void Set(string hfName, ReadOnlySpan<float> values)
    {
        EnsureMasters($"setting '{hfName}'");
        var p = Get(hfName);
        if (values.Length != p.Value.ElementCount)
        {
            throw new ArgumentException($"'{hfName}' has shape {p.Value.Shape} ({p.Value.ElementCount} elements); got {values.Length} values", nameof(values));
        }
        if (DType == DType.F32) { values.CopyTo(p.Value.AsSpan<float>()); return; }
        var dst = p.Value.AsSpan<double>();
        for (var i = 0; i < values.Length; i++) { dst[i] = values[i]; }
    }

    /// <summary>
    /// Asks <paramref name="read"/> for each distinct parameter by HF name and expected shape and fills it; the reader
    /// returns null for a tensor it does not have. Throws naming the missing tensors; returns the number filled.
    /// </summary>
    public int Load(Func<string, int[], float[]?> read)
    {
        EnsureMasters("loading weights into the model");
        var missing = new List<string>();
        var count = 0;
        foreach (var p in _unique)
        {
            var values = read(p.Name, [.. p.Value.Shape.ToArray().Select(d => (int)d)]);
            if (values is null) { missing.Add(p.Name); continue; }
            Set(p.Name, values);
            count++;
        }
        if (missing.Count > 0)
        {
            throw new InvalidOperationException($"{missing.Count} of {_unique.Count} tensors missing, first: {string.Join(", ", missing.Take(5))}");
        }
        return count;
    }

    /// <summary>
    /// Fills every parameter from a Hugging Face checkpoint directory (FP8 weights dequantized with their block scales),
    /// after checking that the checkpoint's names and shapes are exactly the config's; throws naming the cause first,
    /// then the count and the first few problems (<see cref="ConfigMismatch"/>).
    /// </summary>
    public int Load(CheckpointDirectory checkpoint)
    {
        EnsureMasters("loading weights into the model");
        ConfigMismatch.EnsureMatches(checkpoint, Config);
        if (DType == DType.F32)
        {
            // Straight into the parameters arena: no f32 copy of each tensor to allocate, fill and copy again (a 1.5B
            // model's 7 GB of them took most of its load time and left the garbage resident).
            foreach (var p in _unique) { checkpoint.ReadWeight(p.Name, p.Value.AsSpan<float>()); }
            return _unique.Count;
        }
        return Load((name, shape) =>
        {
            var values = new float[shape.Aggregate(1L, (a, d) => a * d)];
            checkpoint.ReadWeight(name, values);
            return values;
        });
    }

    /// <summary>
    /// The paper's initialization (DeepSeek-V3 technical report §4.2): every matrix ~ N(0, std²) with std =
    /// initializer_range unless given (0.006 in the paper at full size), every norm weight 1, every bias (the router
    /// correction bias, Linear biases) 0. Deterministic in the seed.
    /// </summary>
    public void InitializeRandom(int seed, double? std = null)
    {
        EnsureMasters("random initialization");
        var sigma = std ?? Config.InitializerRange;
        var rng = new Random(seed);
        foreach (var p in _unique)
        {
            if (DType == DType.F32)
            {
                FillInitial(p.Name, p.Value.Rank, sigma, rng, p.Value.AsSpan<float>());
                continue;
            }
            var values = p.Value.AsSpan<double>();
            var constant = InitialConstant(p.Name, p.Value.Rank);
            for (var i = 0; i < values.Length; i++) { values[i] = constant ?? sigma * Normal(rng); }
        }
    }

    /// <summary>
    /// Builds the inference view of every projection (attention, dense MLP, routed and shared experts, eh_proj, lm_head) in
    /// <paramref name="format"/> from the masters as they are now; norms, router and embedding stay F32. F32 views read the
    /// masters in place; BF16 and FP8 views are converted now, so after optimizer steps call this again. With
    /// <paramref name="source"/>, an FP8 weight stored as FP8 there keeps its codes and scales bit for bit. MLA's kv_b_proj
    /// also keeps its f32 widening (its absorbed form slices it per head). Weights from <see cref="MapBF16"/> take BF16
    /// only: their matrices are read in place (the embedding too, and the head tied to it). Returns the bytes the views
    /// and the other weights hold (an in-place view's bytes are its tensor's, counted once).
    /// </summary>
    public long UseFormat(WeightFormat format, CheckpointDirectory? source = null)
    {
        if (DType != DType.F32) { throw new InvalidOperationException($"inference views are built from F32 weights; these are {DType}"); }
        if (format != WeightFormat.BF16) { EnsureMasters($"building {format} views"); }
        var projected = new HashSet<Parameter>();
        long bytes = 0;
        foreach (var (linear, widen) in Projections())
        {
            var (p, stored) = (linear.Weight, format == WeightFormat.Fp8 && source is not null && source.Contains(linear.Weight.Name) && source.Info(linear.Weight.Name).DType == DType.F8E4M3);
            Projection view;
            if (stored)
            {
                var (rows, cols) = ((int)p.Value.Size(0), (int)p.Value.Size(1));
                var (codes, scales) = (new Float8E4M3[(long)rows * cols], new float[Fp8Quant.Tiles(rows) * Fp8Quant.Tiles(cols)]);
                source!.ReadFp8(p.Name, codes, scales);
                view = linear.UseFp8(codes, scales, widen);
            }
            else
            {
                view = linear.UseFormat(format, widen);
            }
            if (p != Embedding) { projected.Add(p); }
            if (p != Embedding || !view.InPlace) { bytes += view.Bytes; } // a tied head reading the embedding in place is counted with it below
        }
        foreach (var p in _unique.Where(p => !projected.Contains(p))) { bytes += p.Value.DType.SizeOf() * p.Value.ElementCount; }
        Format = format;
        return bytes;
    }

    /// <summary>
    /// Sets the training GEMMs' precision of every Linear in attention, the MLPs, the experts and the MTP projection
    /// (DeepSeek-V3 §3.3.1: FP8 there; the embedding, the output head, the routers, norms and attention itself stay in
    /// high precision, as they do here whatever the mode). Master weights and gradients stay F32. Under FP8 the GEMMs
    /// follow <paramref name="recipe"/> (the paper's by default).
    /// </summary>
    public void UsePrecision(LinearPrecision precision, Fp8Recipe recipe = default)
    {
        foreach (var (linear, _) in Projections())
        {
            if (linear != Head) { (linear.Precision, linear.Fp8Recipe) = (precision, recipe); }
        }
        var recompute = precision == LinearPrecision.Fp8 && !recipe.KeepActivations;
        foreach (var block in Layers.Concat(Mtp.Select(m => m.Block)))
        {
            block.Recompute = recompute;
            if (block.Moe is { } moe)
            {
                (moe.Recompute, moe.Fp8Dispatch) = (recompute, precision == LinearPrecision.Fp8 && recipe.Fp8Dispatch);
                foreach (var expert in moe.Experts) // their input and down dY cross on power-of-two grids: quantized again losslessly
                {
                    expert.Gate.Fp8Recipe = expert.Up.Fp8Recipe = recipe with { PowerOfTwoInput = moe.Fp8Dispatch };
                    expert.Down.Fp8Recipe = recipe with { PowerOfTwoGradient = moe.Fp8Dispatch };
                }
            }
            var output = block.Attention is Mla mla ? mla.Wo : ((Gqa)block.Attention).O;
            output.CacheE5M6 = precision == LinearPrecision.Fp8 && recipe.E5M6OProj;
        }
    }

    // Every Linear with its weight's one view, and whether the view keeps its f32 widening.
    private IEnumerable<(Linear Linear, bool Widen)> Projections()
    {
        static IEnumerable<Linear> Ffn(Mlp m) => [m.Gate, m.Up, m.Down];
        foreach (var block in Layers.Concat(Mtp.Select(m => m.Block)))
        {
            if (block.Attention is Mla mla)
            {
                foreach (var l in new[] { mla.WqA, mla.WqB, mla.Wq, mla.WkvA, mla.Wo }.OfType<Linear>()) { yield return (l, false); }
                yield return (mla.WkvB, true);
            }
            else if (block.Attention is Gqa gqa)
            {
                foreach (var l in new[] { gqa.Q, gqa.K, gqa.V, gqa.O }) { yield return (l, false); }
            }
            var ffns = block.Moe is { } moe ? moe.Experts.Concat(moe.Shared is null ? [] : [moe.Shared]) : [block.Mlp!];
            foreach (var l in ffns.SelectMany(Ffn)) { yield return (l, false); }
        }
        foreach (var m in Mtp) { yield return (m.EhProj, false); }
        yield return (Head, false);
    }

    /// <summary>Fills <paramref name="values"/>, the F32 elements of the parameter <paramref name="name"/> of rank
    /// <paramref name="rank"/>, by <see cref="InitializeRandom"/>'s rule: 0 for a bias, 1 for a norm weight, else
    /// N(0, sigma²) drawn from <paramref name="rng"/>. Filling every unique parameter in <see cref="ParameterShapes"/>
    /// order from <c>new Random(seed)</c> gives InitializeRandom(seed)'s F32 values.</summary>
    public static void FillInitial(string name, int rank, double sigma, Random rng, Span<float> values)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var constant = InitialConstant(name, rank);
        for (var i = 0; i < values.Length; i++) { values[i] = (float)(constant ?? sigma * Normal(rng)); }
    }

    // 0 for a bias (the router's correction bias, Linear biases), 1 for a norm weight (the other vectors), null for a matrix.
    private static double? InitialConstant(string name, int rank)
    {
        ArgumentNullException.ThrowIfNull(name);
        var isBias = name.EndsWith("e_score_correction_bias", StringComparison.Ordinal) || name.EndsWith(".bias", StringComparison.Ordinal);
        return isBias ? 0 : rank == 1 ? 1 : null;
    }

    /// <summary>Sets every gradient to zero (before a new accumulation).</summary>
    public void ZeroGradients()
    {
        foreach (var p in _unique)
        {
            if (p.Grad.IsValid) { p.Grad.AsBytes().Clear(); }
        }
    }

    /// <summary>Frees the arenas and closes the mapped checkpoint files of weights from <see cref="MapBF16"/> (their
    /// tensors then throw <see cref="ObjectDisposedException"/> when read).</summary>
    public void Dispose()
    {
        Parameters.Dispose();
        Gradients?.Dispose();
        _mapped?.Dispose();
    }

    // Box–Muller: one standard normal from two uniforms.
    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
