// ColumnArithmetic.cs: the generator of column addition (with carries), subtraction (with borrows, sometimes a negative
// result) and multiplication (digit by digit for a one-digit factor, else partial products over place values), worked
// step by step, at a level of 1–6 digits (the longer operand's). Not here: the split (ProblemGenerator.cs), the corpus
// frames (ReasoningCorpus.cs). Tested by ProblemGeneratorTests and ReasoningCorpusTests.
using System.Text;
using SharpSeek.Training.Data;
using static SharpSeek.Training.Tasks.ProblemText;

namespace SharpSeek.Training.Tasks;

internal static class ColumnArithmetic
{
    private static readonly string[] ColumnNames = ["ones", "tens", "hundreds", "thousands", "ten-thousands", "hundred-thousands"];

    /// <summary>One operand has exactly <paramref name="digits"/> digits, the other 1 to that many.</summary>
    public static WorkedProblem Add(ref SplitMix64 rng, int digits)
    {
        long a = Operand(ref rng, digits, digits), b = Operand(ref rng, 1, digits);
        if (rng.Chance(0.5)) { (a, b) = (b, a); }
        var sum = a + b;
        var question = rng.Next(4) switch
        {
            0 => $"What is {N(a)} + {N(b)}?",
            1 => $"Compute {N(a)} + {N(b)}.",
            2 => $"Find the sum of {N(a)} and {N(b)}.",
            _ => $"Add {N(a)} and {N(b)}.",
        };
        var named = rng.Chance(0.5);
        var t = new StringBuilder(named ? "Add the digits column by column, starting from the ones.\n" : "Line up the digits and add from the right, carrying when a column reaches 10.\n");
        int[] da = Digits(a), db = Digits(b);
        var columns = Math.Max(da.Length, db.Length);
        var carry = 0;
        for (var c = 0; c < columns; c++)
        {
            var terms = new List<int>(3);
            if (c < da.Length) { terms.Add(da[c]); }
            if (c < db.Length) { terms.Add(db[c]); }
            if (carry > 0) { terms.Add(carry); }
            var s = terms.Sum();
            t.Append(Label(named, c)).Append(": ");
            if (terms.Count > 1) { t.Append(string.Join(" + ", terms.Select(v => N(v)))).Append(" = ").Append(N(s)).Append(", "); }
            var last = c == columns - 1;
            t.Append("write ").Append(N(last ? s : s % 10));
            carry = last ? 0 : s / 10;
            t.Append(carry > 0 ? $", carry {N(carry)}\n" : "\n");
        }
        t.Append($"So {N(a)} + {N(b)} = {N(sum)}.");
        if (rng.Chance(0.4)) { t.Append($"\nCheck: {N(sum)} - {N(b)} = {N(a)}. Correct."); }
        return new(TaskFamily.Add, digits, $"add {N(Math.Min(a, b))}+{N(Math.Max(a, b))}", question, t.ToString(), N(sum));
    }

    /// <summary>The larger operand has exactly <paramref name="digits"/> digits; usually it comes first, sometimes
    /// second for a negative result.</summary>
    public static WorkedProblem Sub(ref SplitMix64 rng, int digits)
    {
        long a = Operand(ref rng, digits, digits), b = Operand(ref rng, 1, digits);
        while (a == b) { b = Operand(ref rng, 1, digits); }
        long big = Math.Max(a, b), small = Math.Min(a, b);
        var (x, y) = rng.Chance(0.15) ? (small, big) : (big, small);
        var question = rng.Next(4) switch
        {
            0 => $"What is {N(x)} - {N(y)}?",
            1 => $"Compute {N(x)} - {N(y)}.",
            2 => $"Subtract {N(y)} from {N(x)}.",
            _ => $"Find the difference {N(x)} - {N(y)}.",
        };
        var named = rng.Chance(0.5);
        var t = new StringBuilder();
        if (x < y) { t.Append($"{N(y)} is larger, so compute {N(y)} - {N(x)} and make it negative.\n"); }
        t.Append("Subtract column by column from the right, borrowing 10 when needed.\n");
        // Column c: top - borrowIn - bottom, plus 10 (and a borrow from the next column) when that is negative.
        int[] dt = Digits(big), ds = Digits(small);
        var borrow = 0;
        for (var c = 0; c < dt.Length; c++)
        {
            int top = dt[c], bottom = c < ds.Length ? ds[c] : 0;
            t.Append(Label(named, c)).Append(": ");
            if (c >= ds.Length && borrow == 0)
            {
                t.Append($"write {N(top)}\n");
                continue;
            }
            var r = top - borrow - bottom;
            var lend = r < 0;
            var terms = new StringBuilder(lend ? $"10 + {N(top)}" : N(top));
            if (borrow > 0) { terms.Append(" - 1"); }
            if (c < ds.Length) { terms.Append($" - {N(bottom)}"); }
            if (lend) { r += 10; }
            t.Append($"{terms} = {N(r)}, write {N(r)}").Append(lend ? ", borrow 1\n" : "\n");
            borrow = lend ? 1 : 0;
        }
        t.Append($"So {N(x)} - {N(y)} = {N(x - y)}.");
        if (rng.Chance(0.4)) { t.Append($"\nCheck: {N(big - small)} + {N(small)} = {N(big)}. Correct."); }
        return new(TaskFamily.Sub, digits, $"sub {N(x)}-{N(y)}", question, t.ToString(), N(x - y));
    }

