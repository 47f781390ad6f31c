// TrainingRun.cs: a training run from start (or resume) to finish, reading like train_gpt2's main: prepare the run
// directory (config.json, a tokenizer trained on the data, token shards under data/), build or reload the model and
// optimizer, then for each step accumulate gradients over micro-batches, clip, step AdamW on the schedule, move the
// router biases, log metrics, evaluate and checkpoint now and then. The run directory is a model directory that
// generate loads as it is. Not here: the loss and optimizer (Objective, AdamW), batches (Data/), progress display
// (TrainCommand). Tested by TrainingRunTests.
using System.Diagnostics;
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Model.Layers;
using SharpSeek.Model.Tokenizer;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Kernels;
using SharpSeek.Tensors.Ops;
using SharpSeek.Training.Data;
using SharpSeek.Training.Tasks;

namespace SharpSeek.Training.Runs;

/// <summary>Trains a model into a run directory; <see cref="Run"/> starts it or, with <see cref="RunOptions.Resume"/>,
/// continues it so that every step's loss equals the uninterrupted run's bit for bit.</summary>
public sealed class TrainingRun
{
    // The tokenizer is trained on at most this much text (the generated corpus is far below it).
    private const long TokenizerTextChars = 16L << 20;
    private const double EvalFraction = 0.02;

    private readonly Action<string> _log;

    public TrainingRun(RunOptions options, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        Objective = new ObjectiveOptions { Balance = options.Balance, UseMtp = options.Mtp };
        _log = log ?? (_ => { });
    }

    public RunOptions Options { get; }

    /// <summary>The objective's settings (MTP weight, balance mode, bias update speed).</summary>
    public ObjectiveOptions Objective { get; init; }

    /// <summary>Called after every step with the line just written to metrics.jsonl.</summary>
    public Action<MetricsRecord>? OnStep { get; init; }

    /// <summary>Completes a checkpoint a crash left staged in <paramref name="runDirectory"/>, so its trainer_state.json
    /// says how far the run got (what <see cref="Run"/> and <see cref="ResumeOptions"/> do first).</summary>
    public static void RecoverCheckpoint(string runDirectory) => RunCheckpoint.Recover(runDirectory);

    /// <summary>The options a resumed run continues with: those saved in the run's trainer_state.json, with the step
    /// count replaced when <paramref name="steps"/> is given.</summary>
    public static RunOptions ResumeOptions(string runDirectory, long? steps = null)
    {
        RunCheckpoint.Recover(runDirectory);
        var path = Path.Combine(runDirectory, RunState.FileName);
        if (!File.Exists(path)) { throw new FileNotFoundException($"no {RunState.FileName} in '{runDirectory}': nothing to resume (start without --resume)", path); }
        var saved = RunState.Load(path).Options;
        return saved with { OutDir = runDirectory, Steps = steps ?? saved.Steps, Resume = true };
    }

