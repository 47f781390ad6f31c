// ModelWeights.Mapped.cs: weights loaded for inference only from BF16 checkpoint files, their matrices read in place from
// the memory-mapped shards: a BF16 safetensors tensor is row-major (out, in), exactly the layout a BF16 Projection reads
// (huggingface/safetensors:README.md), so a view over the mapped bytes is the same weights bit for bit as a BF16 copy of
// F32 masters widened from them, without the masters (4 bytes a weight) or the copy (2 more). The embedding is read in
// place too (one row widened per token), and a tied head's view is the same bytes. Norms, biases, the router and any
// tensor stored in another dtype get F32 masters as Load gives them. Such weights cannot train or take another format:
// whatever needs the masters throws NoMasters, saying how to load them instead. Not here: mapping and bounds checks
// (CheckpointDirectory.InPlace, SafeTensorsFile), the views (Projection). Tested by MappedWeightsTests.
using SharpSeek.Model.Checkpoint;
using SharpSeek.Tensors;

namespace SharpSeek.Model;

public sealed partial class ModelWeights
{
    /// <summary>True for weights from <see cref="MapBF16"/> that read tensors in place from mapped files: they hold no
    /// F32 masters for those, so they cannot train, load other values or build F32/FP8 views.</summary>
    public bool IsInferenceOnly => _mapped is not null;

    /// <summary>
    /// Loads <paramref name="modelDir"/> for inference with BF16 views. Every matrix the layers read through a projection
    /// (attention, MLP and expert projections, eh_proj, lm_head) and the embedding, when stored as BF16 with its expected
    /// shape, is read in place from its memory-mapped shard after the shard's header was validated: nothing is copied and
    /// no F32 master is allocated. The rest (norms, biases, the router, a tensor stored as F32, F16 or FP8) is converted
    /// into F32 masters as <see cref="Load(CheckpointDirectory)"/> does. The weights keep the files mapped until
    /// <see cref="Dispose"/> and are <see cref="IsInferenceOnly"/> (when no tensor could be read in place, they are
    /// ordinary F32 weights and the files are closed). Build their views with <c>UseFormat(WeightFormat.BF16)</c>.
    /// </summary>
    public static ModelWeights MapBF16(string modelDir)
    {
        var checkpoint = CheckpointDirectory.Open(modelDir);
        ModelWeights? model = null;
        try
        {
            var config = checkpoint.Config;
            ConfigMismatch.EnsureMatches(checkpoint, config);
            var inPlace = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            // Every rank-2 tensor but the router's gate (Moe.Infer reads it as F32) is a projection's weight or the embedding.
            foreach (var s in ParameterShapes.For(config).Where(s => s.Shape.Length == 2 && s.Component != ParameterComponent.Router
                && WeightNames.SharedAlias(config, s.Name) is null))
            {
                if (checkpoint.InPlace(s.Name, DType.BF16, [s.Shape[0], s.Shape[1]]) is { } held) { inPlace.Add(s.Name, held); }
            }
            model = new ModelWeights(config, DType.F32, withGradients: false, inPlace, inPlace.Count > 0 ? checkpoint : null);
            foreach (var p in model._unique.Where(p => p.Value.DType == DType.F32)) { checkpoint.ReadWeight(p.Name, p.Value.AsSpan<float>()); }
            if (inPlace.Count == 0) { checkpoint.Dispose(); }
            return model;
        }
        catch
        {
            model?.Dispose();
            checkpoint.Dispose();
            throw;
        }
    }

    /// <summary>Throws the error of <see cref="NoMasters"/> when these weights are <see cref="IsInferenceOnly"/>;
    /// <paramref name="what"/> names what needed the masters.</summary>
    public void EnsureMasters(string what)
    {
        if (IsInferenceOnly) { throw NoMasters(what); }
    }

    /// <summary>The error for <paramref name="what"/> needing F32 masters that weights loaded by <see cref="MapBF16"/> lack.</summary>
    public static InvalidOperationException NoMasters(string what) => new(
        $"{what} needs F32 master weights, but this model was loaded inference-only from BF16 checkpoint files (ModelWeights.MapBF16, "
        + "which InferenceWeights.Load uses for BF16): its matrices are read in place from the files, with no F32 masters. To train it "
        + "or build views in another format, load it with F32 masters: new ModelWeights(config) and Load(checkpoint), as training does, "
        + "or InferenceWeights.Load with WeightFormat.F32 or Fp8 (--dtype f32 or fp8).");
}
