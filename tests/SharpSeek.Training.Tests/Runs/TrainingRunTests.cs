// TrainingRunTests.cs: the tiny preset trained end to end in a temporary directory: the run directory is a loadable
// model directory, the loss falls on a repetitive corpus, a resumed run (after a cancel or after a simulated kill)
// repeats the uninterrupted run's losses bit for bit (an FP8 one too, with its BF16 moments), a NaN stops the run with the last checkpoint intact, and a
// half-written checkpoint is discarded or rolled forward, and a committed first checkpoint not yet moved into place is
// what readers of the run directory already load and what --resume rolls forward.
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Model.Layers;
using SharpSeek.Model.Tokenizer;
using SharpSeek.Training.Runs;

namespace SharpSeek.Training.Tests.Runs;

public sealed class TrainingRunTests
{
    [Fact]
    public void Run_WritesALoadableModelDirectory()
    {
        using var tmp = new TinyRun();
        var dir = tmp.Sub("run");
        var result = new TrainingRun(TinyRun.Options(dir, steps: 3)).Run();

        Assert.Equal(3, result.Step);
        Assert.Equal(3, result.CheckpointStep);
        Assert.True(result.Completed);
        foreach (var file in new[] { "config.json", "model.safetensors", "optimizer.safetensors", "tokenizer.json", "tokenizer_config.json", RunState.FileName, MetricsLog.FileName })
        {
            Assert.True(File.Exists(Path.Combine(dir, file)), $"{file} missing");
        }
        Assert.False(Directory.Exists(Path.Combine(dir, ".checkpoint-next")));
        var tokenizer = ByteLevelBpe.Load(dir);
        using var checkpoint = CheckpointDirectory.Open(dir);
        Assert.Equal(tokenizer.VocabSize, checkpoint.Config.VocabSize);
        Assert.Equal(tokenizer.EosId, checkpoint.Config.EosTokenId);
        Assert.Equal(DeepSeekChatTemplate.Source, tokenizer.ChatTemplate); // the run directory carries its chat template
        using var weights = new ModelWeights(checkpoint.Config);
        Assert.Equal(weights.Unique.Count, weights.Load(checkpoint));
        var state = RunState.Load(Path.Combine(dir, RunState.FileName));
        Assert.Equal(3, state.Step);
        Assert.Equal(3 * 128, state.TokensSeen);
        var records = MetricsLog.Read(dir);
        Assert.Equal([1L, 2L, 3L], records.Select(r => r.Step));
        Assert.All(records, r => Assert.True(double.IsFinite(r.Loss) && r.Loss > 0 && r.GradNorm > 0 && r.Lr > 0));
        Assert.NotNull(records[1].EvalLoss);
        Assert.Null(records[0].EvalLoss);
        Assert.NotNull(records[2].EvalLoss); // the last step always evaluates
        // tiny: layers 1 and 2 are MoE, plus the MTP block (layer 3); 8 experts, top-2 of 2·2·32 tokens per micro-batch.
        Assert.Equal([1, 2, 3], records[0].MoeLayers);
        Assert.All(records[0].ExpertLoad, l => Assert.Equal(8, l.Length));
        Assert.Equal(2 * 2 * 2 * 32, records[0].ExpertLoad[0].Sum());
        Assert.All(records[0].MaxVio, v => Assert.True(v >= 0));
    }

    [Fact]
    public void Loss_FallsOnARepetitiveCorpus()
    {
        using var tmp = new TinyRun();
        var corpus = tmp.Sub("corpus.txt");
        var rng = new Random(3);
        var names = new[] { "Ana", "Ben", "Chen", "Dara" };
        File.WriteAllText(corpus, string.Join("\n\n", Enumerable.Range(0, 400).Select(i =>
            $"{names[rng.Next(4)]} has {i % 7} apples and {i % 5} pears; the cat sat on the mat.")));
        var options = TinyRun.Options(tmp.Sub("run"), steps: 30) with { Data = [corpus], Lr = 1e-2, EvalEvery = 0 };
        new TrainingRun(options).Run();

        var losses = MetricsLog.Read(options.OutDir).Select(r => r.MainLoss).ToArray();
        Assert.Equal(30, losses.Length);
        var first = losses.Take(3).Average();
        var last = losses.TakeLast(3).Average();
        Assert.True(last < 0.6 * first, $"main loss {first:F3} over the first 3 steps, {last:F3} over the last 3");
    }