    /// <summary>Trains until <see cref="RunOptions.Steps"/> or until <paramref name="cancel"/> fires (then checkpoints
    /// the last completed step). Throws <see cref="TrainingDivergedException"/> on a NaN or infinite loss or gradient
    /// norm, leaving the last checkpoint as it was.</summary>
    public RunResult Run(CancellationToken cancel = default)
    {
        var o = Options;
        o.Validate();
        var dir = o.OutDir;
        Directory.CreateDirectory(dir);
        RunCheckpoint.Recover(dir);
        var statePath = Path.Combine(dir, RunState.FileName);
        var state = Prepare(o, dir, statePath);
        var config = ModelConfig.Load(dir);
        if (o.SeqLen > config.MaxPositionEmbeddings)
        {
            throw new ArgumentException($"seq-len {o.SeqLen} exceeds the config's max_position_embeddings {config.MaxPositionEmbeddings}");
        }

        using var trainShard = TokenShard.Open(Path.Combine(dir, state.TrainShard));
        using var evalShard = TokenShard.Open(Path.Combine(dir, state.EvalShard));
        using var weights = new ModelWeights(config, DType.F32, withGradients: true);
        if (o.Resume)
        {
            using var checkpoint = CheckpointDirectory.Open(dir);
            weights.Load(checkpoint);
        }
        else if (o.Init is { } init)
        {
            using var checkpoint = CheckpointDirectory.Open(init);
            weights.Load(checkpoint);
            _log($"starting from the weights in {init}");
        }
        else
        {
            weights.InitializeRandom(o.Seed);
        }
        weights.UsePrecision(o.Precision, Tensors.Ops.Fp8Recipe.Parse(o.Fp8Recipe));
        using var model = new Transformer(weights, o.SeqLen);
        using var optimizer = new AdamW(weights, new AdamWOptions { WeightDecay = o.WeightDecay, Moments = AdamWOptions.MomentsFor(o.Precision) });
        if (o.Resume) { optimizer.Load(Path.Combine(dir, RunCheckpoint.OptimizerFileName)); }
        var sampler = new BatchSampler(trainShard, o.MicroBatch, o.SeqLen, state.SamplerSeed, state.SamplerPosition);
        var evalBatches = o.EvalEvery > 0 ? HeldOut(evalShard, o) : null;
        var warmup = Math.Min(o.WarmupSteps, o.Steps);
        var schedule = o.Schedule == "wsd"
            ? LrSchedule.WarmupStableDecay(o.Lr, warmup, o.Steps, minRatio: o.MinLrRatio)
            : LrSchedule.WarmupCosine(o.Lr, warmup, o.Steps, o.MinLrRatio);
        using var metrics = MetricsLog.Open(dir, state.Step);
        _log($"training {weights.Unique.Sum(p => p.Value.ElementCount):N0} parameters for steps {state.Step + 1} .. {o.Steps}: {o.BatchTokens} tokens/step "
            + $"({o.AccumulationSteps()} × {o.MicroBatch} × {o.SeqLen}), train shard {trainShard.TokenCount:N0} tokens"
            + (o.Precision == LinearPrecision.Fp32 ? "" : $", {o.Precision.ToString().ToUpperInvariant()} GEMMs")
            + (o.Fp8Recipe.Length > 0 ? $" ({o.Fp8Recipe})" : ""));

        using var arena = new Arena("step");
        var tape = new Tape(arena);
        var forward = new ForwardResult(); // each micro-batch's forward, read by the objective and the bias update's count
        var bias = new BiasUpdate(model);
        var accumulation = o.AccumulationSteps();
        var inputs = new int[o.MicroBatch * o.SeqLen];
        var targets = new int[o.MicroBatch * o.SeqLen];
        var clock = Stopwatch.StartNew();
        var elapsedBefore = state.ElapsedSeconds;
        var checkpointStep = state.Step;
        double firstLoss = double.NaN, lastLoss = double.NaN;
        double? lastEval = null;
        var step = state.Step;
        while (step < o.Steps && !cancel.IsCancellationRequested)
        {
            step++;
            var stepClock = Stopwatch.StartNew();
            double total = 0, main = 0, mtp = 0, balance = 0;
            for (var micro = 0; micro < accumulation; micro++)
            {
                tape.Reset();
                sampler.Next(inputs, targets);
                var x = arena.FromSpan<int>(inputs, o.MicroBatch, o.SeqLen);  // (B, T)
                var y = arena.FromSpan<int>(targets, o.MicroBatch, o.SeqLen); // (B, T)
                try
                {
                    var (loss, parts) = Training.Objective.Compute(tape, model, x, y, Objective, forward);
                    bias.Add(forward);
                    tape.Backward(accumulation == 1 ? loss : ScaleOp.Apply(tape, loss, 1.0 / accumulation));
                    total += parts.Total / accumulation;
                    main += parts.Main / accumulation;
                    mtp += parts.Mtp / accumulation;
                    balance += parts.Balance / accumulation;
                }
                catch (NonFiniteTensorException e)
                {
                    throw new TrainingDivergedException(e, step, checkpointStep);                       // FP8 quantization met a NaN/Inf
                }
            }
            if (!double.IsFinite(total)) { throw new TrainingDivergedException("loss", total, step, checkpointStep); }
            var gradNorm = GradClip.ClipGlobalNorm(weights, o.GradClip);
            if (!double.IsFinite(gradNorm)) { throw new TrainingDivergedException("gradient norm", gradNorm, step, checkpointStep); }
            var lr = schedule.At(step);
            optimizer.Step(lr);
            var loads = bias.StepLoads();
            bias.Apply(Objective.Balance == BalanceMode.AuxLossFree ? Objective.BiasUpdateSpeed : 0); // γ = 0 only resets the loads
            weights.ZeroGradients();

            double? evalLoss = null;
            if (evalBatches is not null && (step % o.EvalEvery == 0 || step == o.Steps))
            {
                try
                {
                    evalLoss = Evaluate(model, tape, forward, evalBatches, o, Objective.IgnoreIndex);
                }
                catch (NonFiniteTensorException nonFinite)
                {
                    throw new TrainingDivergedException(nonFinite, step, checkpointStep);               // the step's weights overflow an FP8 GEMM
                }
                if (evalLoss is { } e)
                {
                    lastEval = e;
                    state = state with { BestEvalLoss = Math.Min(state.BestEvalLoss ?? double.PositiveInfinity, e) };
                }
            }
            var elapsed = elapsedBefore + clock.Elapsed.TotalSeconds;
            state = state with { Step = step, SamplerPosition = sampler.Position, TokensSeen = state.TokensSeen + o.BatchTokens, ElapsedSeconds = elapsed };
            var record = new MetricsRecord
            {
                Step = step,
                Loss = total,
                MainLoss = main,
                MtpLoss = mtp,
                BalanceLoss = balance,
                Lr = lr,
                GradNorm = gradNorm,
                Tokens = state.TokensSeen,
                TokensPerSecond = o.BatchTokens / Math.Max(stepClock.Elapsed.TotalSeconds, 1e-9),
                ElapsedSeconds = elapsed,
                MoeLayers = [.. loads.Select(l => l.Layer)],
                ExpertLoad = [.. loads.Select(l => l.Load)],
                MaxVio = [.. loads.Select(l => MetricsLog.MaxVio(l.Load))],
                EvalLoss = evalLoss,
            };
            metrics.Append(record);
            OnStep?.Invoke(record);
            if (double.IsNaN(firstLoss)) { firstLoss = total; }
            lastLoss = total;
            if (step % o.CheckpointEvery == 0 || step == o.Steps)
            {
                RunCheckpoint.Save(dir, config, weights, optimizer, state);
                checkpointStep = step;
            }
        }
        if (checkpointStep < step)
        {
            RunCheckpoint.Save(dir, config, weights, optimizer, state);
            checkpointStep = step;
        }
        return new RunResult(step, checkpointStep, firstLoss, lastLoss, lastEval, step >= o.Steps);
    }

