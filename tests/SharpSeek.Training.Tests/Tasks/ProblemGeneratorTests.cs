// ProblemGeneratorTests.cs: generated problems are a function of (family, level, split, seed, index); every family and
// level yields problems of both splits and the split follows the key alone; levels mean what TaskFamily says; every
// worked solution and answer is right (the corpus checker); train and held-out never share a key or a question.
using System.Globalization;
using System.Text.RegularExpressions;
using SharpSeek.Training.Data;
using SharpSeek.Training.Tasks;
using SharpSeek.Training.Tests.Data;

namespace SharpSeek.Training.Tests.Tasks;

public sealed class ProblemGeneratorTests
{
    private static IEnumerable<(TaskFamily Family, int Level)> AllLevels() =>
        Enum.GetValues<TaskFamily>().SelectMany(f => Enumerable.Range(ProblemGenerator.Levels(f).Min, ProblemGenerator.Levels(f).Max - ProblemGenerator.Levels(f).Min + 1).Select(l => (f, l)));

    private static string Document(WorkedProblem p) => $"{p.Question}\n<think>\n{p.Solution}\n</think>\n<answer>{p.Answer}</answer>";

    [Fact]
    public void Generate_SameArguments_SameProblem_AnotherIndexOrSeedDiffers()
    {
        var a = ProblemGenerator.Generate(TaskFamily.Mul, 3, ProblemSplit.Train, seed: 4, index: 17);
        var b = ProblemGenerator.Generate(TaskFamily.Mul, 3, ProblemSplit.Train, seed: 4, index: 17);
        Assert.Equal(a, b);
        var others = Enumerable.Range(0, 50).Select(i => ProblemGenerator.Generate(TaskFamily.Mul, 3, ProblemSplit.Train, 4, i).Key).ToList();
        Assert.True(others.Distinct().Count() > 45);
        var otherSeed = Enumerable.Range(0, 50).Select(i => ProblemGenerator.Generate(TaskFamily.Mul, 3, ProblemSplit.Train, 5, i).Key);
        Assert.True(others.Zip(otherSeed).Count(p => p.First != p.Second) > 45);
    }

    [Fact]
    public void Generate_EveryFamilyAndLevel_GivesBothSplits_WithCorrectSolutions()
    {
        foreach (var (family, level) in AllLevels())
        {
            foreach (var split in Enum.GetValues<ProblemSplit>())
            {
                for (var i = 0; i < 40; i++)
                {
                    var p = ProblemGenerator.Generate(family, level, split, seed: 1, i);
                    Assert.Equal((family, level, split), (p.Family, p.Level, p.Split));
                    Assert.Equal(split, ProblemGenerator.SplitOf(p.Key));
                    Assert.StartsWith(ProblemGenerator.Name(family), p.Key, StringComparison.Ordinal);
                    var kind = ReasoningCorpusTests.Check(Document(p));
                    Assert.Equal(family switch { TaskFamily.Add => "+", TaskFamily.Sub => "-", TaskFamily.Mul => "*", TaskFamily.Word => "word", _ => "countdown" }, kind);
                }
            }
        }
    }

    [Fact]
    public void Generate_LevelIsDigitsOrNumberCount()
    {
        foreach (var (family, level) in AllLevels().Where(x => x.Family != TaskFamily.Word))
        {
            for (var i = 0; i < 40; i++)
            {
                var p = ProblemGenerator.Generate(family, level, ProblemSplit.Train, seed: 2, i);
                if (family == TaskFamily.Countdown)
                {
                    Assert.Equal(level, p.Numbers!.Count);
                    Assert.Equal(p.Numbers.Order(), Regex.Matches(p.Question, @"\d+").Select(m => int.Parse(m.Value, CultureInfo.InvariantCulture)).Where(v => v != p.Target).Order());
                    Assert.Contains(p.Target!.Value.ToString(CultureInfo.InvariantCulture), p.Question, StringComparison.Ordinal);
                    Assert.Equal(p.Target, IntExpression.Evaluate(p.Answer));
                }
                else
                {
                    var operands = Regex.Matches(p.Key, @"\d+").Select(m => m.Value.Length).ToList();
                    Assert.Equal(2, operands.Count);
                    Assert.Equal(level, operands.Max());
                    Assert.Null(p.Numbers);
                }
            }
        }
    }

    [Fact]
    public void Generate_WordLevelsScaleTheAmounts()
    {
        static double MeanAnswer(int level) => Enumerable.Range(0, 200)
            .Average(i => double.Parse(ProblemGenerator.Generate(TaskFamily.Word, level, ProblemSplit.Train, 3, i).Answer, CultureInfo.InvariantCulture));
        var (one, two, three) = (MeanAnswer(1), MeanAnswer(2), MeanAnswer(3));
        Assert.True(two > 5 * one && three > 5 * two, $"mean answers {one:F0}, {two:F0}, {three:F0}");
    }

    [Fact]
    public void SplitOf_HoldsOutAboutOneKeyInTen_AndDependsOnTheKeyAlone()
    {
        var held = Enumerable.Range(0, 20000).Count(i => ProblemGenerator.SplitOf($"add {i}+{i + 1}") == ProblemSplit.HeldOut);
        Assert.InRange(held, 1800, 2200);
        Assert.Equal(ProblemGenerator.SplitOf("countdown 3,7,25=100"), ProblemGenerator.SplitOf("countdown 3,7,25=100"));
    }

    [Fact]
    public void Generate_TrainAndHeldOut_NeverShareAKeyOrAQuestion()
    {
        var train = new HashSet<string>();
        var trainQuestions = new HashSet<string>();
        var heldOut = new List<WorkedProblem>();
        foreach (var (family, level) in AllLevels())
        {
            for (var i = 0; i < 200; i++)
            {
                var t = ProblemGenerator.Generate(family, level, ProblemSplit.Train, seed: 9, i);
                train.Add(t.Key);
                trainQuestions.Add(t.Question);
                heldOut.Add(ProblemGenerator.Generate(family, level, ProblemSplit.HeldOut, seed: 9, i));
            }
        }
        Assert.All(heldOut, h => Assert.DoesNotContain(h.Key, train));
        Assert.All(heldOut, h => Assert.DoesNotContain(h.Question, trainQuestions));
    }

    [Fact]
    public void Generate_BadLevelOrIndex_Throws()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ProblemGenerator.Generate(TaskFamily.Countdown, 5, ProblemSplit.Train, 0, 0));
        Assert.Contains("countdown has levels 3 to 4", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => ProblemGenerator.Generate(TaskFamily.Add, 0, ProblemSplit.Train, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ProblemGenerator.Generate(TaskFamily.Add, 1, ProblemSplit.Train, 0, -1));
    }

    [Fact]
    public void Shuffle_IsFisherYatesOverTheStream()
    {
        var rng = new SplitMix64(42);
        var items = Enumerable.Range(0, 10).ToArray();
        rng.Shuffle<int>(items);
        var replay = new SplitMix64(42);
        var expected = Enumerable.Range(0, 10).ToArray();
        for (var i = expected.Length - 1; i > 0; i--)
        {
            var j = replay.Next(i + 1);
            (expected[i], expected[j]) = (expected[j], expected[i]);
        }
        Assert.Equal(expected, items);
        Assert.Equal(Enumerable.Range(0, 10), items.Order());
    }
}
