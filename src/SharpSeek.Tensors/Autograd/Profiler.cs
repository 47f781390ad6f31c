// Profiler.cs: attributes wall time to a few categories (GEMM, attention, MoE routing/dispatch, optimizer) through
// regions that ops open around their work. Regions nest and time is exclusive: an inner region's time is taken out of
// the enclosing one, so nothing is counted twice. Off by default; when off a region is one static bool test and
// allocates nothing. The accounting is per thread (the thread that runs the ops; kernels' worker threads are inside
// the region of the op that started them). Not here: the categories (ProfileCategory.cs), what a step is (the
// benchmark). Tested by ProfilerTests.
using System.Diagnostics;

namespace SharpSeek.Tensors.Autograd;

/// <summary>Per-category accumulated time of regions opened with <see cref="Region"/> while <see cref="Enabled"/>.</summary>
public static class Profiler
{
    private const int MaxDepth = 32;
    private const int Categories = (int)ProfileCategory.Quantize + 1;

    private static volatile bool s_enabled;

    [ThreadStatic] private static long[]? s_ticks;
    [ThreadStatic] private static ProfileCategory[]? s_stack;
    [ThreadStatic] private static int s_depth;
    [ThreadStatic] private static long s_last;

    /// <summary>Turns recording on or off for every thread. Regions already open still close correctly.</summary>
    public static bool Enabled
    {
        get => s_enabled;
        set => s_enabled = value;
    }

    /// <summary>The category of the innermost open region on this thread (<see cref="ProfileCategory.Other"/> when none).</summary>
    public static ProfileCategory Current => s_depth > 0 ? s_stack![s_depth - 1] : ProfileCategory.Other;

    /// <summary>Opens a region; dispose it (a <c>using</c>) to close it. A no-op returning a closed region when disabled.</summary>
    public static ProfileRegion Region(ProfileCategory category) => s_enabled ? Enter(category) : default;

    /// <summary>This thread's accumulated time in <paramref name="category"/>, in <see cref="Stopwatch"/> ticks.</summary>
    public static long Ticks(ProfileCategory category) => s_ticks is { } t ? t[(int)category] : 0;

    /// <summary>This thread's accumulated time in <paramref name="category"/>, in seconds.</summary>
    public static double Seconds(ProfileCategory category) => (double)Ticks(category) / Stopwatch.Frequency;

    /// <summary>Clears this thread's totals; open regions keep running from now.</summary>
    public static void Reset()
    {
        if (s_ticks is { } t) { Array.Clear(t); }
        s_last = Stopwatch.GetTimestamp();
    }

    private static ProfileRegion Enter(ProfileCategory category)
    {
        s_ticks ??= new long[Categories];
        s_stack ??= new ProfileCategory[MaxDepth];
        if (s_depth == MaxDepth)
        {
            throw new InvalidOperationException($"profiler regions nested deeper than {MaxDepth}; expected every region to be disposed");
        }
        var now = Stopwatch.GetTimestamp();
        if (s_depth > 0) { s_ticks[(int)s_stack[s_depth - 1]] += now - s_last; }
        s_stack[s_depth++] = category;
        s_last = now;
        return new ProfileRegion(true);
    }

    internal static void Exit()
    {
        if (s_depth == 0) { return; } // a Reset between open and close: nothing to charge
        var now = Stopwatch.GetTimestamp();
        s_ticks![(int)s_stack![--s_depth]] += now - s_last;
        s_last = now;
    }

    /// <summary>Closes every open region on this thread without charging them (after an exception left some open).</summary>
    public static void ClearRegions() => s_depth = 0;
}
