// LossParts.cs: the objective's value split into its terms, for logging. Not here: computing them (Objective).
// Tested by ObjectiveTests.
namespace SharpSeek.Training;

/// <summary>Total = Main + MtpWeight·Mtp + Balance. Mtp is the mean over depths of the MTP cross-entropies (unweighted);
/// Balance is already multiplied by its α. A struct, so that computing the objective allocates nothing.</summary>
public readonly record struct LossParts(double Total, double Main, double Mtp, double Balance);
