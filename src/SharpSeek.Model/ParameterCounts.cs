// ParameterCounts.cs: the figures `sharpseek info` prints. Not here: how they are counted (ParameterShapes.cs).
// Tested by ParameterShapesTests.
namespace SharpSeek.Model;

/// <summary>Parameter accounting of one config. "Main" is the model without MTP (layers below num_hidden_layers,
/// embedding, final norm, head). Activated = what one token touches: everything except the routed experts a token is
/// not sent to (top-k of E per MoE layer). The MTP figures include the module's stored copies of the embedding and head;
/// <see cref="MtpUnique"/> leaves them out.</summary>
public sealed record ParameterCounts(
    ParameterBreakdown Main,
    ParameterBreakdown MainActivated,
    ParameterBreakdown Mtp,
    ParameterBreakdown MtpActivated,
    int WeightTensors,
    int ScaleTensors,
    long ScaleElements)
{
    public long Total => Main.Total;

    public long Activated => MainActivated.Total;

    /// <summary>Activated parameters without the embedding table, which a token only reads one row of. DeepSeek quotes
    /// this convention for V2-Lite (2.4B) and README_WEIGHTS for V3 (36.7B); the paper's 37B includes it.</summary>
    public long ActivatedWithoutEmbedding => MainActivated.Total - MainActivated.Embedding;

    /// <summary>MTP elements without the copied embedding and head (11.61B for V3).</summary>
    public long MtpUnique => Mtp.Total - Mtp.Embedding - Mtp.Head;

    /// <summary>Everything the checkpoint stores as weights: main model plus MTP modules with their copies.</summary>
    public long StoredWeights => Main.Total + Mtp.Total;
}
