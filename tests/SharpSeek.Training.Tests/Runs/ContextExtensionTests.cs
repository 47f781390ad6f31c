// ContextExtensionTests.cs: a context-extension stage: YaRN with DeepSeek-V3's settings written into the config (the
// softmax scale gains (0.1·ln s + 1)² for MLA; a dense model's cos/sin gain 0.1·ln s + 1), the factor defaulting to
// the length ratio and kept by a second stage, the tokens per step kept, the base run's final learning rate held, and
// a tiny run extended end to end into a model directory whose config every command reads.
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Model.Layers;
using SharpSeek.Training.Runs;

namespace SharpSeek.Training.Tests.Runs;

public sealed class ContextExtensionTests
{
    [Fact]
    public void FirstStage_WritesYarnOverTheTrainedLength()
    {
        var small = ModelConfig.LoadPreset("small");
        Assert.Null(small.RopeScaling);
        var stage = ContextExtension.Plan(small, trainedLength: 256, to: 1024, factor: 16);
        Assert.Equal((1024, 16.0, 256), (stage.To, stage.Factor, stage.Original));
        var extended = stage.Apply(small);
        Assert.Equal(1024, extended.MaxPositionEmbeddings);
        Assert.True(extended.UsesYarn);
        Assert.Equal((32.0, 1.0, 1.0, 1.0), (extended.RopeScaling!.BetaFast, extended.RopeScaling.BetaSlow, extended.RopeScaling.Mscale, extended.RopeScaling.MscaleAllDim));
        var m = (0.1 * Math.Log(16)) + 1;
        Assert.Equal(m * m / Math.Sqrt(small.QkHeadDim), RopeTables.SoftmaxScale(extended), 12);
        Assert.Equal(1.0, new RopeTables(extended, 4, Tensors.DType.F32, new Tensors.Arena("t")).AttentionFactor);
        var reloaded = ModelConfig.Parse(extended.ToJson());                       // what every command reads back
        Assert.Equal(extended.ToJson(), reloaded.ToJson());
        Assert.Equal(RopeTables.InverseFrequenciesFor(extended), RopeTables.InverseFrequenciesFor(reloaded));
        Assert.NotEqual(RopeTables.InverseFrequenciesFor(small), RopeTables.InverseFrequenciesFor(extended));

        Assert.Equal(4.0, ContextExtension.Plan(small, 256, 1024).Factor);         // default: the length ratio
    }

    [Fact]
    public void SecondStage_KeepsTheFirstStagesYarn()
    {
        var first = ContextExtension.Plan(ModelConfig.LoadPreset("small"), 256, 1024, 16).Apply(ModelConfig.LoadPreset("small"));
        var second = ContextExtension.Plan(first, trainedLength: 1024, to: 4096);
        Assert.Equal((4096, 16.0, 256), (second.To, second.Factor, second.Original));
        Assert.Equal(RopeTables.InverseFrequenciesFor(first), RopeTables.InverseFrequenciesFor(second.Apply(first)));
        Assert.Equal(4096, second.Apply(first).MaxPositionEmbeddings);
        var e = Assert.Throws<ArgumentException>(() => ContextExtension.Plan(first, 1024, 1024));
        Assert.Contains("must exceed the context the model already has (1024 tokens)", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ContextExtension.Plan(first, 1024, 2048, factor: 0.5));
    }

