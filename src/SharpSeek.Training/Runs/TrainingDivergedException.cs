// TrainingDivergedException.cs: thrown when a step's loss or gradient norm is NaN or infinite, or an FP8 GEMM's input
// is (Fp8Quant's NonFiniteTensorException, from inside the step). Nothing of that step is
// written, so the run directory still holds the last good checkpoint. Not here: the check (TrainingRun).
// Tested by TrainingRunTests.
namespace SharpSeek.Training.Runs;

/// <summary>A NaN or infinite loss or gradient norm stopped the run.</summary>
public sealed class TrainingDivergedException : Exception
{
    public TrainingDivergedException(string quantity, double value, long step, long lastCheckpointStep)
        : base($"{quantity} became {(double.IsNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf")} at step {step}; "
            + (lastCheckpointStep > 0 ? $"the last good checkpoint is step {lastCheckpointStep}" : "no checkpoint was written yet"))
    {
        Step = step;
        LastCheckpointStep = lastCheckpointStep;
    }

    /// <summary>An FP8 quantizer met a NaN or infinity inside the step (the forward or backward of an FP8 Linear).</summary>
    public TrainingDivergedException(Exception nonFinite, long step, long lastCheckpointStep)
        : base($"a value became non-finite at step {step} ({nonFinite?.Message}); "
            + (lastCheckpointStep > 0 ? $"the last good checkpoint is step {lastCheckpointStep}" : "no checkpoint was written yet"), nonFinite)
    {
        Step = step;
        LastCheckpointStep = lastCheckpointStep;
    }

    public TrainingDivergedException() { }

    public TrainingDivergedException(string message) : base(message) { }

    public TrainingDivergedException(string message, Exception inner) : base(message, inner) { }

    public long Step { get; }

    /// <summary>The step of the checkpoint on disk (0: none).</summary>
    public long LastCheckpointStep { get; }
}
