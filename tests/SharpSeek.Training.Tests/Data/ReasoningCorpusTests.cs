// ReasoningCorpusTests.cs: the generated corpus is deterministic, well formed, and right: every equation written in a
// worked solution holds, and every <answer> solves its question (arithmetic recomputed from the question, countdown
// answers evaluated and checked to use exactly the given numbers, word problems against their final step); and it
// holds no held-out problem, by key, by question, or by what the question asks read back from the text.
using System.Globalization;
using System.Text.RegularExpressions;
using SharpSeek.Training.Data;
using SharpSeek.Training.Tasks;

namespace SharpSeek.Training.Tests.Data;

public sealed partial class ReasoningCorpusTests
{
    [GeneratedRegex(@"(?<lhs>[\d()+\-*/ ]*[\d)])\s*=\s*(?<rhs>-?\d+)")]
    private static partial Regex Equation();

    [GeneratedRegex(@"\d+")]
    private static partial Regex Integer();

    [GeneratedRegex(@"<answer>(?<a>[^<]*)</answer>$")]
    private static partial Regex FinalAnswer();

    [Fact]
    public void Generate_SameSeed_SameTextAndLongerExtendsShorter()
    {
        var a = ReasoningCorpus.Generate(7, 300).ToList();
        var b = ReasoningCorpus.Generate(7, 300).ToList();
        var longer = ReasoningCorpus.Generate(7, 450).ToList();
        Assert.Equal(a, b);
        Assert.Equal(a, longer.Take(300));
        Assert.Equal(450, longer.Count);
    }

    [Fact]
    public void Generate_DifferentSeed_DifferentTextAndVariedDocuments()
    {
        var a = ReasoningCorpus.Generate(7, 300).ToList();
        var b = ReasoningCorpus.Generate(8, 300).ToList();
        Assert.True(a.Zip(b).Count(p => p.First != p.Second) > 290);
        Assert.True(a.Distinct().Count() > 290, "documents should rarely repeat");
    }

    [Fact]
    public void Generate_EveryEquationAndAnswerIsCorrect()
    {
        var kinds = new Dictionary<string, int>();
        foreach (var doc in ReasoningCorpus.Generate(11, 4000))
        {
            var kind = Check(doc);
            kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
        }
        foreach (var kind in new[] { "+", "-", "*", "countdown", "word" })
        {
            Assert.True(kinds.GetValueOrDefault(kind) > 300, $"{kind}: {kinds.GetValueOrDefault(kind)} of 4000 documents");
        }
    }

    [Fact]
    public void Check_WrongArithmetic_IsCaught()
    {
        // The checker itself must fail on a wrong step, a wrong answer and a countdown answer with a wrong number.
        const string good = "What is 47 + 38?\n<think>\nones: 7 + 8 = 15, write 5, carry 1\ntens: 4 + 3 + 1 = 8, write 8\nSo 47 + 38 = 85.\n</think>\n<answer>85</answer>";
        Assert.Equal("+", Check(good));
        Assert.ThrowsAny<Exception>(() => Check(good.Replace("= 15", "= 16", StringComparison.Ordinal)));
        Assert.ThrowsAny<Exception>(() => Check(good.Replace("<answer>85", "<answer>86", StringComparison.Ordinal)));
        const string countdown = "Reach 32 using each of the numbers [4, 7, 3] exactly once.\n<think>\nTry 4 + 7 = 11, 11 * 3 = 33. That gives 33.\nSo (4 + 7) * 3 = 33.\n</think>\n<answer>(4 + 7) * 3</answer>";
        Assert.ThrowsAny<Exception>(() => Check(countdown));
    }

