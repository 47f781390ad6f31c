// GrpoRunTests.cs: `sharpseek rl`'s loop on a tiny random DeepSeek-V3 model with a trained tokenizer: the rollout's
// log-probs equal the trainer's at rounding level (same weights, two code paths), every step is logged with its
// rewards and timings, the policy the engine samples moves with the optimizer (no save/load between steps), a resumed run
// reproduces the uninterrupted one exactly (also after a crash between checkpoints, with a reference), β > 0 keeps and
// checkpoints a reference, a sampling temperature and μ, U > 1 keep the log-probs consistent, dynamic sampling drops groups
// without spread, masked truncations train nothing, and bad options are named.
using System.Text.Json;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Model.Layers;
using SharpSeek.Model.Tokenizer;
using SharpSeek.Rl.Grpo;
using SharpSeek.Rl.Rewards;
using SharpSeek.Rl.Runs;
using SharpSeek.Rl.Tasks;

namespace SharpSeek.Rl.Tests;

public sealed class GrpoRunTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "sharpseek-grpo-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_root)) { Directory.Delete(_root, recursive: true); }
    }

    private string Model() => TinyModel.Write(Path.Combine(_root, "base"), tokenizerDocuments: 200, maxPositions: 512);

    private RlOptions Options(string name, long steps) => new()
    {
        Model = Model(),
        OutDir = Path.Combine(_root, name),
        Task = "add:1",
        Steps = steps,
        Prompts = 2,
        Generations = 4,
        MaxNewTokens = 12,
        MicroBatch = 3,
        Lr = 1e-2,
        WarmupSteps = 0,
        CheckpointEvery = 1,
        LogCompletionsEvery = 1,
        Grpo = new GrpoOptions { Scale = AdvantageScale.None },
        AccuracyWeight = 1,
        FormatWeight = 0.1,
        Truncated = TruncatedCompletions.Keep, // a random model rarely stops within 12 tokens; masked, nothing would train
    };

    // A user's reward in a few lines: the share of vowels in the completion, which differs between a random model's samples.
    private sealed class VowelReward : IReward
    {
        public string Name => "vowels";

        public double? Score(Problem problem, Completion completion) =>
            completion.Text.Length == 0 ? 0 : completion.Text.Count(c => "aeiou".Contains(c, StringComparison.Ordinal)) / (double)completion.Text.Length;
    }

    private static RlResult Run(RlOptions options, Action<RlRecord>? onStep = null) =>
        new GrpoRun(options) { OnStep = onStep, ExtraRewards = [(new VowelReward(), 1.0)] }.Run();

    [Fact]
    public void Steps_AreLogged_AndTheRolloutLogProbsAreTheTrainers()
    {
        var records = new List<RlRecord>();
        var result = Run(Options("run", 2), records.Add);
        Assert.Equal(2, result.Step);
        Assert.Equal(2, records.Count);
        foreach (var r in records)
        {
            Assert.InRange(r.LogProbMismatch, 0, 1e-4); // the same weights through the engine and the tape: rounding only
            Assert.True(r.LogProbMismatch > 0 || r.Loss != 0);
            Assert.True(r.RolloutTokensPerSecond > 0 && r.TrainTokensPerSecond > 0);
            Assert.InRange(r.LengthMin, 1, 12);
            Assert.Equal(["accuracy", "format", "language", "vowels"], r.Rewards.Keys.Order(StringComparer.Ordinal));
            Assert.True(r.ZeroStdGroups < 1);
            Assert.True(r.Entropy > 0);
            Assert.True(r.GradNorm > 0, JsonSerializer.Serialize(r));
        }
        var lines = File.ReadAllLines(Path.Combine(_root, "run", GrpoRun.MetricsFileName));
        Assert.Equal(2, lines.Length);
        var completions = File.ReadAllLines(Path.Combine(_root, "run", GrpoRun.CompletionsFileName));
        Assert.Equal(2 * 2 * 4, completions.Length);
        using var doc = JsonDocument.Parse(completions[0]);
        Assert.True(doc.RootElement.TryGetProperty("advantage", out _));
        Assert.True(File.Exists(Path.Combine(_root, "run", "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(_root, "run", ByteLevelBpe.TokenizerFileName)));
    }

    [Fact]
    public void Resume_ReproducesTheUninterruptedRun()
    {
        var straight = new List<RlRecord>();
        Run(Options("straight", 3), straight.Add);
        Run(Options("resumed", 2));
        var resumed = new List<RlRecord>();
        Run(Options("resumed", 3) with { Resume = true }, resumed.Add);
        Assert.Single(resumed);
        Assert.Equal(straight[2].RewardMean, resumed[0].RewardMean);
        Assert.Equal(straight[2].Loss, resumed[0].Loss);
        Assert.Equal(straight[2].LengthMean, resumed[0].LengthMean);
        using var a = CheckpointDirectory.Open(Path.Combine(_root, "straight"));
        using var b = CheckpointDirectory.Open(Path.Combine(_root, "resumed"));
        var name = "model.layers.0.self_attn.o_proj.weight";
        var (x, y) = (new float[a.Info(name).Elements], new float[b.Info(name).Elements]);
        a.ReadWeight(name, x);
        b.ReadWeight(name, y);
        Assert.Equal(x, y);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(_root, "resumed", GrpoRun.MetricsFileName)).Length);
    }

    [Fact]
    public void Beta_KeepsAReference_AndLogsTheKl()
    {
        var records = new List<RlRecord>();
        Run(Options("kl", 2) with { Grpo = new GrpoOptions { Beta = 0.1 } }, records.Add);
        Assert.Equal(0, records[0].Kl, 6); // the policy starts as the reference
        Assert.True(records[1].Kl > 0);    // one update later they differ
        Assert.True(File.Exists(Path.Combine(_root, "kl", "reference.safetensors")));
    }

    [Fact]
    public void Temperature_SeveralPassesAndUpdates_KeepTheRolloutLogProbsTheTrainers()
    {
        var records = new List<RlRecord>();
        Run(Options("t07", 1) with { Temperature = 0.7, Iterations = 2, Updates = 2 }, records.Add);
        Assert.InRange(records[0].LogProbMismatch, 1e-9, 1e-4); // the engine divides in double, the trainer scales in f32
        Assert.True(records[0].MaxRatio != 1);                  // the second pass sees the policy its first updates moved
    }

    [Fact]
    public void Resume_AfterACrashBetweenCheckpoints_WithAReference_ReproducesTheUninterruptedRun()
    {
        var options = Options("crash", 4) with { CheckpointEvery = 2, Grpo = new GrpoOptions { Beta = 0.05 } };
        var straight = new List<RlRecord>();
        Run(options with { OutDir = Path.Combine(_root, "whole") }, straight.Add);
        var crash = Assert.Throws<InvalidOperationException>(() => Run(options, r =>
        {
            if (r.Step == 3) { throw new InvalidOperationException("killed"); } // after step 3 was logged, before its checkpoint
        }));
        Assert.Equal("killed", crash.Message);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(_root, "crash", GrpoRun.MetricsFileName)).Length);
        var resumed = new List<RlRecord>();
        Run(options with { Resume = true }, resumed.Add);
        Assert.Equal([3L, 4L], resumed.Select(r => r.Step));
        Assert.Equal(straight[3].Loss, resumed[1].Loss);
        Assert.Equal(straight[3].Kl, resumed[1].Kl);
        Assert.Equal(4, File.ReadAllLines(Path.Combine(_root, "crash", GrpoRun.MetricsFileName)).Length);
        var steps = File.ReadAllLines(Path.Combine(_root, "crash", GrpoRun.CompletionsFileName)).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64()).ToList();
        Assert.Equal(steps.Order(), steps); // the lost step's completions were cut before it was sampled again
        Assert.Equal(4 * 2 * 4, steps.Count);
    }

    [Fact]
    public void DynamicSampling_DropsGroupsWithoutSpread_AndMaskedTruncationsTrainNothing()
    {
        // A random model answers nothing and formats nothing: every reward is 0, so every group is dropped.
        var records = new List<RlRecord>();
        new GrpoRun(Options("dynamic", 1) with { DynamicSampling = true, MaxRefills = 2 }) { OnStep = records.Add }.Run();
        Assert.Equal(2 * 3, records[0].DroppedGroups);
        Assert.Equal(1.0, records[0].ZeroStdGroups);
        Assert.Equal(0, records[0].GradNorm);

        // Kept groups whose completions all hit the 12-token limit: masked, they are not trained on.
        records.Clear();
        Run(Options("masked", 1) with { Truncated = TruncatedCompletions.Mask }, records.Add);
        Assert.Equal(1.0, records[0].Truncated);
        Assert.Equal(0, records[0].GradNorm);
        Assert.True(records[0].ZeroStdGroups < 1); // the groups had a signal; masking, not the rewards, left nothing to train
    }

    [Fact]
    public void Precision_ReachesThePolicyUpdate_NotTheRollouts()
    {
        var (f32, bf16) = (new List<RlRecord>(), new List<RlRecord>());
        Run(Options("f32", 1), f32.Add);
        Run(Options("bf16", 1) with { Precision = LinearPrecision.Bf16 }, bf16.Add);
        Assert.Equal(f32[0].RewardMean, bf16[0].RewardMean);                                    // the same rollouts (F32 engine)
        Assert.InRange(Math.Abs((bf16[0].GradNorm / f32[0].GradNorm) - 1), 1e-9, 1e-2);         // a BF16 update, near F32's
        Assert.Contains("\"precision\": \"Bf16\"", File.ReadAllText(Path.Combine(_root, "bf16", "rl_state.json")), StringComparison.Ordinal);
    }

    [Fact]
    public void BadOptions_AreNamed()
    {
        Assert.Contains("--generations (G) must be at least 2", Assert.Throws<ArgumentOutOfRangeException>(() => Run(Options("bad", 1) with { Generations = 1 })).Message);
        Assert.Contains("--updates must divide", Assert.Throws<ArgumentOutOfRangeException>(() => Run(Options("bad", 1) with { Updates = 3 })).Message);
        Assert.Contains("unknown task", Assert.Throws<ArgumentException>(() => Run(Options("bad2", 1) with { Task = "poetry" })).Message);
    }
}