    // A fresh run: config.json, tokenizer and shards (each reused when already there). A resume: the saved state.
    private RunState Prepare(RunOptions o, string dir, string statePath)
    {
        if (o.Resume)
        {
            if (!File.Exists(statePath)) { throw new FileNotFoundException($"no {RunState.FileName} in '{dir}': nothing to resume (start without --resume)", statePath); }
            return RunState.Load(statePath) with { Options = o };
        }
        if (File.Exists(statePath))
        {
            throw new InvalidOperationException($"'{dir}' already holds a run at step {RunState.Load(statePath).Step}; pass --resume to continue it or choose another --out");
        }
        if (o.Init is { } init) { return PrepareFromModel(o, dir, init); }
        var preset = ModelConfig.LoadPreset(o.Config);
        ByteLevelBpe tokenizer;
        if (File.Exists(Path.Combine(dir, ByteLevelBpe.TokenizerFileName)))
        {
            tokenizer = ByteLevelBpe.Load(dir);
            _log($"using the tokenizer in {dir} ({tokenizer.VocabSize} tokens)");
        }
        else
        {
            // The vocabulary needs room for the 256 bytes and the special tokens, whatever the preset says.
            var vocab = Math.Max(preset.VocabSize, 256 + DeepSeekTokens.All.Count);
            var clock = Stopwatch.StartNew();
            tokenizer = BpeTrainer.Train(Prefix(Texts(o), TokenizerTextChars), vocab, DeepSeekTokens.All, BpeTrainerOptions.DeepSeek);
            tokenizer.Save(dir);
            _log($"trained a {tokenizer.VocabSize}-token tokenizer in {clock.Elapsed.TotalSeconds:F1} s");
        }
        var config = preset with { VocabSize = tokenizer.VocabSize, BosTokenId = tokenizer.BosId, EosTokenId = tokenizer.EosId };
        CheckpointWriter.SavedConfig(config, CheckpointFormat.F32).Save(Path.Combine(dir, "config.json"));
        var (train, eval) = DatasetBuilder.Build(Texts(o), tokenizer, Path.Combine(dir, "data"), EvalFraction, o.Seed, _log);
        return new RunState
        {
            SamplerSeed = (ulong)o.Seed,
            TrainShard = Path.GetRelativePath(dir, train),
            EvalShard = Path.GetRelativePath(dir, eval),
            Options = o,
        };
    }

