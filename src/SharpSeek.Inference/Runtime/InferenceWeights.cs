// InferenceWeights.cs: a model held for inference: every projection matrix (attention, dense MLP, routed and shared
// experts, eh_proj, lm_head) in F32, BF16 or FP8 chosen at load, the rest F32; built from any checkpoint the Model reader
// loads. An FP8 weight stored as FP8 keeps its codes and scales bit for bit; other weights are quantized from f32. A
// dense GQA model (qwen2, llama) is held as its own ModelWeights (F32 masters, read in place), not copied.
// Not here: the forward (ModelRunner). Tested by InferenceWeightsTests and DenseRunnerTests.
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Model.Layers;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Kernels;
using RmsNorm = SharpSeek.Model.Layers.RmsNorm;

namespace SharpSeek.Inference.Runtime;

/// <summary>The weights the runtime reads, projections in <see cref="Format"/>.</summary>
public sealed class InferenceWeights : IDisposable
{
    private readonly bool _ownsModel;

    private InferenceWeights(ModelConfig config, WeightFormat format, float[] embedding, NormWeights finalNorm, Projection head,
        LayerWeights[] layers, MtpWeights[] mtp)
    {
        (Config, Format, Embedding, FinalNorm, Head, Layers, Mtp) = (config, format, embedding, finalNorm, head, layers, mtp);
    }

    private InferenceWeights(ModelWeights model, bool ownsModel)
    {
        (Config, Format, Model, Embedding, Layers, Mtp, Bytes) = (model.Config, WeightFormat.F32, model, [], [], [], model.Parameters.CapacityBytes);
        _ownsModel = ownsModel;
    }

    public ModelConfig Config { get; }

    /// <summary>A dense (GQA) model's own parameters and layer objects, which the runtime runs with gradients off over
    /// its KV cache (one forward per layer, the weights training steps); null for DeepSeek, whose runtime copy is below.</summary>
    public ModelWeights? Model { get; }

    public WeightFormat Format { get; }

    /// <summary>embed_tokens (V, D), F32.</summary>
    public float[] Embedding { get; }

    /// <summary>model.norm; null for a dense model (see <see cref="Model"/>).</summary>
    public NormWeights? FinalNorm { get; }

    /// <summary>lm_head (V, D), shared by the MTP modules; null for a dense model (see <see cref="Model"/>).</summary>
    public Projection? Head { get; }

    public IReadOnlyList<LayerWeights> Layers { get; }

    public IReadOnlyList<MtpWeights> Mtp { get; }

    /// <summary>Bytes held by every weight: projections in their format, the rest (and kv_b_proj's f32 copy) at 4 bytes.</summary>
    public long Bytes { get; private set; }

    /// <summary>Loads config.json and the weights of <paramref name="modelDir"/> (F32/BF16/F16/FP8 files) into <paramref name="format"/>.</summary>
    public static InferenceWeights Load(string modelDir, WeightFormat format)
    {
        using var checkpoint = CheckpointDirectory.Open(modelDir);
        EnsureSupported(checkpoint.Config, format);
        ConfigMismatch.EnsureMatches(checkpoint, checkpoint.Config); // before allocating weights of a config the tensors contradict
        if (checkpoint.Config.IsDense)
        {
            var model = new ModelWeights(checkpoint.Config);
            try
            {
                model.Load(checkpoint);
            }
            catch
            {
                model.Dispose();
                throw;
            }
            return new InferenceWeights(model, ownsModel: true);
        }
        using var weights = new ModelWeights(checkpoint.Config);
        weights.Load(checkpoint);
        return From(weights, format, checkpoint);
    }

    /// <summary>Frees a dense model this object loaded (one built by <see cref="From"/> stays its owner's); the DeepSeek
    /// runtime copy is managed memory.</summary>
    public void Dispose()
    {
        if (_ownsModel) { Model!.Dispose(); }
    }

