// AdamWOptions.cs: AdamW's hyper-parameters, the paper's by default (DeepSeek-V3 technical report §4.2). Not here: the update (AdamW). Tested by
// AdamWTests.
using SharpSeek.Model.Layers;
using SharpSeek.Tensors;

namespace SharpSeek.Training;

/// <summary>β1 0.9, β2 0.95, ε 1e-8, decoupled weight decay 0.1 on matrices.</summary>
public sealed record AdamWOptions
{
    public double Beta1 { get; init; } = 0.9;

    public double Beta2 { get; init; } = 0.95;

    public double Eps { get; init; } = 1e-8;

    public double WeightDecay { get; init; } = 0.1;

    /// <summary>
    /// Also decay the vectors (RMSNorm gains). Off by default: decay pulls a gain toward 0 while its natural value is 1,
    /// and a norm has too few parameters to overfit; matrices (embeddings, projections, router, head) are decayed. The
    /// PyTorch reference decays every trainable tensor, so its golden test turns this on.
    /// </summary>
    public bool DecayNormsAndBiases { get; init; }

    /// <summary>
    /// The moments' dtype: null keeps the parameters' own; BF16 (F32 parameters only) stores m and v rounded to BF16 after
    /// each f32 update, as DeepSeek-V3's FP8 recipe does (technical report §3.3.3), halving the optimizer state.
    /// </summary>
    public DType? Moments { get; init; }

    /// <summary>The moments a precision mode trains with: BF16 under FP8 (the paper's recipe), the parameters' own otherwise.</summary>
    public static DType? MomentsFor(LinearPrecision precision) => precision == LinearPrecision.Fp8 ? DType.BF16 : null;
}