    [Fact]
    public void Resume_AfterCancel_RepeatsTheUninterruptedLossesExactly()
    {
        using var tmp = new TinyRun();
        new TrainingRun(TinyRun.Options(tmp.Sub("straight"), steps: 6)).Run();

        var split = TinyRun.Options(tmp.Sub("split"), steps: 6);
        using var cancel = new CancellationTokenSource();
        var first = new TrainingRun(split) { OnStep = r => { if (r.Step == 3) { cancel.Cancel(); } } }.Run(cancel.Token);
        Assert.False(first.Completed);
        Assert.Equal(3, first.CheckpointStep);
        var second = new TrainingRun(TrainingRun.ResumeOptions(split.OutDir)).Run();
        Assert.Equal(6, second.Step);

        AssertSameLosses(MetricsLog.Read(tmp.Sub("straight")), MetricsLog.Read(split.OutDir));
    }

    [Fact]
    public void Resume_AfterAKill_LosesOnlyTheStepsSinceTheCheckpoint()
    {
        using var tmp = new TinyRun();
        new TrainingRun(TinyRun.Options(tmp.Sub("straight"), steps: 6)).Run();

        // Checkpoints at 2 and 4; the process "dies" right after logging step 5.
        var killed = TinyRun.Options(tmp.Sub("killed"), steps: 6) with { CheckpointEvery = 2 };
        var run = new TrainingRun(killed) { OnStep = r => { if (r.Step == 5) { throw new SimulatedKillException(); } } };
        Assert.Throws<SimulatedKillException>(() => run.Run());
        Assert.Equal(4, RunState.Load(Path.Combine(killed.OutDir, RunState.FileName)).Step);
        Assert.Equal(5, MetricsLog.Read(killed.OutDir).Count);

        new TrainingRun(TrainingRun.ResumeOptions(killed.OutDir)).Run();
        AssertSameLosses(MetricsLog.Read(tmp.Sub("straight")), MetricsLog.Read(killed.OutDir));
    }

    [Fact]
    public void NonFiniteLoss_StopsWithTheLastGoodCheckpointIntact()
    {
        using var tmp = new TinyRun();
        // A learning rate of 1e30 blows the weights up after the first update; the forward then overflows.
        var options = TinyRun.Options(tmp.Sub("run"), steps: 10) with { Lr = 1e30, WarmupSteps = 0, CheckpointEvery = 1 };
        var e = Assert.Throws<TrainingDivergedException>(() => new TrainingRun(options).Run());

        Assert.Matches(@"^(loss|gradient norm) became (NaN|\+Inf|-Inf) at step \d+; ", e.Message);
        Assert.Equal(e.Step - 1, e.LastCheckpointStep);
        Assert.Contains($"the last good checkpoint is step {e.LastCheckpointStep}", e.Message, StringComparison.Ordinal);
        var state = RunState.Load(Path.Combine(options.OutDir, RunState.FileName));
        Assert.Equal(e.LastCheckpointStep, state.Step);
        Assert.True(MetricsLog.Read(options.OutDir).All(r => r.Step <= e.LastCheckpointStep));
        using var checkpoint = CheckpointDirectory.Open(options.OutDir);
        using var weights = new ModelWeights(checkpoint.Config);
        weights.Load(checkpoint);
    }

