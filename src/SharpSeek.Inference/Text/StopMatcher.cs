// StopMatcher.cs: stop strings over streamed text. Text that could still grow into a stop string is held back; the
// rest goes out at once. The result does not depend on how the text is cut into pushes: generation stops where the
// first stop string ends (ties: the longer one, which starts earlier), exactly as if text came one char at a time.
// Not here: stop tokens (the engine compares ids). Tested by StopMatcherTests.
namespace SharpSeek.Inference.Text;

/// <summary>Finds stop strings in streamed text with hold-back. After a stop is found, the stop string and everything
/// after it are dropped and further pushes are an error.</summary>
public sealed class StopMatcher
{
    private readonly string[] _stops;
    private string _pending = "";
    private bool _stopped;

    public StopMatcher(IReadOnlyList<string> stops)
    {
        ArgumentNullException.ThrowIfNull(stops);
        foreach (var stop in stops)
        {
            if (string.IsNullOrEmpty(stop)) { throw new ArgumentException("stop strings must be non-empty", nameof(stops)); }
        }
        _stops = [.. stops];
    }

    /// <summary>Appends <paramref name="text"/>. Returns the text that is safe to emit now and whether a stop string
    /// matched (its text and anything after it are not emitted).</summary>
    public (string Emit, bool Stopped) Push(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (_stopped) { throw new InvalidOperationException("a stop string already matched; the generation is over"); }
        if (_stops.Length == 0) { return (text, false); }
        var pending = _pending + text;
        // The stop that ends first wins; among those ending at the same place, the longest (it starts first).
        var (bestStart, bestEnd) = (-1, int.MaxValue);
        foreach (var stop in _stops)
        {
            var at = pending.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (at + stop.Length < bestEnd || (at + stop.Length == bestEnd && at < bestStart)))
            {
                (bestStart, bestEnd) = (at, at + stop.Length);
            }
        }
        if (bestStart >= 0)
        {
            _stopped = true;
            _pending = "";
            return (pending[..bestStart], true);
        }
        var hold = HeldLength(pending);
        _pending = pending[^hold..];
        return (pending[..^hold], false);
    }

    /// <summary>The held-back text, at the end of generation (none of it completed a stop string).</summary>
    public string Flush()
    {
        var rest = _pending;
        _pending = "";
        return rest;
    }

    // The longest suffix of the text that is a proper prefix of some stop string.
    private int HeldLength(string text)
    {
        var hold = 0;
        foreach (var stop in _stops)
        {
            for (var n = Math.Min(stop.Length - 1, text.Length); n > hold; n--)
            {
                if (text.AsSpan(text.Length - n).SequenceEqual(stop.AsSpan(0, n)))
                {
                    hold = n;
                    break;
                }
            }
        }
        return hold;
    }
}
