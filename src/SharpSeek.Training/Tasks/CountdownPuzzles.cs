// CountdownPuzzles.cs: the generator of countdown puzzles: reach a target with each of 3 or 4 given numbers (1–19, or 25, 50,
// 75, 100) used once and + - * /. The target comes from a random fold of the numbers, so every puzzle has a solution;
// the worked solution sometimes tries a wrong fold first. Not here: checking a proposed expression (the RL project's
// CountdownExpression). Tested by ProblemGeneratorTests and ReasoningCorpusTests.
using System.Text;
using SharpSeek.Training.Data;
using static SharpSeek.Training.Tasks.ProblemText;

namespace SharpSeek.Training.Tasks;

internal static class CountdownPuzzles
{
    private static readonly int[] BigNumbers = [25, 50, 75, 100];

    /// <summary>A puzzle with <paramref name="count"/> numbers and a target in 10..999 that is not one of them. The key
    /// is the sorted numbers and the target: the order they are listed in does not make a new puzzle.</summary>
    public static WorkedProblem Generate(ref SplitMix64 rng, int count)
    {
        while (true)
        {
            var numbers = new int[count];
            for (var i = 0; i < numbers.Length; i++) { numbers[i] = rng.Chance(0.25) ? rng.Pick(BigNumbers) : rng.Next(1, 20); }
            var solution = Fold(ref rng, Shuffled(ref rng, numbers));
            var target = solution.Value;
            if (target < 10 || target > 999 || numbers.Contains((int)target)) { continue; }

            var shown = Shuffled(ref rng, numbers);
            var listed = shown.Select(v => N(v)).ToList();
            var list = rng.Chance(0.5) ? $"[{string.Join(", ", listed)}]" : JoinWords(listed);
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
            var key = $"countdown {string.Join(',', numbers.Order().Select(v => N(v)))}={N(target)}";
            return new(TaskFamily.Countdown, count, key, question, t.ToString(), solution.Expression) { Numbers = shown, Target = target };
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

    private static int[] Shuffled(ref SplitMix64 rng, int[] values)
    {
        var copy = (int[])values.Clone();
        rng.Shuffle<int>(copy);
        return copy;
    }
}