    [Fact]
    public void Fp8AndBf16_TrainCloseToF32_AndAnFp8RunResumesExactly()
    {
        using var tmp = new TinyRun();
        new TrainingRun(TinyRun.Options(tmp.Sub("f32"), steps: 6)).Run();
        new TrainingRun(TinyRun.Options(tmp.Sub("bf16"), steps: 6) with { Precision = LinearPrecision.Bf16 }).Run();
        var fp8 = TinyRun.Options(tmp.Sub("fp8"), steps: 6) with { Precision = LinearPrecision.Fp8 };
        new TrainingRun(fp8).Run();
        var (f32, bf16, fp8Losses) = (MetricsLog.Read(tmp.Sub("f32")), MetricsLog.Read(tmp.Sub("bf16")), MetricsLog.Read(fp8.OutDir));
        for (var i = 0; i < 6; i++)
        {
            Assert.InRange(Math.Abs((bf16[i].Loss / f32[i].Loss) - 1), 0, 2e-3);
            Assert.InRange(Math.Abs((fp8Losses[i].Loss / f32[i].Loss) - 1), 0, 1e-2);
        }
        Assert.NotEqual(f32[^1].Loss, fp8Losses[^1].Loss);                                     // the FP8 GEMMs ran
        Assert.NotEqual(f32[^1].Loss, bf16[^1].Loss);

        var split = TinyRun.Options(tmp.Sub("fp8-split"), steps: 6) with { Precision = LinearPrecision.Fp8 };
        using var cancel = new CancellationTokenSource();
        new TrainingRun(split) { OnStep = r => { if (r.Step == 3) { cancel.Cancel(); } } }.Run(cancel.Token);
        var resumed = TrainingRun.ResumeOptions(split.OutDir);
        Assert.Equal(LinearPrecision.Fp8, resumed.Precision);                                  // kept in trainer_state.json
        using (var state = SafeTensorsFile.Open(Path.Combine(split.OutDir, RunCheckpoint.OptimizerFileName)))
        {
            Assert.All(state.Tensors, t => Assert.Equal(Tensors.DType.BF16, t.DType));        // the recipe's BF16 moments
        }
        new TrainingRun(resumed).Run();
        AssertSameLosses(fp8Losses, MetricsLog.Read(split.OutDir));

        // An ablation's recipe reaches the Linears (its first loss differs from the paper's recipe's) and is kept for resume.
        var ablation = TinyRun.Options(tmp.Sub("fp8-tensor-scales"), steps: 2) with { Precision = LinearPrecision.Fp8, Fp8Recipe = "tensor-scales" };
        using var stop = new CancellationTokenSource();
        new TrainingRun(ablation) { OnStep = r => { if (r.Step == 1) { stop.Cancel(); } } }.Run(stop.Token);
        Assert.NotEqual(fp8Losses[0].Loss, MetricsLog.Read(ablation.OutDir)[0].Loss);
        Assert.Equal("tensor-scales", TrainingRun.ResumeOptions(ablation.OutDir).Fp8Recipe);

        // The recomputed regions change what is kept, not what is computed: the same losses bit for bit without them.
        var kept = TinyRun.Options(tmp.Sub("fp8-keep-activations"), steps: 6) with { Precision = LinearPrecision.Fp8, Fp8Recipe = "keep-activations" };
        new TrainingRun(kept).Run();
        AssertSameLosses(fp8Losses, MetricsLog.Read(kept.OutDir));

        // The paper's storage choices (the SwiGLU inputs cached in FP8; the o_proj input kept in E5M6) leave the forward as
        // it was (the first loss is the same bit for bit) and change the backward (the second is not).
        foreach (var storage in new[] { "swiglu-cache", "o-proj-e5m6" })
        {
            var cached = TinyRun.Options(tmp.Sub($"fp8-{storage}"), steps: 6) with { Precision = LinearPrecision.Fp8, Fp8Recipe = storage };
            using var stopAt2 = new CancellationTokenSource();
            new TrainingRun(cached) { OnStep = r => { if (r.Step == 2) { stopAt2.Cancel(); } } }.Run(stopAt2.Token);
            var cachedLosses = MetricsLog.Read(cached.OutDir);
            Assert.Equal(fp8Losses[0].Loss, cachedLosses[0].Loss);
            Assert.NotEqual(fp8Losses[1].Loss, cachedLosses[1].Loss);
            Assert.InRange(Math.Abs((cachedLosses[1].Loss / f32[1].Loss) - 1), 0, 1e-2);
        }

        // The MoE dispatch in FP8 changes the forward (the experts compute with the dispatched codes): the first loss
        // moves, by FP8's measure.
        var dispatch = TinyRun.Options(tmp.Sub("fp8-dispatch"), steps: 6) with { Precision = LinearPrecision.Fp8, Fp8Recipe = "fp8-dispatch" };
        using var stopAt1 = new CancellationTokenSource();
        new TrainingRun(dispatch) { OnStep = r => { if (r.Step == 1) { stopAt1.Cancel(); } } }.Run(stopAt1.Token);
        var dispatched = MetricsLog.Read(dispatch.OutDir)[0].Loss;
        Assert.NotEqual(fp8Losses[0].Loss, dispatched);
        Assert.InRange(Math.Abs((dispatched / f32[0].Loss) - 1), 0, 1e-2);
    }

