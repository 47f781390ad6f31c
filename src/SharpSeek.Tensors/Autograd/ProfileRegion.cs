// ProfileRegion.cs: the handle of an open Profiler region; Dispose closes it. Not here: the accounting (Profiler.cs).
// Tested by ProfilerTests.
namespace SharpSeek.Tensors.Autograd;

/// <summary>An open profiler region (or a closed one, when profiling was off). Use with <c>using</c>.</summary>
public readonly ref struct ProfileRegion
{
    private readonly bool _open;

    internal ProfileRegion(bool open)
    {
        _open = open;
    }

    public void Dispose()
    {
        if (_open) { Profiler.Exit(); }
    }
}
