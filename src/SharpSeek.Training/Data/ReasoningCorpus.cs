// ReasoningCorpus.cs: the built-in training text: arithmetic worked step by step (column addition with carries,
// subtraction with borrows, partial products), small word problems and countdown puzzles, each a question, a worked
// <think>…</think> section and the result in <answer>…</answer>, in R1-Zero's format so that a later stage can
// reason-tune the base model on the same tasks. Not here: tokenizing (DatasetBuilder.cs), rewards (the RL project).
// Tested by ReasoningCorpusTests.
using System.Globalization;
using System.Text;

namespace SharpSeek.Training.Data;

/// <summary>A deterministic generator of short worked problems (about 40–200 tokens each).</summary>
public static class ReasoningCorpus
{
    private static readonly string[] ColumnNames = ["ones", "tens", "hundreds", "thousands", "ten-thousands", "hundred-thousands"];
    private static readonly string[] Names = ["Ana", "Ben", "Chen", "Dara", "Eli", "Farah", "Gus", "Hana", "Ivan", "Jo", "Kofi", "Lena", "Maya", "Noor", "Omar", "Priya", "Ravi", "Sam", "Tara", "Yuki"];
    private static readonly string[] Items = ["apples", "marbles", "stickers", "books", "shells", "cards", "pencils", "coins", "stamps", "cookies"];
    private static readonly string[] Things = ["bike", "game", "jacket", "lamp", "kite", "radio"];
    private static readonly int[] BigNumbers = [25, 50, 75, 100];

    private readonly record struct Problem(string Question, string Think, string Answer);

