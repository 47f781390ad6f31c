// R1PipelineTests.cs: rejection sampling's verdicts on hand-written samples (right and well-formed kept; cut off, wrong,
// malformed or unreadable rejected, in that order), and the R1 pipeline on a tiny random model: stages 1 and 2 run and
// are evaluated, stage 3 stops with a clear error when no sample is right, and a rerun skips the finished stages, takes
// stage 3's data file as it is and finishes with a table of the base and all four stages.
using System.Text.Json;
using SharpSeek.Rl.Eval;
using SharpSeek.Rl.Pipeline;
using SharpSeek.Rl.Rewards;
using SharpSeek.Rl.Runs;
using SharpSeek.Rl.Sft;
using SharpSeek.Rl.Tasks;

namespace SharpSeek.Rl.Tests;

public sealed class R1PipelineTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "sharpseek-r1-" + Guid.NewGuid().ToString("N")[..8]);

    public R1PipelineTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData(" <think>\nones: 7 + 5 = 12, write 12\nSo 7 + 5 = 12.\n</think>\n<answer>12</answer>", false, SampleVerdict.Kept)]
    [InlineData(" <think>\nones: 7 + 5 = 12, write 12\nSo 7 + 5 = 12.\n</think>\n<answer>12</answer>", true, SampleVerdict.Truncated)]
    [InlineData(" <think>\nones: 7 + 5 = 13, write 13\n</think>\n<answer>13</answer>", false, SampleVerdict.Wrong)]
    [InlineData(" <think>\nones: 7 + 5\n</think><think>is 12</think>\n<answer>12</answer>", false, SampleVerdict.BadFormat)]
    [InlineData(" <think>\nones: семь + 5 = 12, write 12\n</think>\n<answer>12</answer>", false, SampleVerdict.Unreadable)]
    public void Judge_KeepsOnlyRightWellFormedReadable(string text, bool truncated, SampleVerdict expected)
    {
        var problem = new Problem("add 5+7", "add", 1, "What is 7 + 5?", "12");
        Assert.Equal(expected, RejectionSampling.Judge(problem, new Completion(text, 20, truncated)));
    }

    private string Model() => TinyModel.Write(Path.Combine(_root, "base"));

    [Fact]
    public void Pipeline_StopsWhenNothingIsKept_ThenResumesAndFinishes()
    {
        var options = new R1Options
        {
            Base = Model(),
            OutDir = Path.Combine(_root, "r1"),
            Task = "add:1",
            Template = "plain",
            ColdStartExamples = 16,
            SeqLen = 128,
            RlSteps = 1,
            FinalRlSteps = 1,
            Rl = new RlOptions { Prompts = 2, Generations = 2, MaxNewTokens = 8, MicroBatch = 4, Truncated = TruncatedCompletions.Keep },
            Rejection = new RejectionOptions { Problems = 3, Samples = 2, MaxNewTokens = 8 },
            Eval = new EvalOptions { Problems = 3, Samples = 2, MaxNewTokens = 8 },
        };
        var logs = new List<string>();
        // What a later stage would trip on fails first, before any stage runs.
        Assert.Throws<FileNotFoundException>(() => new R1Pipeline(options with { NonReasoning = Path.Combine(_root, "missing.jsonl") }).Run());
        Assert.Contains("--steps must be at least 1", Assert.ThrowsAny<ArgumentException>(() => new R1Pipeline(options with { FinalRlSteps = 0 }).Run()).Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(options.OutDir, "1-cold-start")));
        var e = Assert.Throws<InvalidOperationException>(() => new R1Pipeline(options, logs.Add).Run());
        Assert.Contains("rejection sampling kept no sample of 6", e.Message, StringComparison.Ordinal);
        foreach (var stage in new[] { "1-cold-start", "2-reasoning-rl" })
        {
            Assert.True(File.Exists(Path.Combine(options.OutDir, stage, "model.safetensors")), stage);
            Assert.True(File.Exists(Path.Combine(options.OutDir, stage, "eval.json")), stage);
        }

        // Stage 3's data by hand (as the user could edit it): right worked examples of the task.
        var tasks = TaskCatalog.Resolve("add:1", 0);
        var lines = Enumerable.Range(0, 6).Select(i => tasks.Get(Training.Tasks.ProblemSplit.Train, i))
            .Select(p => JsonSerializer.Serialize(new { prompt = p.Question, completion = $"<think>\n{p.Solution}\n</think>\n<answer>{p.Answer}</answer>" }));
        File.WriteAllLines(Path.Combine(options.OutDir, "3-sft-data.jsonl"), lines);
        logs.Clear();
        var rows = new R1Pipeline(options, logs.Add).Run();
        Assert.Equal(["base", "1 cold-start SFT", "2 reasoning RL", "3 rejection sampling + SFT of the base", "4 final RL"], rows.Select(r => r.Stage));
        Assert.DoesNotContain(logs, l => l.Contains("1-cold-start: SFT", StringComparison.Ordinal) || l.Contains("2-reasoning-rl: GRPO", StringComparison.Ordinal));
        Assert.Contains(logs, l => l.Contains("3-rejection-sft: SFT of " + options.Base, StringComparison.Ordinal));
        Assert.All(rows.Skip(1), r => Assert.True(r.Seconds > 0, r.Stage));
        Assert.All(rows, r => Assert.Equal(3, r.Eval.Problems));
        Assert.True(File.Exists(Path.Combine(options.OutDir, R1Pipeline.TableFileName)));
    }
}