    /// <summary>One factor has exactly <paramref name="digits"/> digits, the other 1 to that many.</summary>
    public static WorkedProblem Mul(ref SplitMix64 rng, int digits)
    {
        long a = Operand(ref rng, digits, digits), b = Operand(ref rng, 1, digits);
        if (rng.Chance(0.5)) { (a, b) = (b, a); }
        var product = a * b;
        var question = rng.Next(4) switch
        {
            0 => $"What is {N(a)} * {N(b)}?",
            1 => $"Compute {N(a)} * {N(b)}.",
            2 => $"Find the product of {N(a)} and {N(b)}.",
            _ => $"Multiply {N(a)} by {N(b)}.",
        };
        var t = new StringBuilder();
        if (b < 10)
        {
            // a * b digit by digit: s = b * digit + carry, write s mod 10, carry s / 10.
            t.Append($"Multiply each digit of {N(a)} by {N(b)}, starting from the right.\n");
            var da = Digits(a);
            var carry = 0L;
            for (var c = 0; c < da.Length; c++)
            {
                var s = (b * da[c]) + carry;
                t.Append($"{N(b)} * {N(da[c])}");
                if (carry > 0) { t.Append($" + {N(carry)}"); }
                var last = c == da.Length - 1;
                t.Append($" = {N(s)}, write {N(last ? s : s % 10)}");
                carry = last ? 0 : s / 10;
                t.Append(carry > 0 ? $", carry {N(carry)}\n" : "\n");
            }
        }
        else
        {
            // Distribute over the place values of one factor: a * b = sum of a * (digit * 10^k).
            var splitFirst = rng.Chance(0.5);
            var (split, other) = splitFirst ? (a, b) : (b, a);
            if (PlaceValues(split).Count == 1) { (split, other, splitFirst) = (other, split, !splitFirst); }
            var parts = PlaceValues(split);
            if (parts.Count > 1) { t.Append($"Split {N(split)} into {JoinWords(parts.ConvertAll(N))}.\n"); }
            foreach (var part in parts)
            {
                t.Append(splitFirst ? $"{N(part)} * {N(other)} = {N(part * other)}\n" : $"{N(other)} * {N(part)} = {N(part * other)}\n");
            }
            if (parts.Count > 1) { t.Append($"Add the partial products: {string.Join(" + ", parts.Select(p => N(p * other)))} = {N(product)}\n"); }
        }
        t.Append($"So {N(a)} * {N(b)} = {N(product)}.");
        if (rng.Chance(0.3)) { t.Append($"\nCheck: {N(product)} / {N(b)} = {N(a)}. Correct."); }
        return new(TaskFamily.Mul, digits, $"mul {N(Math.Min(a, b))}*{N(Math.Max(a, b))}", question, t.ToString(), N(product));
    }

    private static string Label(bool named, int column) => named ? ColumnNames[column] : $"column {N(column + 1)}";

    /// <summary>A number with between minDigits and maxDigits digits, never 0.</summary>
    private static long Operand(ref SplitMix64 rng, int minDigits, int maxDigits)
    {
        var digits = rng.Next(minDigits, maxDigits);
        var lo = digits == 1 ? 1 : (int)Math.Pow(10, digits - 1);
        return rng.Next(lo, ((int)Math.Pow(10, digits)) - 1);
    }

    /// <summary>Decimal digits, least significant first.</summary>
    private static int[] Digits(long v)
    {
        var s = N(v);
        var d = new int[s.Length];
        for (var i = 0; i < s.Length; i++) { d[i] = s[s.Length - 1 - i] - '0'; }
        return d;
    }

    /// <summary>The nonzero place values of v, largest first: 4072 → 4000, 70, 2.</summary>
    private static List<long> PlaceValues(long v)
    {
        var d = Digits(v);
        var parts = new List<long>();
        for (var i = d.Length - 1; i >= 0; i--)
        {
            if (d[i] != 0) { parts.Add(d[i] * (long)Math.Pow(10, i)); }
        }
        return parts;
    }
}
