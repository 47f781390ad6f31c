// EvalBatches.cs: the fixed held-out batches behind eval loss: windows of seqLen + 1 tokens spread evenly over the eval
// shard, the same ones on every call and every run. Not here: training order (BatchSampler.cs). Tested by BatchSamplerTests.
namespace SharpSeek.Training.Data;

/// <summary>Deterministic (inputs, targets) batches of shape (B, T) from a held-out shard.</summary>
public sealed class EvalBatches
{
    private readonly TokenShard _shard;
    private readonly long _stride;

    /// <summary>Uses min(maxBatches, W / batch) batches of windows, W = (TokenCount - 1) / seqLen; window k starts at
    /// token k · stride · seqLen with stride = W / windows used, so the batches sample the whole shard.</summary>
    public EvalBatches(TokenShard shard, int batch, int seqLen, int maxBatches)
    {
        ArgumentNullException.ThrowIfNull(shard);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seqLen);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBatches);
        var windows = (shard.TokenCount - 1) / seqLen;
        if (windows < batch)
        {
            throw new ArgumentException($"{shard.Path}: {shard.TokenCount} held-out tokens give {Math.Max(windows, 0)} windows of {seqLen + 1} tokens; one batch needs {batch} (expected a larger eval split or a smaller batch)", nameof(shard));
        }
        _shard = shard;
        Batch = batch;
        SeqLen = seqLen;
        Count = (int)Math.Min(maxBatches, windows / batch);
        _stride = windows / ((long)Count * batch);
    }

    public int Batch { get; }

    public int SeqLen { get; }

    /// <summary>The number of batches <see cref="All"/> yields.</summary>
    public int Count { get; }

    /// <summary>Every batch in a fixed order, as fresh arrays: inputs, targets (B, T) row-major.</summary>
    public IEnumerable<(int[] Inputs, int[] Targets)> All()
    {
        for (var i = 0; i < Count; i++)
        {
            var inputs = new int[Batch * SeqLen];
            var targets = new int[Batch * SeqLen];
            for (var b = 0; b < Batch; b++)
            {
                var window = ((long)i * Batch) + b;
                _shard.Window(window * _stride * SeqLen, inputs.AsSpan(b * SeqLen, SeqLen), targets.AsSpan(b * SeqLen, SeqLen));
            }
            yield return (inputs, targets);
        }
    }
}
