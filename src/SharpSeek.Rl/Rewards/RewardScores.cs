// RewardScores.cs: one completion's scores: each reward's value (null: unscorable) in the set's order, and their
// weighted total (null when a reward that carries weight could not score). Not here: computing them (RewardSet.cs).
// Tested by RewardSetTests.
namespace SharpSeek.Rl.Rewards;

/// <summary><paramref name="Values"/>[k] is reward k's score; <paramref name="Total"/> = Σ_k w_k · Values[k] over the
/// rewards with w_k ≠ 0, or null when one of those is null.</summary>
public sealed record RewardScores(IReadOnlyList<double?> Values, double? Total);