    [Fact]
    public void Generate_NoHeldOutProblemInTheCorpus()
    {
        var docs = ReasoningCorpus.Documents(11, 5000).ToList();
        Assert.Equal(ReasoningCorpus.Generate(11, 5000), docs.Select(d => d.Text));
        foreach (var (p, text) in docs)
        {
            Assert.Equal(ProblemSplit.Train, p.Split);
            Assert.Contains(p.Question, text, StringComparison.Ordinal);
            Assert.EndsWith($"<think>\n{p.Solution}\n</think>\n<answer>{p.Answer}</answer>", text, StringComparison.Ordinal);
        }
        // What each document asks, read back from its text (not from the generator's key).
        var corpusKeys = docs.Select(d => d.Problem.Key).ToHashSet();
        var corpusQuestions = docs.Select(d => d.Problem.Question).ToHashSet();
        var corpusContent = docs.Select(d => Content(d.Text[..d.Text.LastIndexOf("<think>\n", StringComparison.Ordinal)])).OfType<string>().ToHashSet();
        Assert.True(corpusContent.Count > 3000, $"{corpusContent.Count} documents read back");

        // Held-out problems of every family at every level the corpus uses share nothing with it: not the key, not the
        // question, not the operation and operands or countdown numbers and target under any phrasing.
        var read = 0;
        foreach (var family in Enum.GetValues<TaskFamily>())
        {
            var (min, max) = ProblemGenerator.CorpusLevels(family);
            for (var level = min; level <= max; level++)
            {
                for (var i = 0; i < 300; i++)
                {
                    var p = ProblemGenerator.Generate(family, level, ProblemSplit.HeldOut, seed: 11, i);
                    Assert.DoesNotContain(p.Key, corpusKeys);
                    Assert.DoesNotContain(p.Question, corpusQuestions);
                    if (Content(p.Question) is { } content)
                    {
                        Assert.DoesNotContain(content, corpusContent);
                        read++;
                    }
                }
            }
        }
        Assert.True(read > 3500, $"only {read} held-out problems read back");

        // The check can see an overlap: train problems of the small levels do recur in the corpus.
        var recurring = Enumerable.Range(0, 300).Select(i => ProblemGenerator.Generate(TaskFamily.Add, 1, ProblemSplit.Train, 11, i))
            .Count(p => corpusContent.Contains(Content(p.Question)!));
        Assert.True(recurring > 250, $"{recurring} of 300 one-digit train sums found in the corpus");
    }

    [Fact]
    public void Generate_TaskMix_OnlyThoseFamiliesAndLevels_AllTrainSplit()
    {
        var mix = TaskMix.Parse("add:2-3,countdown:4");
        var docs = ReasoningCorpus.Documents(5, 1500, mix).ToList();
        Assert.Equal(ReasoningCorpus.Generate(5, 1500, mix), docs.Select(d => d.Text));
        var seen = docs.GroupBy(d => (d.Problem.Family, d.Problem.Level)).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal([(TaskFamily.Add, 2), (TaskFamily.Add, 3), (TaskFamily.Countdown, 4)], seen.Keys.Order());
        // An entry is picked uniformly, then a level within it: 1/4, 1/4 and 1/2 of the documents.
        Assert.InRange(seen[(TaskFamily.Add, 2)], 320, 430);
        Assert.InRange(seen[(TaskFamily.Add, 3)], 320, 430);
        Assert.InRange(seen[(TaskFamily.Countdown, 4)], 690, 810);
        Assert.All(docs, d => Assert.Equal(ProblemSplit.Train, d.Problem.Split));
        Assert.All(docs, d => Check(d.Text));
        Assert.Throws<ArgumentException>(() => ReasoningCorpus.Generate(5, 10, []).ToList());
    }

    [Fact]
    public void Generate_DocumentsAreShortAndUseTheTags()
    {
        foreach (var doc in ReasoningCorpus.Generate(3, 2000))
        {
            // R1-Zero's template adds its fixed preamble to the question.
            Assert.InRange(doc.Replace(R1ZeroTemplate.Preamble, "", StringComparison.Ordinal).Length, 60, 900);
            Assert.Single(Regex.Matches(doc, "</think>\n<answer>"));
            Assert.EndsWith("</answer>", doc, StringComparison.Ordinal);
        }
    }