    // Fine-tuning: the model directory's config and tokenizer as they are (an HF vocabulary may be padded past the
    // tokenizer: Qwen2's 151,936 rows for 151,665 tokens), the corpus tokenized with that tokenizer.
    private RunState PrepareFromModel(RunOptions o, string dir, string init)
    {
        if (!File.Exists(Path.Combine(init, ByteLevelBpe.TokenizerFileName)))
        {
            throw new FileNotFoundException($"--init '{init}' has no {ByteLevelBpe.TokenizerFileName}; fine-tuning needs the model's own tokenizer", Path.Combine(init, ByteLevelBpe.TokenizerFileName));
        }
        var config = ModelConfig.Load(init);
        if (o.Extend is { } extension)
        {
            config = extension.Apply(config);
            _log($"extending the context to {extension.To} tokens: YaRN factor {extension.Factor:G4} over the original {extension.Original}");
        }
        var tokenizer = ByteLevelBpe.Load(init);
        if (tokenizer.VocabSize > config.VocabSize)
        {
            throw new InvalidDataException($"--init '{init}': the tokenizer has {tokenizer.VocabSize} tokens but config.json's vocab_size is {config.VocabSize}; expected a tokenizer that fits the vocabulary");
        }
        foreach (var file in new[] { ByteLevelBpe.TokenizerFileName, "tokenizer_config.json" })
        {
            // byte for byte: an HF tokenizer_config.json holds more than ours writes (add_bos_token, the chat template)
            if (File.Exists(Path.Combine(init, file))) { File.Copy(Path.Combine(init, file), Path.Combine(dir, file), overwrite: true); }
        }
        CheckpointWriter.SavedConfig(config, CheckpointFormat.F32).Save(Path.Combine(dir, "config.json"));
        _log($"fine-tuning {config.ModelType} from {init} with its {tokenizer.VocabSize}-token tokenizer");
        var (train, eval) = o.PreparedData ? PreparedShards(dir) : DatasetBuilder.Build(Texts(o), tokenizer, Path.Combine(dir, "data"), EvalFraction, o.Seed, _log);
        return new RunState
        {
            SamplerSeed = (ulong)o.Seed,
            TrainShard = Path.GetRelativePath(dir, train),
            EvalShard = Path.GetRelativePath(dir, eval),
            Options = o,
        };
    }

    // Shards a caller wrote into data/ before the run (fine-tuning examples with their loss masks).
    private static (string Train, string Eval) PreparedShards(string dir)
    {
        var train = Path.Combine(dir, "data", DatasetBuilder.TrainFileName);
        var eval = Path.Combine(dir, "data", DatasetBuilder.EvalFileName);
        foreach (var path in new[] { train, eval })
        {
            if (!File.Exists(path)) { throw new FileNotFoundException($"{path}: the run expects prepared shards in {Path.Combine(dir, "data")} (train.tokens and eval.tokens)", path); }
        }
        return (train, eval);
    }

    private static IEnumerable<string> Texts(RunOptions o) => Passkey.Mix(
        o.Data.Count == 0 ? ReasoningCorpus.Generate(o.Seed, o.CorpusDocuments, o.CorpusTasks is null ? null : TaskMix.Parse(o.CorpusTasks)) : CorpusReader.Read(o.Data),
        o.PasskeyShare, o.Seed, o.SeqLen);

    private static IEnumerable<string> Prefix(IEnumerable<string> texts, long maxChars)
    {
        long chars = 0;
        foreach (var text in texts)
        {
            if (chars >= maxChars) { yield break; }
            chars += text.Length;
            yield return text;
        }
    }

    // The held-out batches, or none (said in the log) when the eval split is too small for one batch.
    private EvalBatches? HeldOut(TokenShard shard, RunOptions o)
    {
        try
        {
            return new EvalBatches(shard, o.MicroBatch, o.SeqLen, o.EvalBatches);
        }
        catch (ArgumentException e)
        {
            _log($"no evaluation in this run: {e.Message}");
            return null;
        }
    }

    // Mean next-token cross-entropy of the main head over the held-out batches (over their targets where a loss mask
    // leaves some out), no gradients, not counted in the router loads.
    private static double? Evaluate(Transformer model, Tape tape, ForwardResult forward, EvalBatches batches, RunOptions o, int ignoreIndex)
    {
        tape.GradEnabled = false;
        try
        {
            double sum = 0;
            var count = 0;
            foreach (var (inputs, targets) in batches.All())
            {
                tape.Reset();
                var x = tape.Arena.FromSpan<int>(inputs, inputs.Length / o.SeqLen, o.SeqLen);  // (B, T)
                var y = tape.Arena.FromSpan<int>(targets, targets.Length);                    // (B·T)
                var logits = model.Forward(tape, x, forward, mtp: false).Logits;              // (B, T, V)
                var loss = CrossEntropyOp.Apply(tape, logits, y, ignoreIndex);
                sum += tape.Value(loss).AsSpan<float>()[0];
                count++;
            }
            return count == 0 ? null : sum / count;
        }
        finally
        {
            tape.GradEnabled = true;
        }
    }
}
