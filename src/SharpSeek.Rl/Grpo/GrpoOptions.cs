// GrpoOptions.cs: the knobs of the GRPO objective, with the names and defaults the open trainers use (huggingface/trl:
// trl/trainer/grpo_config.py; DAPO arXiv 2503.14476 §3; Dr. GRPO arXiv 2503.20783 §3). Not here: sampling and schedule
// settings (RlOptions), the computation (GrpoObjective, GroupAdvantages). Tested by GrpoObjectiveTests and GroupAdvantagesTests.
namespace SharpSeek.Rl.Grpo;

/// <summary>How a sample's reward becomes its advantage inside its group of G.</summary>
public enum AdvantageScale
{
    /// <summary>(r − mean) / (std + ε): DeepSeekMath §4.1.2 and DeepSeek-R1 §2.2.1, Eq. 3.</summary>
    Group,

    /// <summary>r − mean, no division: Dr. GRPO (arXiv 2503.20783 §3.2), which removes the question-difficulty bias.</summary>
    None,
}

/// <summary>Which standard deviation <see cref="AdvantageScale.Group"/> divides by (the papers do not say; trainers differ).</summary>
public enum StdKind
{
    /// <summary>Bessel-corrected, n − 1 (TRL, verl).</summary>
    Sample,

    /// <summary>Divided by n (nano-aha-moment, minimind).</summary>
    Population,
}

/// <summary>How per-token losses are summed into the update's loss (the normalizer each trainer uses).</summary>
public enum LossAggregation
{
    /// <summary>Mean over each sequence's tokens, then mean over sequences (DeepSeekMath Eq. 3; has a length bias).</summary>
    Grpo,

    /// <summary>Sum over the micro-batch's tokens divided by its token count (TRL's "bnpo").</summary>
    Bnpo,

    /// <summary>Sum divided by the tokens of the whole update (DAPO's token-level loss, arXiv 2503.14476 Eq. 12).</summary>
    Dapo,

    /// <summary>Sum divided by (sequences × max completion length), a constant (Dr. GRPO).</summary>
    DrGrpo,
}

/// <summary>The objective's settings. Defaults: group-normalized advantages, DAPO's token-level loss and clip-higher, no KL.</summary>
public sealed record GrpoOptions
{
    public AdvantageScale Scale { get; init; } = AdvantageScale.Group;

    public StdKind Std { get; init; } = StdKind.Sample;

    /// <summary>ε added to the std before dividing.</summary>
    public double StdEpsilon { get; init; } = 1e-4;

    public LossAggregation Loss { get; init; } = LossAggregation.Dapo;

    /// <summary>ε_low: the ratio is clipped below at 1 − ε_low.</summary>
    public double ClipLow { get; init; } = 0.2;

    /// <summary>ε_high: the ratio is clipped above at 1 + ε_high (DAPO's clip-higher uses 0.28).</summary>
    public double ClipHigh { get; init; } = 0.28;

    /// <summary>β of the k3 KL penalty to the reference policy (0: no reference model is kept).</summary>
    public double Beta { get; init; }

    /// <summary>When set, each token's k3 is clamped to [−c, c] (verl's low_var_kl uses 10); a clamped token passes no gradient.</summary>
    public double? KlClamp { get; init; }

    public void Validate()
    {
        if (!(StdEpsilon >= 0) || double.IsInfinity(StdEpsilon)) { throw new ArgumentOutOfRangeException(nameof(StdEpsilon), StdEpsilon, "the std ε must be a finite number ≥ 0"); }
        if (!(ClipLow is >= 0 and < 1)) { throw new ArgumentOutOfRangeException(nameof(ClipLow), ClipLow, "ε_low must be in [0, 1): the ratio's lower clip 1 − ε_low must stay positive"); }
        if (!(ClipHigh >= 0) || double.IsInfinity(ClipHigh)) { throw new ArgumentOutOfRangeException(nameof(ClipHigh), ClipHigh, "ε_high must be a finite number ≥ 0"); }
        if (!(Beta >= 0) || double.IsInfinity(Beta)) { throw new ArgumentOutOfRangeException(nameof(Beta), Beta, "β (the KL weight) must be a finite number ≥ 0"); }
        if (KlClamp is { } c && !(c > 0)) { throw new ArgumentOutOfRangeException(nameof(KlClamp), KlClamp, "the KL clamp must be positive"); }
    }
}
