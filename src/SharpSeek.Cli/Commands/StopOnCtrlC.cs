// StopOnCtrlC.cs: Ctrl+C as a request to stop after the current step (the training and RL loops then checkpoint and
// return) instead of killing the process; the handler is removed on dispose. Tested through TrainCommandTests and
// RlCommandTests (the commands run under it).
namespace SharpSeek.Cli.Commands;

internal sealed class StopOnCtrlC : IDisposable
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly ConsoleCancelEventHandler _handler;

    public StopOnCtrlC()
    {
        _handler = (_, e) =>
        {
            e.Cancel = true;
            _cancel.Cancel();
            Console.Error.WriteLine("stopping after this step; writing a checkpoint");
        };
        Console.CancelKeyPress += _handler;
    }

    public CancellationToken Token => _cancel.Token;

    public void Dispose()
    {
        Console.CancelKeyPress -= _handler;
        _cancel.Dispose();
    }
}
