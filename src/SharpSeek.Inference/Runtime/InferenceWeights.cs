// InferenceWeights.cs: a model held for inference: its ModelWeights (the layer objects the runtime runs, the weights
// stored once) and the format its projections' views were built in (ModelWeights.UseFormat: F32 reads the masters in
// place, BF16 and FP8 are converted, FP8 stored as FP8 in the checkpoint is kept bit for bit), for any model family.
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
    /// rest at 4 bytes. A BF16 or FP8 view is held beside its F32 master, which is not counted.</summary>
    public long Bytes { get; private set; }

    /// <summary>Loads config.json and the weights of <paramref name="modelDir"/> (F32/BF16/F16/FP8 files) with views in <paramref name="format"/>.</summary>
    public static InferenceWeights Load(string modelDir, WeightFormat format)
    {
        using var checkpoint = CheckpointDirectory.Open(modelDir);
        ConfigMismatch.EnsureMatches(checkpoint, checkpoint.Config); // before allocating weights of a config the tensors contradict
        var model = new ModelWeights(checkpoint.Config);
        try
        {
            model.Load(checkpoint);
            return new InferenceWeights(model, format, model.UseFormat(format, checkpoint), ownsModel: true);
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
    /// the masters in place). FP8 codes a checkpoint stored are replaced by the masters' own quantization.</summary>
    public void Refresh() => Bytes = Model.UseFormat(Format);

    /// <summary>Frees a model this object loaded (one given to <see cref="From"/> stays its owner's).</summary>
    public void Dispose()
    {
        if (_ownsModel) { Model.Dispose(); }
    }
}
