// DeepSeekTrainingStepAllocationTests.cs: after warm-up, a whole training step of the tiny DeepSeek-V3 preset (MLA,
// DeepSeekMoE with the sigmoid router and its correction bias, one MTP depth) allocates nothing on the GC heap: the
// batches from a token shard (across an epoch boundary), the objective's forward with the MTP and balance losses,
// backward over two accumulated micro-batches, global-norm clipping, AdamW, the bias update and zeroing the gradients,
// the calls TrainingRun.Run makes per step before it writes the metrics line. Counted on the calling thread and over the
// whole process (the worker pool's threads and any other), in a process of its own (Program.cs): inside the test host
// the runner's threads allocate a little all the time (about 170 bytes per 100 ms while idle), so a process-wide count
// there could not be exactly zero. Pending finalizers are run before the count starts.
using System.Diagnostics;
using System.Globalization;
using SharpSeek.Model;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;
using SharpSeek.Training.Data;
using SharpSeek.Training.Tests.Data;

namespace SharpSeek.Training.Tests;

public sealed class DeepSeekTrainingStepAllocationTests
{
    /// <summary>The first argument that makes the test assembly, run as a program, measure instead of doing nothing.</summary>
    internal const string Verb = "step-allocations";

    private const int MicroBatch = 2, SeqLen = 32, Accumulation = 2, WarmUpSteps = 4, MeasuredSteps = 8;

    // Where a step's bytes went on the calling thread, for the failure message.
    private static readonly string[] PhaseNames = ["batch", "objective", "backward", "clip", "adamw", "bias update", "zero grads"];