    /// <summary>Throws <see cref="InvalidOperationException"/> for what the runtime cannot do yet: a dense GQA model
    /// (qwen2, llama) runs on its F32 master weights; BF16 and FP8 views come when Linear owns them (docs/architecture.md).</summary>
    public static void EnsureSupported(ModelConfig config, WeightFormat format)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.IsDense && format != WeightFormat.F32)
        {
            throw new InvalidOperationException($"a {config.ModelType} model runs in F32 today (its BF16 and FP8 views are not built yet); got --dtype {format.ToString().ToLowerInvariant()}, expected f32");
        }
    }

    /// <summary>Converts F32 model weights; with <paramref name="source"/>, FP8 projections stored as FP8 there are taken as stored.</summary>
    public static InferenceWeights From(ModelWeights weights, WeightFormat format, CheckpointDirectory? source = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        EnsureSupported(weights.Config, format);
        if (weights.DType != DType.F32) { throw new ArgumentException($"inference weights are built from F32 model weights; got {weights.DType}", nameof(weights)); }
        if (weights.Config.IsDense) { return new InferenceWeights(weights, ownsModel: false); } // read in place: a trainer's later steps are seen
        long bytes = 0;
        Projection P(Parameter p)
        {
            var (rows, cols) = ((int)p.Value.Size(0), (int)p.Value.Size(1));
            Projection result;
            if (format == WeightFormat.Fp8 && source is not null && source.Contains(p.Name) && source.Info(p.Name).DType == DType.F8E4M3)
            {
                var codes = new Float8E4M3[(long)rows * cols];
                var scales = new float[Fp8Quant.Tiles(rows) * Fp8Quant.Tiles(cols)];
                source.ReadFp8(p.Name, codes, scales);
                result = Projection.FromFp8(codes, scales, rows, cols);
            }
            else
            {
                result = Projection.From(p.Value.AsSpan<float>(), rows, cols, format);
            }
            bytes += result.Bytes;
            return result;
        }
        float[] F(Parameter p)
        {
            bytes += 4 * p.Value.ElementCount;
            return p.Value.AsSpan<float>().ToArray();
        }
        NormWeights N(RmsNorm n) => new(F(n.Weight), (float)n.Eps);
        SwiGluWeights S(Mlp m) => new(P(m.Gate.Weight), P(m.Up.Weight), P(m.Down.Weight));
        LayerWeights L(Block b)
        {
            var a = (Mla)b.Attention; // EnsureSupported admitted only MLA models
            var kvB = P(a.WkvB);
            var kvBDense = kvB.ToSingle();
            bytes += 4L * kvBDense.Length;
            var attention = new AttentionWeights(a.WqA is null ? null : P(a.WqA), a.QNorm is null ? null : N(a.QNorm), a.WqB is null ? null : P(a.WqB),
                a.Wq is null ? null : P(a.Wq), P(a.WkvA), N(a.KvNorm), kvB, kvBDense, P(a.Wo));
            var moe = b.Moe is { } m
                ? new MoeWeights(F(m.Gate.Weight), m.Gate.CorrectionBias is null ? null : F(m.Gate.CorrectionBias), [.. m.Experts.Select(S)], m.Shared is null ? null : S(m.Shared))
                : null;
            return new LayerWeights(b.Index, N(b.InputNorm), attention, N(b.PostAttentionNorm), b.Mlp is null ? null : S(b.Mlp), moe);
        }

        var embedding = F(weights.Embedding);
        var head = weights.Config.TieWordEmbeddings ? Projection.From(embedding, (int)weights.Head.Value.Size(0), (int)weights.Head.Value.Size(1), format) : P(weights.Head);
        if (weights.Config.TieWordEmbeddings) { bytes += head.Bytes; }
        var layers = weights.Layers.Select(L).ToArray();
        var mtp = weights.Mtp.Select(m => new MtpWeights(N(m.EmbeddingNorm), N(m.HiddenNorm), P(m.EhProj), L(m.Block), N(m.HeadNorm))).ToArray();
        var finalNorm = N(weights.FinalNorm);
        return new InferenceWeights(weights.Config, format, embedding, finalNorm, head, layers, mtp) { Bytes = bytes };
    }
}
