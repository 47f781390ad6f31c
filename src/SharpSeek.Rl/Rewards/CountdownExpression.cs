// CountdownExpression.cs: checks a countdown answer with our own small parser, never an evaluator of arbitrary code:
// integers, + - * / (also −, × and ÷), parentheses and spaces; no unary minus (a given number is positive and 5 - 3
// says what -3 + 5 says), no decimals. Values are exact rationals, so 6 / 4 * 2 is exactly 3 and non-integer
// intermediate results are fine; dividing by zero makes the answer wrong. The integers written must be the given
// numbers as a multiset, each used exactly once. An equation "expr = N" is accepted when N is the target too (the
// corpus's worked solutions end "So expr = target."). Not here: finding the answer block (CompletionTags.cs). Tested by
// CountdownExpressionTests.
using System.Globalization;
using System.Numerics;

namespace SharpSeek.Rl.Rewards;

internal static class CountdownExpression
{
    // An answer longer than this, or nested deeper, is wrong: four numbers need neither, and a bound keeps a
    // pathological completion from costing time or stack.
    private const int MaxChars = 1000;
    private const int MaxDepth = 32;

    /// <summary>True when <paramref name="text"/> (optionally followed by "= <paramref name="target"/>") evaluates to
    /// <paramref name="target"/> and writes exactly <paramref name="numbers"/>, each once, in any order.</summary>
    public static bool Solves(string text, IReadOnlyList<int> numbers, long target)
    {
        if (text.Length > MaxChars) { return false; }
        var goal = Rational.Of(target, 1);
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        var expression = equals < 0 ? text : text[..equals];
        if (equals >= 0 && (!NumericAnswer.TryParse(text.AsSpan(equals + 1), out var stated) || stated != goal)) { return false; }
        if (!TryEvaluate(expression, out var value, out var literals)) { return false; }
        return value == goal && literals.Order().SequenceEqual(numbers.Select(n => new BigInteger(n)).Order());
    }

    /// <summary>The value of an expression and the integers it writes, in order; false when it is not an expression
    /// of the grammar or divides by zero.</summary>
    public static bool TryEvaluate(string text, out Rational value, out List<BigInteger> literals)
    {
        var parser = new Parser(text);
        literals = parser.Literals;
        value = default;
        if (!parser.Sum(out value)) { return false; }
        parser.SkipSpaces();
        return parser.AtEnd;
    }

    private sealed class Parser(string text)
    {
        private int _pos;
        private int _depth;

        public List<BigInteger> Literals { get; } = [];

        public bool AtEnd => _pos == text.Length;

        // sum := product (("+" | "-" | "−") product)*
        public bool Sum(out Rational value)
        {
            if (!Product(out value)) { return false; }
            while (true)
            {
                SkipSpaces();
                if (AtEnd || text[_pos] is not ('+' or '-' or '\u2212')) { return true; }
                var add = text[_pos++] == '+';
                if (!Product(out var right)) { return false; }
                value = add ? value + right : value - right;
            }
        }

        // product := atom (("*" | "×" | "/" | "÷") atom)*
        private bool Product(out Rational value)
        {
            if (!Atom(out value)) { return false; }
            while (true)
            {
                SkipSpaces();
                if (AtEnd || text[_pos] is not ('*' or '\u00D7' or '/' or '\u00F7')) { return true; }
                var multiply = text[_pos] is '*' or '\u00D7';
                _pos++;
                if (!Atom(out var right)) { return false; }
                if (!multiply && right.IsZero) { return false; }
                value = multiply ? value * right : value / right;
            }
        }

        // atom := integer | "(" sum ")"
        private bool Atom(out Rational value)
        {
            value = default;
            SkipSpaces();
            if (AtEnd) { return false; }
            if (text[_pos] == '(')
            {
                if (++_depth > MaxDepth) { return false; }
                _pos++;
                if (!Sum(out value)) { return false; }
                SkipSpaces();
                if (AtEnd || text[_pos] != ')') { return false; }
                _pos++;
                _depth--;
                return true;
            }
            var start = _pos;
            while (!AtEnd && char.IsAsciiDigit(text[_pos])) { _pos++; }
            if (_pos == start) { return false; }
            var n = BigInteger.Parse(text.AsSpan(start, _pos - start), NumberStyles.None, CultureInfo.InvariantCulture);
            Literals.Add(n);
            value = Rational.Of(n, 1);
            return true;
        }

        public void SkipSpaces()
        {
            while (!AtEnd && char.IsWhiteSpace(text[_pos])) { _pos++; }
        }
    }
}