    [Fact]
    public void Fp8_NonFiniteValues_StopWithTheLastGoodCheckpointIntact()
    {
        using var tmp = new TinyRun();
        var options = TinyRun.Options(tmp.Sub("run"), steps: 10) with { Lr = 1e30, WarmupSteps = 0, CheckpointEvery = 1, Precision = LinearPrecision.Fp8 };
        var e = Assert.Throws<TrainingDivergedException>(() => new TrainingRun(options).Run());
        Assert.Equal(e.Step - 1, e.LastCheckpointStep);
        Assert.Contains("NaN or infinite", e.Message, StringComparison.Ordinal);
        Assert.Contains($"the last good checkpoint is step {e.LastCheckpointStep}", e.Message, StringComparison.Ordinal);
        Assert.Equal(e.LastCheckpointStep, RunState.Load(Path.Combine(options.OutDir, RunState.FileName)).Step);
    }

    [Fact]
    public void ExistingRun_WithoutResume_IsRefused()
    {
        using var tmp = new TinyRun();
        var options = TinyRun.Options(tmp.Sub("run"), steps: 1);
        new TrainingRun(options).Run();
        var e = Assert.Throws<InvalidOperationException>(() => new TrainingRun(options).Run());
        Assert.Contains("--resume", e.Message, StringComparison.Ordinal);
        var missing = Assert.Throws<FileNotFoundException>(() => TrainingRun.ResumeOptions(tmp.Sub("nothing-here")));
        Assert.Contains(RunState.FileName, missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HalfWrittenCheckpoint_IsDiscardedOrRolledForward()
    {
        using var tmp = new TinyRun();
        var dir = tmp.Sub("run");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, RunState.FileName), "old");
        var next = Path.Combine(dir, ".checkpoint-next");

        // No COMPLETE marker: the staged files never replace the old ones.
        Directory.CreateDirectory(next);
        File.WriteAllText(Path.Combine(next, RunState.FileName), "new");
        RunCheckpoint.Recover(dir);
        Assert.Equal("old", File.ReadAllText(Path.Combine(dir, RunState.FileName)));
        Assert.False(Directory.Exists(next));

        // Marker present, model already moved, state not yet: the state is moved in.
        Directory.CreateDirectory(next);
        File.WriteAllText(Path.Combine(next, RunState.FileName), "new");
        File.WriteAllText(Path.Combine(next, "COMPLETE"), "");
        RunCheckpoint.Recover(dir);
        Assert.Equal("new", File.ReadAllText(Path.Combine(dir, RunState.FileName)));
        Assert.False(Directory.Exists(next));
    }

    // The campaign's kill: after the first checkpoint's COMPLETE marker, before its renames (the run directory holds only
    // the config.json training starts with). CheckpointDirectory (generate, serve) reads the staged weights; --resume
    // rolls the same files forward.
    [Fact]
    public void FirstCheckpointCommittedButNotMoved_ReadersAndResumeLoadTheSameWeights()
    {
        using var tmp = new TinyRun();
        var dir = tmp.Sub("run");
        new TrainingRun(TinyRun.Options(dir, steps: 2)).Run();
        var expected = Weights(dir);
        var next = Path.Combine(dir, CheckpointCommit.StagingFolder);
        Directory.CreateDirectory(next);
        File.Copy(Path.Combine(dir, "config.json"), Path.Combine(next, "config.json"));
        foreach (var file in new[] { "model.safetensors", RunCheckpoint.OptimizerFileName, RunState.FileName })
        {
            File.Move(Path.Combine(dir, file), Path.Combine(next, file));
        }
        File.WriteAllText(Path.Combine(next, CheckpointCommit.Marker), "");

        Assert.Equal(expected, Weights(dir));
        Assert.Equal(2, TrainingRun.ResumeOptions(dir).Steps);
        Assert.False(Directory.Exists(next));
        Assert.True(File.Exists(Path.Combine(dir, "model.safetensors")));
        Assert.Equal(expected, Weights(dir));
    }

