// LrSchedule.cs: the learning rate per step (DeepSeek-V3 technical report §4.2): linear warm-up from 0 to the peak, constant at the peak until
// the decay starts, cosine decay to peak·minRatio at the last step, then constant. Warm-up + cosine is the case where the
// decay starts right after warm-up; warm-up-stable-decay (the paper's shape) keeps the peak until the last fraction of
// the steps. Not here: the optimizer (AdamW). Tested by LrScheduleTests.
namespace SharpSeek.Training;

/// <summary>A learning-rate schedule over optimizer steps 0 .. Total (step s is the s-th update, counted from 1, so a
/// trainer asks for <c>At(optimizer.StepCount + 1)</c>; At(0) = 0 when there is a warm-up).</summary>
public sealed record LrSchedule(double Peak, long Warmup, long DecayStart, long Total, double MinRatio)
{
    public double Peak { get; } = double.IsFinite(Peak) && Peak > 0 ? Peak
        : throw new ArgumentOutOfRangeException(nameof(Peak), $"peak learning rate must be finite and > 0; got {Peak}");

    public long Warmup { get; } = Warmup >= 0 ? Warmup
        : throw new ArgumentOutOfRangeException(nameof(Warmup), $"warm-up steps must be ≥ 0; got {Warmup}");

    public long DecayStart { get; } = DecayStart >= Warmup ? DecayStart
        : throw new ArgumentOutOfRangeException(nameof(DecayStart), $"decay must start at or after the warm-up ({Warmup}); got {DecayStart}");

    public long Total { get; } = Total >= DecayStart && Total > 0 ? Total
        : throw new ArgumentOutOfRangeException(nameof(Total), $"total steps must be > 0 and ≥ the decay start ({DecayStart}); got {Total}");

    public double MinRatio { get; } = MinRatio is >= 0 and <= 1 ? MinRatio
        : throw new ArgumentOutOfRangeException(nameof(MinRatio), $"min ratio must lie in [0, 1]; got {MinRatio}");

    /// <summary>Warm-up over <paramref name="warmup"/> steps, then cosine from the peak to peak·minRatio at <paramref name="total"/>.</summary>
    public static LrSchedule WarmupCosine(double peak, long warmup, long total, double minRatio = 0.1) =>
        new(peak, warmup, warmup, total, minRatio);

    /// <summary>Warm-up, the peak until the last <paramref name="decayFraction"/> of <paramref name="total"/> steps (never
    /// before the warm-up ends), then cosine down to peak·minRatio.</summary>
    public static LrSchedule WarmupStableDecay(double peak, long warmup, long total, double decayFraction = 0.2, double minRatio = 0.1)
    {
        if (!(decayFraction is > 0 and <= 1)) { throw new ArgumentOutOfRangeException(nameof(decayFraction), $"decay fraction must lie in (0, 1]; got {decayFraction}"); }
        return new(peak, warmup, Math.Max(warmup, total - (long)Math.Round(decayFraction * total)), total, minRatio);
    }

    /// <summary>The learning rate of update <paramref name="step"/>.</summary>
    public double At(long step)
    {
        if (step < 0) { throw new ArgumentOutOfRangeException(nameof(step), $"step must be ≥ 0; got {step}"); }
        if (step < Warmup) { return Peak * step / Warmup; }
        if (step < DecayStart) { return Peak; }
        if (step >= Total) { return Peak * MinRatio; }
        var progress = (double)(step - DecayStart) / (Total - DecayStart);
        return Peak * (MinRatio + ((1 - MinRatio) * 0.5 * (1 + Math.Cos(Math.PI * progress))));
    }
}
