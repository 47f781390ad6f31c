// UserError.cs: which exceptions a command reports as bad input or a failed run ("error: message" on stderr, exit code
// 1) rather than as a crash: I/O, malformed data, permissions, bad arguments, invalid state and a diverged training run.
// Not here: each command's own checks. Tested through the commands' BadInput tests.
using SharpSeek.Training.Runs;

namespace SharpSeek.Cli.Commands;

internal static class UserError
{
    public static bool Is(Exception e) =>
        e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException or InvalidOperationException or TrainingDivergedException;

    /// <summary>Writes "error: {message}" to <paramref name="to"/> (stderr by default) and returns exit code 1.</summary>
    public static int Report(Exception e, TextWriter? to = null)
    {
        ArgumentNullException.ThrowIfNull(e);
        (to ?? Console.Error).WriteLine($"error: {e.Message}");
        return 1;
    }
}
