// ProblemText.cs: how every generator writes numbers and lists (invariant culture, "a, b and c"). Not here: the
// problems. Tested through ProblemGeneratorTests.
using System.Globalization;

namespace SharpSeek.Training.Tasks;

internal static class ProblemText
{
    public static string N(long v) => v.ToString(CultureInfo.InvariantCulture);

    public static string JoinWords(IReadOnlyList<string> words) =>
        words.Count == 1 ? words[0] : $"{string.Join(", ", words.Take(words.Count - 1))} and {words[^1]}";
}
