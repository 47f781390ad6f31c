// InferenceWeights.cs: a model held for inference: its ModelWeights (the layer objects the runtime runs, the weights
// stored once) and the format its projections' views were built in (ModelWeights.UseFormat: F32 reads the masters in
// place, BF16 and FP8 are converted, FP8 stored as FP8 in the checkpoint is kept bit for bit), for any model family. A
// BF16 load maps the files and reads their BF16 matrices in place, with no F32 masters (ModelWeights.MapBF16).
// Not here: the views themselves (Linear, Projection), the forward (ModelRunner). Tested by InferenceWeightsTests and
// DenseRunnerTests.
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Tensors;

namespace SharpSeek.Inference.Runtime;

/// <summary>A model and the format its projections are read in.</summary>
public sealed class InferenceWeights : IDisposable
{
    private readonly bool _ownsModel;

    private InferenceWeights(ModelWeights model, WeightFormat format, long bytes, bool ownsModel)
    {
        (Model, Format, Bytes, _ownsModel) = (model, format, bytes, ownsModel);
    }

    public ModelConfig Config => Model.Config;

    /// <summary>The model's own parameters and layer objects, which the runtime runs with gradients off over its KV cache:
    /// an optimizer step on them is seen by the next step (F32), or after <see cref="Refresh"/> (BF16, FP8).</summary>
    public ModelWeights Model { get; }

    public WeightFormat Format { get; }

    /// <summary>Bytes the runtime reads weights from: projections in their format (kv_b_proj's f32 widening included), the
    /// rest at their stored size (4 bytes, or 2 for an embedding read in place from a BF16 file). A BF16 or FP8 view built
    /// from an F32 master is held beside it, which is not counted.</summary>
    public long Bytes { get; private set; }

    /// <summary>Loads config.json and the weights of <paramref name="modelDir"/> (F32/BF16/F16/FP8 files) with views in
    /// <paramref name="format"/>. In BF16, the matrices a file stores as BF16 are read in place from the mapped files, with
    /// no F32 masters (<see cref="ModelWeights.MapBF16"/>): such a model is inference-only, and keeps the files mapped until
    /// disposed. F32 and FP8 load F32 masters and build their views from them.</summary>
    public static InferenceWeights Load(string modelDir, WeightFormat format)
    {
        if (format == WeightFormat.BF16) { return Own(ModelWeights.MapBF16(modelDir), format, null); }
        using var checkpoint = CheckpointDirectory.Open(modelDir);
        ConfigMismatch.EnsureMatches(checkpoint, checkpoint.Config); // before allocating weights of a config the tensors contradict
        return Own(new ModelWeights(checkpoint.Config), format, checkpoint);
    }

    // Fills a model this object will own from `source` (when given; mapped weights are filled already) and builds its
    // views, freeing it if either fails.
    private static InferenceWeights Own(ModelWeights model, WeightFormat format, CheckpointDirectory? source)
    {
        try
        {
            if (source is not null) { model.Load(source); }
            return new InferenceWeights(model, format, model.UseFormat(format, source), ownsModel: true);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Builds the views of F32 model weights in <paramref name="format"/> (replacing any the model had); with
    /// <paramref name="source"/>, FP8 projections stored as FP8 there are taken as stored. The model stays its owner's and
    /// must outlive every runner over it: the runtime reads it in place.</summary>
    public static InferenceWeights From(ModelWeights weights, WeightFormat format, CheckpointDirectory? source = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.DType != DType.F32) { throw new ArgumentException($"inference weights are built from F32 model weights; got {weights.DType}", nameof(weights)); }
        return new InferenceWeights(weights, format, weights.UseFormat(format, source), ownsModel: false);
    }

    /// <summary>Rebuilds the views from the masters as they are now, after optimizer steps (F32 views need nothing: they read
    /// the masters in place; nor do BF16 views read in place from a mapped file). FP8 codes a checkpoint stored are
    /// replaced by the masters' own quantization.</summary>
    public void Refresh() => Bytes = Model.UseFormat(Format);

    /// <summary>Frees a model this object loaded (one given to <see cref="From"/> stays its owner's).</summary>
    public void Dispose()
    {
        if (_ownsModel) { Model.Dispose(); }
    }
}
