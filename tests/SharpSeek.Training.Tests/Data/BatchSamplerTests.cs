// BatchSamplerTests.cs: targets are inputs shifted by one and every row is a window of the shard at a multiple of
// seqLen; a sampler rebuilt from a saved Position gives exactly the batches of the uninterrupted one, across epochs;
// each epoch visits every window once in a new order; EvalBatches are fixed, spread over the shard and shifted.
using SharpSeek.Training.Data;

namespace SharpSeek.Training.Tests.Data;

public sealed class BatchSamplerTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>One document of ids 1..n-1 then EOS 0: token at offset i is i + 1 (the last is 0), so a window's
    /// first input names its start.</summary>
    private TokenShard CountingShard(int tokens)
    {
        var path = _dir.File($"count{tokens}.tokens");
        TokenShard.Write(path, [Enumerable.Range(1, tokens - 1).ToArray()], 0);
        return TokenShard.Open(path);
    }

    [Fact]
    public void Next_TargetsAreInputsShiftedByOne_RowsAreWindowsOfTheShard()
    {
        using var shard = CountingShard(1001);
        const int Batch = 3, SeqLen = 17;
        var sampler = new BatchSampler(shard, Batch, SeqLen, seed: 5);
        var inputs = new int[Batch * SeqLen];
        var targets = new int[Batch * SeqLen];
        for (var step = 0; step < 10; step++)
        {
            sampler.Next(inputs, targets);
            for (var b = 0; b < Batch; b++)
            {
                var start = inputs[b * SeqLen] - 1;
                Assert.Equal(0, start % SeqLen);
                var window = shard.Tokens(start, SeqLen + 1);
                Assert.Equal(window[..SeqLen].ToArray(), inputs.AsSpan(b * SeqLen, SeqLen).ToArray());
                Assert.Equal(window[1..].ToArray(), targets.AsSpan(b * SeqLen, SeqLen).ToArray());
            }
        }
        Assert.Equal(10 * Batch, sampler.Position);
    }

    [Fact]
    public void Resume_FromSavedPosition_GivesTheUninterruptedBatches()
    {
        using var shard = CountingShard(613);
        const int Batch = 4, SeqLen = 9; // 68 windows per epoch: 40 batches cross two epoch boundaries mid-batch
        var uninterrupted = Batches(new BatchSampler(shard, Batch, SeqLen, seed: 42), 40);

        foreach (var stop in new[] { 1, 13, 17, 34 })
        {
            var first = new BatchSampler(shard, Batch, SeqLen, seed: 42);
            var before = Batches(first, stop);
            var resumed = new BatchSampler(shard, Batch, SeqLen, seed: 42, position: first.Position);
            var after = Batches(resumed, 40 - stop);
            Assert.Equal(uninterrupted, before.Concat(after).ToList());
        }
        var otherSeed = Batches(new BatchSampler(shard, Batch, SeqLen, seed: 43), 40);
        Assert.NotEqual(uninterrupted, otherSeed);
    }

    [Fact]
    public void Epochs_VisitEveryWindowOnceInANewOrder()
    {
        using var shard = CountingShard(500);
        const int SeqLen = 7;
        var sampler = new BatchSampler(shard, 1, SeqLen, seed: 9);
        var windows = (500 - 1) / SeqLen;
        Assert.Equal(windows, sampler.WindowsPerEpoch);
        var input = new int[SeqLen];
        var target = new int[SeqLen];
        var orders = new List<int[]>();
        for (var epoch = 0; epoch < 3; epoch++)
        {
            Assert.Equal(epoch, sampler.Epoch);
            var order = new int[windows];
            for (var i = 0; i < windows; i++)
            {
                sampler.Next(input, target);
                order[i] = (input[0] - 1) / SeqLen;
            }
            Assert.Equal(Enumerable.Range(0, windows), order.Order());
            orders.Add(order);
        }
        Assert.NotEqual(orders[0], orders[1]);
        Assert.NotEqual(orders[1], orders[2]);
        Assert.NotEqual(Enumerable.Range(0, windows), orders[0]);
        // Together the windows of an epoch cover tokens [0, windows * seqLen + 1) of the shard.
        Assert.True(500 - ((windows * SeqLen) + 1) < SeqLen);
    }

    [Fact]
    public void Sampler_BadArguments_Throw()
    {
        using var shard = CountingShard(20);
        Assert.Throws<ArgumentException>(() => new BatchSampler(shard, 1, 20, seed: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchSampler(shard, 0, 4, seed: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchSampler(shard, 1, 4, seed: 1, position: -1));
        var sampler = new BatchSampler(shard, 2, 4, seed: 1);
        Assert.Throws<ArgumentException>(() => sampler.Next(new int[8], new int[7]));
        Assert.Equal(1, new BatchSampler(shard, 1, 19, seed: 1).WindowsPerEpoch); // 20 tokens = one window of 19 + 1
    }

    [Fact]
    public void EvalBatches_FixedSpreadAndShifted()
    {
        using var shard = CountingShard(2000);
        const int Batch = 3, SeqLen = 11;
        var eval = new EvalBatches(shard, Batch, SeqLen, maxBatches: 5);
        var first = eval.All().ToList();
        var second = eval.All().Select(p => p.Inputs.Concat(p.Targets));
        var again = new EvalBatches(shard, Batch, SeqLen, maxBatches: 5).All().Select(p => p.Inputs.Concat(p.Targets));

        Assert.Equal(5, eval.Count);
        Assert.Equal(5, first.Count);
        Assert.Equal(first.Select(p => p.Inputs.Concat(p.Targets)), second);
        Assert.Equal(first.Select(p => p.Inputs.Concat(p.Targets)), again);
        var starts = first.SelectMany(p => Enumerable.Range(0, Batch).Select(b => p.Inputs[b * SeqLen] - 1)).ToList();
        Assert.Equal(starts.Distinct().Count(), starts.Count);
        Assert.All(starts, s => Assert.Equal(0, s % SeqLen));
        Assert.True(starts.Max() > 2000 * 3 / 4, "the batches should reach the end of the shard");
        foreach (var (inputs, targets) in first)
        {
            for (var i = 0; i < inputs.Length; i++) { Assert.Equal(inputs[i] + 1, targets[i]); }
        }
        Assert.Equal((2000 - 1) / SeqLen / Batch, new EvalBatches(shard, Batch, SeqLen, maxBatches: 1000).Count);
        Assert.Throws<ArgumentException>(() => new EvalBatches(shard, 200, SeqLen, maxBatches: 5));
    }

    private static List<int[]> Batches(BatchSampler sampler, int count)
    {
        var list = new List<int[]>();
        var inputs = new int[sampler.Batch * sampler.SeqLen];
        var targets = new int[inputs.Length];
        for (var i = 0; i < count; i++)
        {
            sampler.Next(inputs, targets);
            list.Add([.. inputs, .. targets]);
        }
        return list;
    }
}
