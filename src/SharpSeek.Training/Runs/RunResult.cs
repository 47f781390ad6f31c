// RunResult.cs: what TrainingRun.Run reports when it stops: where it stopped, the checkpoint on disk and the last losses.
// Not here: per-step metrics (MetricsRecord). Tested by TrainingRunTests.
namespace SharpSeek.Training.Runs;

/// <summary>The end of a (possibly interrupted) training run.</summary>
/// <param name="Step">The last step completed.</param>
/// <param name="CheckpointStep">The step of the checkpoint now on disk.</param>
/// <param name="FirstLoss">The loss of the first step of this session.</param>
/// <param name="LastLoss">The loss of the last step.</param>
/// <param name="EvalLoss">The last eval loss, if any.</param>
/// <param name="Completed">True when the run reached its step count (false when cancelled).</param>
public sealed record RunResult(long Step, long CheckpointStep, double FirstLoss, double LastLoss, double? EvalLoss, bool Completed);