    /// <summary>Checks one document and returns its kind: "+", "-", "*", "countdown" or "word".</summary>
    internal static string Check(string doc)
    {
        var thinkStart = doc.LastIndexOf("<think>\n", StringComparison.Ordinal);
        var thinkEnd = doc.LastIndexOf("\n</think>\n<answer>", StringComparison.Ordinal);
        Assert.True(thinkStart > 0 && thinkEnd > thinkStart, doc);
        var question = doc[..thinkStart];
        var think = doc[(thinkStart + 8)..thinkEnd];
        var answerMatch = FinalAnswer().Match(doc);
        Assert.True(answerMatch.Success, doc);
        var answer = answerMatch.Groups["a"].Value;

        var equations = Equation().Matches(think);
        Assert.True(equations.Count > 0, doc);
        foreach (Match m in equations)
        {
            var rhs = long.Parse(m.Groups["rhs"].Value, CultureInfo.InvariantCulture);
            Assert.True(IntExpression.Evaluate(m.Groups["lhs"].Value.Trim()) == rhs, $"wrong step '{m.Value}' in:\n{doc}");
        }

        if (question.Contains("numbers", StringComparison.Ordinal))
        {
            var value = IntExpression.Evaluate(answer);
            Assert.True(value is not null, $"answer '{answer}' is not an expression:\n{doc}");
            var used = Integer().Matches(answer).Select(m => m.Value).Append(value.Value.ToString(CultureInfo.InvariantCulture)).Order(StringComparer.Ordinal);
            var given = Integer().Matches(question).Select(m => m.Value).Order(StringComparer.Ordinal);
            Assert.True(used.SequenceEqual(given), $"the answer must use each given number once and reach the target:\n{doc}");
            return "countdown";
        }
        var expected = Arithmetic(question);
        if (expected is { } e)
        {
            Assert.True(long.Parse(answer, CultureInfo.InvariantCulture) == e.Value, $"expected {e.Value}:\n{doc}");
            return e.Kind;
        }
        var steps = think.Split('\n').Where(line => !line.StartsWith("Check:", StringComparison.Ordinal)).SelectMany(line => Equation().Matches(line)).ToList();
        Assert.NotEmpty(steps);
        Assert.Equal(steps[^1].Groups["rhs"].Value, answer);
        return "word";
    }

    /// <summary>The operation a question asks, read from its text alone: kind and operands in the order computed.</summary>
    private static (string Kind, long A, long B)? Operation(string question)
    {
        static long L(Match m, int g) => long.Parse(m.Groups[g].Value, CultureInfo.InvariantCulture);
        Match m;
        if ((m = Regex.Match(question, @"(\d+) ([-+*]) (\d+)")).Success) { return (m.Groups[2].Value, L(m, 1), L(m, 3)); }
        if ((m = Regex.Match(question, @"(?:sum of|Add) (\d+) and (\d+)")).Success) { return ("+", L(m, 1), L(m, 2)); }
        if ((m = Regex.Match(question, @"Subtract (\d+) from (\d+)")).Success) { return ("-", L(m, 2), L(m, 1)); }
        if ((m = Regex.Match(question, @"(?:product of (\d+) and|Multiply (\d+) by) (\d+)")).Success)
        {
            return ("*", m.Groups[1].Success ? L(m, 1) : L(m, 2), L(m, 3));
        }
        return null;
    }

    private static (string Kind, long Value)? Arithmetic(string question) => Operation(question) switch
    {
        ("+", var a, var b) => ("+", a + b),
        ("-", var a, var b) => ("-", a - b),
        ("*", var a, var b) => ("*", a * b),
        _ => null,
    };

    /// <summary>What a question asks, whatever its phrasing: the operation with its operands (sorted where it commutes)
    /// or countdown's sorted numbers and target; null for word problems.</summary>
    private static string? Content(string question)
    {
        if (question.Contains("numbers", StringComparison.Ordinal))
        {
            return "countdown " + string.Join(',', Integer().Matches(question).Select(m => long.Parse(m.Value, CultureInfo.InvariantCulture)).Order());
        }
        return Operation(question) switch
        {
            ("-", var a, var b) => $"{a} - {b}",
            (var kind, var a, var b) => $"{Math.Min(a, b)} {kind} {Math.Max(a, b)}",
            null => null,
        };
    }
}
