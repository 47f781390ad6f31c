// TaskCatalogTests.cs: task names resolve to the right families and levels (corpus levels by default, "name:N" and
// "name:N-M"), bad names and levels fail listing what is valid; generated sets are deterministic and resumable by index,
// keep train and held-out disjoint and cover their mix; a .jsonl file gives a shuffled epoch per pass for training and
// file order for evaluation.
using SharpSeek.Rl.Tasks;
using SharpSeek.Training.Tasks;

namespace SharpSeek.Rl.Tests;

public sealed class TaskCatalogTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sharpseek-rl-" + Guid.NewGuid().ToString("N"));

    public TaskCatalogTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("add", "Add 1-4")]
    [InlineData("sub", "Sub 1-4")]
    [InlineData("mul", "Mul 1-3")]
    [InlineData("word", "Word 1-1")]
    [InlineData("countdown", "Countdown 3-4")]
    [InlineData("arithmetic", "Add 1-4, Sub 1-4, Mul 1-3")]
    [InlineData("mix", "Add 1-4, Sub 1-4, Mul 1-3, Word 1-1, Countdown 3-4")]
    [InlineData("add:6", "Add 6-6")]
    [InlineData("mul:2-4", "Mul 2-4")]
    [InlineData("word:1-3", "Word 1-3")]
    [InlineData("countdown:4", "Countdown 4-4")]
    [InlineData("arithmetic:5-6", "Add 5-6, Sub 5-6, Mul 5-6")]
    [InlineData("add:1-2,sub:3", "Add 1-2, Sub 3-3")]
    [InlineData("add:4, countdown", "Add 4-4, Countdown 3-4")]
    public void Resolve_NameAndLevels(string name, string mix)
    {
        var set = Assert.IsType<GeneratedTasks>(TaskCatalog.Resolve(name, seed: 0));
        Assert.Equal(name, set.Name);
        Assert.Equal(mix, string.Join(", ", set.Mix.Select(m => $"{m.Family} {m.MinLevel}-{m.MaxLevel}")));
        Assert.Null(set.Count(ProblemSplit.Train));
    }

    [Theory]
    [InlineData("algebra", "unknown task 'algebra'; expected one of arithmetic, add, sub, mul, word, countdown, mix")]
    [InlineData("Add", "unknown task 'Add'")]
    [InlineData("add:7", "levels must be N or N-M with 1 <= N <= M <= 6")]
    [InlineData("add:0", "levels must be N or N-M with 1 <= N <= M <= 6")]
    [InlineData("add:3-2", "levels must be N or N-M")]
    [InlineData("add:x", "levels must be N or N-M")]
    [InlineData("add:", "levels must be N or N-M")]
    [InlineData("add:-3", "levels must be N or N-M")]
    [InlineData("countdown:5", "with 3 <= N <= M <= 4")]
    [InlineData("mix:2", "mix takes no levels")]
    [InlineData("add:1,algebra", "unknown task 'algebra' in 'add:1,algebra'; expected one of")]
    [InlineData("add:1,", "unknown task '' in 'add:1,'")]
    [InlineData("add:1,sub:9", "task 'sub:9': levels must be N or N-M with 1 <= N <= M <= 6")]
    public void Resolve_BadName_SaysWhatIsValid(string name, string message) =>
        Assert.Contains(message, Assert.Throws<ArgumentException>(() => TaskCatalog.Resolve(name, 0)).Message, StringComparison.Ordinal);

    [Fact]
    public void Generated_DeterministicAndResumableByIndex()
    {
        var a = TaskCatalog.Resolve("mix", seed: 3);
        var b = TaskCatalog.Resolve("mix", seed: 3);
        // A GRPO step s with P prompts takes indexes s·P … s·P + P − 1; a restarted run asks for the same ones.
        const int P = 8;
        var step5 = Enumerable.Range(5 * P, P).Select(i => a.Get(ProblemSplit.Train, i)).ToList();
        var resumed = Enumerable.Range(5 * P, P).Reverse().Select(i => b.Get(ProblemSplit.Train, i)).Reverse().ToList();
        Assert.Equal(step5, resumed, (x, y) => x.Id == y.Id && x.Question == y.Question && x.Solution == y.Solution);
        var otherSeed = Enumerable.Range(5 * P, P).Select(i => TaskCatalog.Resolve("mix", 4).Get(ProblemSplit.Train, i).Question);
        Assert.True(step5.Select(p => p.Question).Zip(otherSeed).Count(q => q.First != q.Second) >= P - 1);
    }

    [Fact]
    public void Generated_TrainAndHeldOutDisjoint_MixCovered()
    {
        var set = TaskCatalog.Resolve("mix", seed: 1);
        var train = Enumerable.Range(0, 2000).Select(i => set.Get(ProblemSplit.Train, i)).ToList();
        var heldOut = Enumerable.Range(0, 2000).Select(i => set.Get(ProblemSplit.HeldOut, i)).ToList();
        Assert.Empty(train.Select(p => p.Id).Intersect(heldOut.Select(p => p.Id)));
        Assert.All(train, p => Assert.Equal(ProblemSplit.Train, ProblemGenerator.SplitOf(p.Id)));
        Assert.All(heldOut, p => Assert.Equal(ProblemSplit.HeldOut, ProblemGenerator.SplitOf(p.Id)));
        Assert.Equal(["add", "countdown", "mul", "sub", "word"], train.Select(p => p.Task).Distinct().Order());
        Assert.Equal([1, 2, 3, 4], train.Where(p => p.Task == "add").Select(p => p.Level).Distinct().Order());
        Assert.All(train.Where(p => p.Task == "countdown"), p => Assert.True(p.Numbers!.Count == p.Level && p.Target is not null));
        Assert.All(train, p => Assert.False(string.IsNullOrEmpty(p.Solution)));
    }

    [Fact]
    public void File_TrainEpochsAreShuffledPermutations_HeldOutIsFileOrder()
    {
        var path = Path.Combine(_dir, "twenty.jsonl");
        File.WriteAllLines(path, Enumerable.Range(1, 20).Select(i => $$"""{"prompt": "q{{i}}", "answer": "{{i}}"}"""));
        var set = TaskCatalog.Resolve(path, seed: 7);
        Assert.IsType<FileTasks>(set);
        Assert.Equal(20, set.Count(ProblemSplit.Train));
        Assert.Equal(20, set.Count(ProblemSplit.HeldOut));

        var epochs = Enumerable.Range(0, 3).Select(e => Enumerable.Range(e * 20, 20).Select(i => set.Get(ProblemSplit.Train, i).Answer).ToList()).ToList();
        Assert.All(epochs, e => Assert.Equal(Enumerable.Range(1, 20).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).Order(), e.Order()));
        Assert.NotEqual(epochs[0], epochs[1]);
        Assert.NotEqual(epochs[1], epochs[2]);
        // Random access across epochs gives what the sequential pass gave.
        var again = TaskCatalog.Resolve(path, seed: 7);
        Assert.Equal(epochs[2][5], again.Get(ProblemSplit.Train, 45).Answer);
        Assert.Equal(epochs[0][3], again.Get(ProblemSplit.Train, 3).Answer);

        Assert.Equal(Enumerable.Range(1, 20).Select(i => $"q{i}"), Enumerable.Range(0, 20).Select(i => set.Get(ProblemSplit.HeldOut, i).Question));
        Assert.Throws<ArgumentOutOfRangeException>(() => set.Get(ProblemSplit.HeldOut, 20));
        Assert.Throws<ArgumentOutOfRangeException>(() => set.Get(ProblemSplit.Train, -1));
    }
}