    [Theory]
    [InlineData(BalanceMode.AuxLossFree, true)]
    [InlineData(BalanceMode.V2AuxLoss, true)]
    [InlineData(BalanceMode.AuxLossFree, false)] // fully optimized code from the first call: other timings, other claiming orders
    public async Task TinyDeepSeekV3Step_AfterWarmUp_AllocatesNothingOnTheGcHeap(BalanceMode balance, bool tieredCompilation)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(typeof(DeepSeekTrainingStepAllocationTests).Assembly.Location);
        psi.ArgumentList.Add(Verb);
        psi.ArgumentList.Add(balance.ToString());
        psi.Environment["DOTNET_TieredCompilation"] = tieredCompilation ? "1" : "0";
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120)))
        {
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException("the measuring process did not finish in 120 s");
            }
        }
        var output = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, $"the measuring process failed ({process.ExitCode}): {output}");
        var result = output.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(kv => kv.Split('=', 2)).Where(kv => kv.Length == 2).ToDictionary(kv => kv[0], kv => kv[1], StringComparer.Ordinal);
        long Bytes(string key) => long.Parse(result[key], CultureInfo.InvariantCulture);
        double Loss(string key) => double.Parse(result[key], CultureInfo.InvariantCulture);

        Assert.True(Bytes("epochs") >= 1, $"the measured steps should cross an epoch of the sampler: {output}");
        Assert.True(Bytes("thread") == 0, $"{Bytes("thread") / MeasuredSteps} bytes per step on the calling thread: {output}");
        Assert.True(Bytes("process") == 0, $"{Bytes("process") / MeasuredSteps} bytes per step in the process: {output}");
        Assert.True(Loss("last") < Loss("first"), $"the loss should fall: {output}");
    }

    /// <summary>Warms up, measures <see cref="MeasuredSteps"/> steps and prints key=value pairs (bytes over all of
    /// them, the per-phase bytes on the calling thread, the first and last loss); run by Program.Main.</summary>
    internal static string Measure(BalanceMode balance)
    {
        using var run = new Run(balance);
        var c = run.Config;
        if (!(c.RoutedExperts > 1 && c.NumHiddenLayers > c.FirstKDenseReplace && c.KvLoraRank > 0 && c.MtpDepth == 1))
        {
            throw new InvalidOperationException("the tiny preset should be MoE + MLA + MTP");
        }
        var first = run.Step();
        for (var i = 1; i < WarmUpSteps; i++) { run.Step(); } // warm-up: arenas, tape, layers' and kernels' buffers reach their size
        // Finalizers allocate on the finalizer thread (the setup's garbage; the shared array pools' trim callback after
        // every gen-2 collection), which on a loaded machine may only get a core during the measured steps: bytes that are
        // not the step's. Collect and wait for them first, with no collection after the wait (printed as settle=).
        var settle = GC.GetTotalAllocatedBytes(precise: true);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        settle = GC.GetTotalAllocatedBytes(precise: true) - settle;
        run.Step(); // the collection may have trimmed the shared array pools: one more step rents back what the steps use
        Array.Clear(run.Phases);
        var epoch = run.Epoch;
        var thread = GC.GetAllocatedBytesForCurrentThread();
        var process = GC.GetTotalAllocatedBytes(precise: true);
        double last = 0;
        for (var i = 0; i < MeasuredSteps; i++) { last = run.Step(); }
        var processBytes = GC.GetTotalAllocatedBytes(precise: true) - process;
        var threadBytes = GC.GetAllocatedBytesForCurrentThread() - thread;
        var phases = string.Join(' ', PhaseNames.Select((n, i) => $"{n.Replace(' ', '_')}={run.Phases[i]}"));
        return string.Create(CultureInfo.InvariantCulture,
            $"thread={threadBytes} process={processBytes} settle={settle} epochs={run.Epoch - epoch} first={first:R} last={last:R} {phases}");
    }

    private sealed class Run : IDisposable
    {
        private readonly TempDir _dir = new();
        private readonly TokenShard _shard;
        private readonly ModelWeights _weights;
        private readonly Transformer _model;
        private readonly AdamW _optimizer;
        private readonly BatchSampler _sampler;
        private readonly ObjectiveOptions _objective;
        private readonly LrSchedule _schedule = LrSchedule.WarmupCosine(3e-3, 2, 100);
        private readonly Arena _arena = new("step");
        private readonly Tape _tape;
        private readonly ForwardResult _forward = new();
        private readonly BiasUpdate _bias;
        private readonly int[] _inputs = new int[MicroBatch * SeqLen];
        private readonly int[] _targets = new int[MicroBatch * SeqLen];
        private long _step;

        public Run(BalanceMode balance)
        {
            var config = ModelConfig.LoadPreset("tiny");
            var rng = new Random(7);
            var path = _dir.File("train.bin");
            // 20 documents of 50 tokens: 31 windows of 33 tokens, so every 8 steps of 4 windows cross an epoch.
            TokenShard.Write(path, Enumerable.Range(0, 20).Select(_ => Enumerable.Range(0, 50).Select(_ => rng.Next(2, 40)).ToArray()), config.EosTokenId ?? 1);
            _shard = TokenShard.Open(path);
            _weights = new ModelWeights(config, DType.F32, withGradients: true);
            _weights.InitializeRandom(3);
            _model = new Transformer(_weights, SeqLen);
            _optimizer = new AdamW(_weights, new AdamWOptions { WeightDecay = 0.1 });
            _sampler = new BatchSampler(_shard, MicroBatch, SeqLen, seed: 5);
            _objective = new ObjectiveOptions { Balance = balance };
            _tape = new Tape(_arena);
            _bias = new BiasUpdate(_model);
        }

        public ModelConfig Config => _weights.Config;

        public long Epoch => _sampler.Epoch;

        public long[] Phases { get; } = new long[PhaseNames.Length];

        // The body of TrainingRun.Run's step loop, less the divergence checks' messages and the metrics line.
        public double Step()
        {
            _step++;
            double total = 0;
            for (var micro = 0; micro < Accumulation; micro++)
            {
                var at = GC.GetAllocatedBytesForCurrentThread();
                _tape.Reset();
                _sampler.Next(_inputs, _targets);
                var x = _arena.FromSpan<int>(_inputs, MicroBatch, SeqLen);  // (B, T)
                var y = _arena.FromSpan<int>(_targets, MicroBatch, SeqLen); // (B, T)
                at = Mark(0, at);
                var (loss, parts) = Objective.Compute(_tape, _model, x, y, _objective, _forward);
                _bias.Add(_forward);
                at = Mark(1, at);
                _tape.Backward(ScaleOp.Apply(_tape, loss, 1.0 / Accumulation));
                Mark(2, at);
                total += parts.Total / Accumulation;
            }
            var t = GC.GetAllocatedBytesForCurrentThread();
            var gradNorm = GradClip.ClipGlobalNorm(_weights, 1.0);
            t = Mark(3, t);
            _optimizer.Step(_schedule.At(_step));
            t = Mark(4, t);
            _bias.Apply(_objective.Balance == BalanceMode.AuxLossFree ? _objective.BiasUpdateSpeed : 0);
            t = Mark(5, t);
            _weights.ZeroGradients();
            Mark(6, t);
            if (!double.IsFinite(total) || !double.IsFinite(gradNorm)) { throw new InvalidOperationException("the tiny run diverged"); }
            return total;
        }

        // Adds this thread's bytes since `since` to phase `phase`; returns the new mark.
        private long Mark(int phase, long since)
        {
            var now = GC.GetAllocatedBytesForCurrentThread();
            Phases[phase] += now - since;
            return now;
        }

        public void Dispose()
        {
            _arena.Dispose();
            _optimizer.Dispose();
            _model.Dispose();
            _weights.Dispose();
            _shard.Dispose();
            _dir.Dispose();
        }
    }
}
