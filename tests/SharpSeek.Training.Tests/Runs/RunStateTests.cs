// RunStateTests.cs: trainer_state.json round trips (options included), is replaced atomically with no temporary left,
// and bad files fail naming the file and the problem.
using SharpSeek.Training.Runs;

namespace SharpSeek.Training.Tests.Runs;

public sealed class RunStateTests
{
    [Fact]
    public void SaveLoad_RoundTrips()
    {
        using var tmp = new TinyRun();
        var path = Path.Combine(tmp.Directory, RunState.FileName);
        var state = new RunState
        {
            Step = 37,
            SamplerSeed = 0xDEADBEEFCAFEUL,
            SamplerPosition = 113,
            TokensSeen = 37 * 4096,
            BestEvalLoss = 2.718281828459045,
            ElapsedSeconds = 12.5,
            TrainShard = "data/train.tokens",
            EvalShard = "data/eval.tokens",
            Options = new RunOptions { Config = "tiny", Data = ["a.txt", "b"], Steps = 99, Lr = 3.3e-4, SeqLen = 33, Balance = BalanceMode.V2AuxLoss, Mtp = false, Resume = true },
        };
        state.Save(path);
        state.Save(path); // replacing works too
        var loaded = RunState.Load(path);
        Assert.Equal(state with { Options = new() }, loaded with { Options = new() });
        Assert.Equal(state.Options.Data, loaded.Options.Data);
        Assert.Equal(state.Options with { Data = [], Resume = false }, loaded.Options with { Data = [] });
        Assert.Equal([RunState.FileName], Directory.GetFiles(tmp.Directory).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("{\"step\": ", "not a valid")]
    [InlineData("null", "expected a JSON object")]
    [InlineData("{\"step\": -4}", "must be ≥ 0")]
    public void Load_NamesTheProblem(string text, string expected)
    {
        using var tmp = new TinyRun();
        var path = Path.Combine(tmp.Directory, RunState.FileName);
        File.WriteAllText(path, text);
        var e = Assert.Throws<InvalidDataException>(() => RunState.Load(path));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 4096, 8, 256, "steps")]
    [InlineData(10, 4000, 8, 256, "multiple of micro-batch")]
    [InlineData(10, 1024, 8, 256, "multiple of micro-batch")]
    [InlineData(10, 4096, 0, 256, "micro-batch must be")]
    public void Validate_NamesTheBadSetting(long steps, int batchTokens, int microBatch, int seqLen, string expected)
    {
        var options = new RunOptions { Steps = steps, BatchTokens = batchTokens, MicroBatch = microBatch, SeqLen = seqLen };
        var e = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("algebra", new string[0], "unknown task 'algebra'")]
    [InlineData("add:9", new string[0], "levels must be N or N-M with 1 <= N <= M <= 6")]
    [InlineData("add:1-3", new[] { "corpus.txt" }, "cannot be used with --data")]
    public void Validate_CorpusTasks_NamesTheProblem(string tasks, string[] data, string expected)
    {
        var options = new RunOptions { CorpusTasks = tasks, Data = data };
        var e = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        new RunOptions { CorpusTasks = "add:1-3,sub:2" }.Validate();
    }
}
