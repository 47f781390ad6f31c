// BatchSampler.cs: training batches from a token shard: windows of seqLen + 1 tokens at multiples of seqLen (documents
// packed, no cross-document masking, as DeepSeek-V3 trains), visited in a seeded permutation per epoch. The order is a
// function of (seed, position) alone, so a sampler rebuilt with a saved Position continues with the same batches; a new
// epoch reshuffles the same array. Not here: held-out batches (EvalBatches.cs). Tested by BatchSamplerTests and
// DeepSeekTrainingStepAllocationTests.
namespace SharpSeek.Training.Data;

/// <summary>Draws (inputs, targets) batches of shape (B, T) with targets[b, t] = inputs[b, t + 1] in the shard, or
/// <see cref="TokenShard.IgnoredTarget"/> where the shard's loss mask says so.</summary>
public sealed class BatchSampler
{
    private readonly TokenShard _shard;
    private readonly ulong _seed;
    private long _epoch = -1;
    private int[] _order = [];

    /// <summary>A sampler over <paramref name="shard"/> whose next window is number <paramref name="position"/> (a saved
    /// <see cref="Position"/>, or 0 for a fresh run) of the order fixed by <paramref name="seed"/>.</summary>
    public BatchSampler(TokenShard shard, int batch, int seqLen, ulong seed, long position = 0)
    {
        ArgumentNullException.ThrowIfNull(shard);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seqLen);
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        var windows = (shard.TokenCount - 1) / seqLen;
        if (windows < 1) { throw new ArgumentException($"{shard.Path}: {shard.TokenCount} tokens are too few for one window of seqLen + 1 = {seqLen + 1} tokens", nameof(shard)); }
        if (windows > Array.MaxLength) { throw new ArgumentException($"{shard.Path}: {windows} windows per epoch exceed one array (expected at most {Array.MaxLength}; use a longer seqLen or split the shard)", nameof(shard)); }
        _shard = shard;
        _seed = seed;
        Batch = batch;
        SeqLen = seqLen;
        WindowsPerEpoch = (int)windows;
        Position = position;
    }

    public int Batch { get; }

    public int SeqLen { get; }

    /// <summary>Windows in one pass over the shard: (TokenCount - 1) / SeqLen. Window w covers tokens
    /// [w · SeqLen, w · SeqLen + SeqLen].</summary>
    public int WindowsPerEpoch { get; }

    /// <summary>Windows consumed so far (Batch per <see cref="Next"/>); save it with a checkpoint.</summary>
    public long Position { get; private set; }

    /// <summary>The pass over the shard that the next window comes from.</summary>
    public long Epoch => Position / WindowsPerEpoch;

    /// <summary>Fills the next batch. inputs, targets: (B, T) row-major, B = Batch, T = SeqLen.</summary>
    public void Next(Span<int> inputs, Span<int> targets)
    {
        var size = (long)Batch * SeqLen;
        if (inputs.Length != size || targets.Length != size)
        {
            throw new ArgumentException($"inputs has {inputs.Length} and targets {targets.Length} elements; expected Batch · SeqLen = {size} each");
        }
        for (var b = 0; b < Batch; b++)
        {
            _shard.Window((long)Window(Position) * SeqLen, inputs.Slice(b * SeqLen, SeqLen), targets.Slice(b * SeqLen, SeqLen));
            Position++;
        }
    }

    /// <summary>The window at a position: order_e[p mod W] with e = p / W, where order_e is a Fisher–Yates shuffle of
    /// 0..W-1 driven by SplitMix64(Mix(seed, e)).</summary>
    internal int Window(long position)
    {
        var epoch = position / WindowsPerEpoch;
        if (epoch != _epoch)
        {
            if (_order.Length != WindowsPerEpoch) { _order = new int[WindowsPerEpoch]; } // reused: a new epoch allocates nothing
            Permute(_order, SplitMix64.Mix(_seed, (ulong)epoch));
            _epoch = epoch;
        }
        return _order[position % WindowsPerEpoch];
    }

    private static void Permute(Span<int> order, ulong seed)
    {
        for (var i = 0; i < order.Length; i++) { order[i] = i; }
        var rng = new SplitMix64(seed);
        rng.Shuffle(order);
    }
}
