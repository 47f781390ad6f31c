// NumericAnswer.cs: reads an answer that is a number and nothing else: an optional sign (+, -, or the Unicode minus
// U+2212), digits with optional thousands separators ("1,234,567"), an optional decimal part; surrounding whitespace is
// ignored. Units, currency signs and trailing words make it not a number, so an answer must be the number itself (a
// lenient reader would pay "42 or 43"). Not here: where the answer is (CompletionTags.cs). Tested by NumericAnswerTests.
using System.Globalization;
using System.Numerics;
using System.Text;

namespace SharpSeek.Rl.Rewards;

internal static class NumericAnswer
{
    // A longer answer is not a number we score (and BigInteger parsing is quadratic in the digits).
    private const int MaxChars = 400;

    /// <summary>The exact value of <paramref name="text"/>: "1,234" = "1234" = "1234.0" = "+1234"; "−5" = "-5".</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out Rational value)
    {
        value = default;
        var s = text.Trim();
        if (s.Length == 0 || s.Length > MaxChars) { return false; }
        var negative = s[0] is '-' or '\u2212';
        if (negative || s[0] == '+') { s = s[1..]; }

        // Integer part: plain digits, or 1–3 digits then groups of ",ddd".
        var digits = new StringBuilder();
        var run = Digits(s);
        digits.Append(s[..run]);
        var i = run;
        if (i < s.Length && s[i] == ',')
        {
            if (run is 0 or > 3) { return false; }
            while (i < s.Length && s[i] == ',')
            {
                var group = Digits(s[(i + 1)..]);
                if (group != 3) { return false; }
                digits.Append(s.Slice(i + 1, 3));
                i += 4;
            }
        }
        var scale = 0;
        if (i < s.Length && s[i] == '.')
        {
            scale = Digits(s[(i + 1)..]);
            digits.Append(s.Slice(i + 1, scale));
            i += 1 + scale;
        }
        if (i != s.Length || digits.Length == 0) { return false; }
        var n = BigInteger.Parse(digits.ToString(), NumberStyles.None, CultureInfo.InvariantCulture);
        value = Rational.Of(negative ? -n : n, BigInteger.Pow(10, scale));
        return true;
    }

    private static int Digits(ReadOnlySpan<char> s)
    {
        var n = 0;
        while (n < s.Length && char.IsAsciiDigit(s[n])) { n++; }
        return n;
    }
}