    /// <summary>Yields <paramref name="documents"/> documents. Document i depends only on (<paramref name="seed"/>, i),
    /// so a longer corpus extends a shorter one with the same seed.</summary>
    public static IEnumerable<string> Generate(int seed, int documents)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(documents);
        return Iterate(seed, documents);
    }

    private static IEnumerable<string> Iterate(int seed, int documents)
    {
        for (var i = 0; i < documents; i++)
        {
            var rng = new SplitMix64(SplitMix64.Mix((uint)seed, (ulong)i));
            yield return Document(ref rng);
        }
    }

    private static string Document(ref SplitMix64 rng)
    {
        var p = rng.Next(100) switch
        {
            < 20 => Addition(ref rng),
            < 35 => Subtraction(ref rng),
            < 55 => Multiplication(ref rng),
            < 75 => WordProblem(ref rng),
            _ => Countdown(ref rng),
        };
        var body = $"<think>\n{p.Think}\n</think>\n<answer>{p.Answer}</answer>";
        return rng.Next(4) switch
        {
            0 => $"User: {p.Question}\nAssistant: {body}",
            1 => $"Problem: {p.Question}\n{body}",
            2 => $"User: {p.Question} Think in <think> </think> tags, then give the answer in <answer> </answer> tags.\nAssistant: Let me solve this step by step.\n{body}",
            _ => $"{p.Question}\n{body}",
        };
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Column arithmetic

    private static Problem Addition(ref SplitMix64 rng)
    {
        long a = Operand(ref rng, 2, 4), b = Operand(ref rng, 1, 4);
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
            if (terms.Count > 1) { t.Append(string.Join(" + ", terms.Select(N))).Append(" = ").Append(N(s)).Append(", "); }
            var last = c == columns - 1;
            t.Append("write ").Append(N(last ? s : s % 10));
            carry = last ? 0 : s / 10;
            t.Append(carry > 0 ? $", carry {N(carry)}\n" : "\n");
        }
        t.Append($"So {N(a)} + {N(b)} = {N(sum)}.");
        if (rng.Chance(0.4)) { t.Append($"\nCheck: {N(sum)} - {N(b)} = {N(a)}. Correct."); }
        return new(question, t.ToString(), N(sum));
    }

    private static Problem Subtraction(ref SplitMix64 rng)
    {
        long a = Operand(ref rng, 2, 4), b = Operand(ref rng, 1, 4);
        if (a == b) { a += 1 + rng.Next(9); }
        long big = Math.Max(a, b), small = Math.Min(a, b);
        // x - y as asked: usually the larger first; sometimes the smaller, for a negative result.
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
        return new(question, t.ToString(), N(x - y));
    }

    private static Problem Multiplication(ref SplitMix64 rng)
    {
        var a = Operand(ref rng, 2, 4);
        var b = rng.Chance(0.1) ? Operand(ref rng, 3, 3) : Operand(ref rng, 1, 2);
        if (b > a && rng.Chance(0.5)) { (a, b) = (b, a); }
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
            if (parts.Count > 1) { t.Append($"Split {N(split)} into {JoinWords(parts.Select(N).ToList())}.\n"); }
            foreach (var part in parts)
            {
                t.Append(splitFirst ? $"{N(part)} * {N(other)} = {N(part * other)}\n" : $"{N(other)} * {N(part)} = {N(part * other)}\n");
            }
            if (parts.Count > 1) { t.Append($"Add the partial products: {string.Join(" + ", parts.Select(p => N(p * other)))} = {N(product)}\n"); }
        }
        t.Append($"So {N(a)} * {N(b)} = {N(product)}.");
        if (rng.Chance(0.3)) { t.Append($"\nCheck: {N(product)} / {N(b)} = {N(a)}. Correct."); }
        return new(question, t.ToString(), N(product));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Word problems: two steps each, every step an equation.

    private static Problem WordProblem(ref SplitMix64 rng)
    {
        var name = rng.Pick(Names);
        var items = rng.Pick(Items);
        switch (rng.Next(7))
        {
            case 0:
                {
                    int a = rng.Next(3, 60), packs = rng.Next(2, 9), each = rng.Next(3, 25);
                    var inPacks = packs * each;
                    return new($"{name} has {N(a)} {items}. {name} buys {N(packs)} packs with {N(each)} {items} in each. How many {items} does {name} have now?",
                        $"The packs hold {N(packs)} * {N(each)} = {N(inPacks)} {items}.\nTogether: {N(a)} + {N(inPacks)} = {N(a + inPacks)}.", N(a + inPacks));
                }
            case 1:
                {
                    int a = rng.Next(20, 200), gave = rng.Next(2, a - 1), found = rng.Next(2, 60);
                    var friend = rng.Pick(Names);
                    var left = a - gave;
                    return new($"{name} had {N(a)} {items}, gave {N(gave)} to {friend}, and then found {N(found)} more. How many {items} does {name} have now?",
                        $"After giving some away: {N(a)} - {N(gave)} = {N(left)}.\nAfter finding more: {N(left)} + {N(found)} = {N(left + found)}.", N(left + found));
                }
            case 2:
                {
                    int friends = rng.Next(2, 12), each = rng.Next(2, 40);
                    var total = friends * each;
                    return new($"{N(friends)} friends share {N(total)} {items} equally. How many {items} does each friend get?",
                        $"Divide the {items} among the friends: {N(total)} / {N(friends)} = {N(each)}.\nCheck: {N(each)} * {N(friends)} = {N(total)}.", N(each));
                }
            case 3:
                {
                    int perBox = rng.Next(4, 60), boxes = rng.Next(3, 30), extra = rng.Next(1, perBox - 1);
                    var full = perBox * boxes;
                    return new($"A box holds {N(perBox)} {items}. {name} fills {N(boxes)} boxes and has {N(extra)} {items} left over. How many {items} did {name} start with?",
                        $"The full boxes hold {N(boxes)} * {N(perBox)} = {N(full)}.\nWith the leftovers: {N(full)} + {N(extra)} = {N(full + extra)}.", N(full + extra));
                }
            case 4:
                {
                    int weekly = rng.Next(3, 50), weeks = rng.Next(2, 20);
                    var saved = weekly * weeks;
                    var spent = rng.Next(1, saved - 1);
                    return new($"{name} saves {N(weekly)} dollars every week for {N(weeks)} weeks and then spends {N(spent)} dollars on a {rng.Pick(Things)}. How many dollars are left?",
                        $"Saved: {N(weekly)} * {N(weeks)} = {N(saved)}.\nLeft after spending: {N(saved)} - {N(spent)} = {N(saved - spent)}.", N(saved - spent));
                }
            case 5:
                {
                    int rows = rng.Next(3, 30), perRow = rng.Next(4, 25), added = rng.Next(2, 40);
                    var seats = rows * perRow;
                    return new($"A hall has {N(rows)} rows of {N(perRow)} chairs, and {N(added)} more chairs are brought in. How many chairs are there in total?",
                        $"Chairs in rows: {N(rows)} * {N(perRow)} = {N(seats)}.\nAdding the extra chairs: {N(seats)} + {N(added)} = {N(seats + added)}.", N(seats + added));
                }
            default:
                {
                    int price = rng.Next(2, 30), count = rng.Next(2, 12);
                    var cost = price * count;
                    var paid = ((cost / 10) + 1 + rng.Next(5)) * 10;
                    return new($"A notebook costs {N(price)} dollars. {name} buys {N(count)} notebooks and pays with {N(paid)} dollars. How much change does {name} get?",
                        $"Cost: {N(count)} * {N(price)} = {N(cost)}.\nChange: {N(paid)} - {N(cost)} = {N(paid - cost)}.", N(paid - cost));
                }
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Countdown: reach a target using each given number once with + - * /; the target comes from a random fold of the
    // numbers, so every puzzle has a solution. Sometimes a wrong attempt comes first.

    private static Problem Countdown(ref SplitMix64 rng)
    {
        while (true)
        {
            var numbers = new int[rng.Chance(0.5) ? 3 : 4];
            for (var i = 0; i < numbers.Length; i++) { numbers[i] = rng.Chance(0.25) ? rng.Pick(BigNumbers) : rng.Next(1, 20); }
            var solution = Fold(ref rng, Shuffled(ref rng, numbers));
            var target = solution.Value;
            if (target < 10 || target > 999 || numbers.Contains((int)target)) { continue; }

            var shown = Shuffled(ref rng, numbers);
            var list = rng.Chance(0.5) ? $"[{string.Join(", ", shown.Select(v => N(v)))}]" : JoinWords(shown.Select(v => N(v)).ToList());
            var question = rng.Next(3) switch
            {
                0 => $"Using the numbers {list}, create an equation that equals {N(target)}. You can use +, -, * and /, and each number only once.",
                1 => $"Reach {N(target)} using each of the numbers {list} exactly once with +, -, * and /.",
                _ => $"Countdown: the numbers are {list} and the target is {N(target)}. Use each number once.",
            };
            var t = new StringBuilder();
            if (rng.Chance(0.5))
            {
                var wrong = Fold(ref rng, Shuffled(ref rng, numbers));
                if (wrong.Value != target) { t.Append($"Try {wrong.Steps}. That gives {N(wrong.Value)}, not {N(target)}.\n"); }
            }
            t.Append($"Try {solution.Steps}. That gives {N(target)}.\nSo {solution.Expression} = {N(target)}.");
            return new(question, t.ToString(), solution.Expression);
        }
    }

    private readonly record struct FoldResult(long Value, string Expression, string Steps);

    /// <summary>Left fold of the numbers with random valid operations: - keeps the value positive, / is exact, * stays
    /// below 2000. The expression gets parentheses where * or / follows a + or -.</summary>
    private static FoldResult Fold(ref SplitMix64 rng, int[] numbers)
    {
        long acc = numbers[0];
        var expr = N(acc);
        var additive = false;
        var steps = new List<string>();
        var ops = new List<char>(4);
        for (var i = 1; i < numbers.Length; i++)
        {
            long x = numbers[i];
            ops.Clear();
            ops.Add('+');
            if (acc > x) { ops.Add('-'); }
            if (acc > 1 && x > 1 && acc * x < 2000) { ops.Add('*'); }
            if (x > 1 && acc % x == 0) { ops.Add('/'); }
            var op = rng.Pick(ops);
            var next = op switch { '+' => acc + x, '-' => acc - x, '*' => acc * x, _ => acc / x };
            steps.Add($"{N(acc)} {op} {N(x)} = {N(next)}");
            var multiplicative = op is '*' or '/';
            expr = multiplicative && additive ? $"({expr}) {op} {N(x)}" : $"{expr} {op} {N(x)}";
            additive = !multiplicative;
            acc = next;
        }
        return new(acc, expr, string.Join(", ", steps));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Helpers

    private static string N(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static string N(int v) => v.ToString(CultureInfo.InvariantCulture);

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

    private static string JoinWords(List<string> words) =>
        words.Count == 1 ? words[0] : $"{string.Join(", ", words.Take(words.Count - 1))} and {words[^1]}";

    private static int[] Shuffled(ref SplitMix64 rng, int[] values)
    {
        var copy = (int[])values.Clone();
        for (var i = copy.Length - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (copy[i], copy[j]) = (copy[j], copy[i]);
        }
        return copy;
    }
}