    [Fact]
    public void DenseModel_ScalesCosAndSinInstead()
    {
        var dense = ModelConfig.LoadPreset("dense-1m");
        var extended = ContextExtension.Plan(dense, dense.MaxPositionEmbeddings, 4 * dense.MaxPositionEmbeddings).Apply(dense);
        Assert.Equal("yarn", extended.RopeScaling!.Kind);
        Assert.Equal(0, extended.RopeScaling.MscaleAllDim);
        Assert.Equal((0.1 * Math.Log(4)) + 1, new RopeTables(extended, 4, Tensors.DType.F32, new Tensors.Arena("t")).AttentionFactor, 12);
        Assert.Equal(1 / Math.Sqrt(dense.AttentionHeadDim), RopeTables.SoftmaxScale(extended), 12);
        var llama3 = dense with { RopeScaling = new RopeScaling { RopeType = "llama3", Factor = 8, LowFreqFactor = 1, HighFreqFactor = 4 } };
        Assert.Contains("'llama3'", Assert.Throws<ArgumentException>(() => ContextExtension.Plan(llama3, 256, 1024)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1024, 4096, 2)] // 2 × 1024 per pass, as the base run's 8 × 256, twice per step
    [InlineData(4096, 4096, 1)]
    [InlineData(2048, 4096, 1)]
    [InlineData(8192, 8192, 1)]
    public void Options_KeepTheTokensPerStepAndPerPass_AndTheFinalLearningRate(int to, int batchTokens, int microBatch)
    {
        var baseRun = new RunOptions { SeqLen = 256, MicroBatch = 8, BatchTokens = 4096, Lr = 2e-3, MinLrRatio = 0.1, Seed = 9, PasskeyShare = 0.25 };
        var o = new ContextExtension { To = to, Factor = 16, Original = 256 }.Options(baseRun, "base", "out", steps: 40);
        Assert.Equal((to, batchTokens, microBatch), (o.SeqLen, o.BatchTokens, o.MicroBatch));
        Assert.Equal(2e-4, o.Lr, 15);
        Assert.Equal((0L, 1.0), (o.WarmupSteps, o.MinLrRatio));
        Assert.Equal(("base", "out", 40L, 9, 0.25), (o.Init, o.OutDir, o.Steps, o.Seed, o.PasskeyShare));
        Assert.Equal(to, o.Extend!.To);
        Assert.True((long)o.MicroBatch * o.SeqLen <= Math.Max(2048, to), "a pass holds no more tokens than the base run's, or one sequence");
        o.Validate();
        Assert.Equal(5e-5, new ContextExtension { To = to, Factor = 16, Original = 256 }.Options(null, "base", "out", 40, lr: 5e-5).Lr);
    }

    [Fact]
    public void TinyRun_Extended_WritesTheLongerConfigAndTrainsAtIt()
    {
        using var tmp = new TinyRun();
        var baseDir = tmp.Sub("base");
        var baseOptions = TinyRun.Options(baseDir, steps: 2) with { PasskeyShare = 0.3 };
        new TrainingRun(baseOptions).Run();
        var baseConfig = ModelConfig.Load(baseDir);
        var stage = ContextExtension.Plan(baseConfig, baseOptions.SeqLen, 2 * baseConfig.MaxPositionEmbeddings);
        var outDir = tmp.Sub("long");
        var options = stage.Options(ContextExtension.BaseRun(baseDir), baseDir, outDir, steps: 1);
        Assert.Equal((stage.To, 1), (options.BatchTokens, options.MicroBatch));        // 128 tokens/step < To: one sequence of To
        var result = new TrainingRun(options).Run();
        Assert.True(result.Completed);
        Assert.Equal(MetricsLog.Read(baseDir)[^1].Lr, options.Lr);                        // the base run's last learning rate
        Assert.True(double.IsFinite(result.LastLoss));
        using var checkpoint = CheckpointDirectory.Open(outDir);
        Assert.Equal(stage.To, checkpoint.Config.MaxPositionEmbeddings);
        Assert.Equal(baseConfig.RopeScaling!.OriginalMaxPositionEmbeddings, checkpoint.Config.RopeScaling!.OriginalMaxPositionEmbeddings);
        Assert.Equal(stage.Factor, checkpoint.Config.RopeScaling.Factor);
        Assert.Equal(stage.To, RunState.Load(Path.Combine(outDir, RunState.FileName)).Options.Extend!.To);
        var bad = options with { SeqLen = stage.To + 1, BatchTokens = stage.To + 1 };
        Assert.Contains("seq-len ≤", Assert.Throws<ArgumentException>(bad.Validate).Message, StringComparison.Ordinal);
    }
}