    private static float[] Weights(string dir)
    {
        using var checkpoint = CheckpointDirectory.Open(dir);
        using var weights = new ModelWeights(checkpoint.Config);
        weights.Load(checkpoint);
        return [.. weights.Unique.SelectMany(p => p.Value.AsSpan<float>().ToArray())];
    }

    private static void AssertSameLosses(IReadOnlyList<MetricsRecord> expected, IReadOnlyList<MetricsRecord> actual)
    {
        Assert.Equal(expected.Select(r => r.Step), actual.Select(r => r.Step));
        for (var i = 0; i < expected.Count; i++)
        {
            var (e, a) = (expected[i], actual[i]);
            Assert.True(e.Loss == a.Loss && e.MainLoss == a.MainLoss && e.MtpLoss == a.MtpLoss && e.BalanceLoss == a.BalanceLoss,
                $"step {e.Step}: loss {e.Loss:R} vs {a.Loss:R}");
            Assert.Equal(e.GradNorm, a.GradNorm);
            Assert.Equal(e.Lr, a.Lr);
            Assert.Equal(e.EvalLoss, a.EvalLoss);
            Assert.Equal(e.ExpertLoad, a.ExpertLoad);
        }
    }

    private sealed class SimulatedKillException : Exception;

    [Theory]
    [InlineData(BalanceMode.AuxLossFree, true)]
    [InlineData(BalanceMode.V2AuxLoss, false)]
    [InlineData(BalanceMode.None, true)]
    public void BalanceAndMtpOptions_ReachTheObjectiveAndTheBias(BalanceMode balance, bool mtp)
    {
        using var tiny = new TinyRun();
        var options = TinyRun.Options(tiny.Sub("run"), steps: 3) with { Balance = balance, Mtp = mtp };
        var records = new List<MetricsRecord>();
        var run = new TrainingRun(options) { OnStep = records.Add };
        Assert.Equal(balance, run.Objective.Balance);
        Assert.Equal(mtp, run.Objective.UseMtp);
        run.Run();

        // The bias moves only under the auxiliary-loss-free rule; the balance loss is zero only without balancing.
        using var checkpoint = CheckpointDirectory.Open(options.OutDir);
        var biasName = checkpoint.Names.First(n => n.EndsWith("e_score_correction_bias", StringComparison.Ordinal));
        var bias = new float[checkpoint.Info(biasName).Elements];
        checkpoint.ReadWeight(biasName, bias);
        Assert.Equal(balance == BalanceMode.AuxLossFree, bias.Any(b => b != 0));
        Assert.Equal(balance == BalanceMode.None, records.All(r => r.BalanceLoss == 0));
        Assert.Equal(mtp, records.All(r => r.MtpLoss > 0));
        Assert.Equal(options with { Resume = false, Data = [] }, TrainingRun.ResumeOptions(options.OutDir) with { Resume = false, OutDir = options.OutDir, Data = [] });
    }

    [Fact]
    public void WsdSchedule_HoldsThePeakThenDecays()
    {
        using var tiny = new TinyRun();
        var options = TinyRun.Options(tiny.Sub("run"), steps: 10) with { Schedule = "wsd", WarmupSteps = 2 };
        var lrs = new List<double>();
        new TrainingRun(options) { OnStep = r => lrs.Add(r.Lr) }.Run();
        Assert.Equal(10, lrs.Count);
        Assert.True(lrs[0] < options.Lr, $"warm-up starts below the peak: {lrs[0]}");
        Assert.All(lrs.Skip(2).Take(6), lr => Assert.Equal(options.Lr, lr)); // steps 3..8: stable at the peak
        Assert.True(lrs[9] < lrs[8] && lrs[9] >= options.Lr * options.MinLrRatio, $"decays over the last steps: {string.Join(", ", lrs)}");
        var bad = Assert.Throws<ArgumentException>(() => (options with { Schedule = "linear" }).Validate());
        Assert.Contains("'linear'", bad.Message, StringComparison.Ordinal);
    }
}
