// KvCache.cs: the MLA latent KV cache (DeepSeek-V2 paper §2.1.2–2.1.3; the absorb-mode kv_cache/pe_cache of deepseek-ai/DeepSeek-V3:inference/model.py; docs/inference.md): per layer (the main layers, then the MTP blocks) and per
// slot, the kv_a_layernorm-normalized latent c_kv (kv_lora_rank) and the rotated shared rope key k_pe (qk_rope_head_dim)
// of every cached position, F32, allocated once for max sequences × max context. Slots are acquired and released; each
// holds a length for the main layers and one for the MTP layers (the MTP block at position i needs token i + 1, so it
// runs one behind). A dense GQA model (qwen2, llama) caches instead its rotated keys and its values, H_kv·head_dim each,
// in the same two tensors (Keys, Values). Not here: writing the entries (MLA's: Model's Mla through IAttentionCache;
// GQA's: ModelRunner). Tested by ModelRunnerTests,
// SpeculativeDecoderTests, InferenceWeightsTests and DenseRunnerTests.
using SharpSeek.Model;
using SharpSeek.Tensors;

namespace SharpSeek.Inference.Runtime;

/// <summary>Fixed-capacity cache: MLA's (layers, slots, context, kv_lora_rank) latents and (layers, slots, context,
/// qk_rope_head_dim) rope keys, or GQA's (layers, slots, context, H_kv·d) keys and values.</summary>
public sealed class KvCache : IDisposable
{
    private readonly Arena _storage;
    private readonly Tensor _latent;
    private readonly Tensor _rope;
    private readonly int[] _length;
    private readonly int[] _draftLength;
    private readonly bool[] _inUse;

    public KvCache(ModelConfig config, int maxSequences, int maxContext)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (maxSequences < 1 || maxContext < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxSequences), $"a KV cache needs at least one sequence and one position; got {maxSequences} × {maxContext}");
        }
        Config = config;
        MaxSequences = maxSequences;
        MaxContext = maxContext;
        var rows = (long)config.TotalLayers * maxSequences * maxContext;
        EnsureFits(config, maxSequences, maxContext, rows);
        var (first, second) = config.IsDense
            ? (config.NumKeyValueHeads * config.AttentionHeadDim, config.NumKeyValueHeads * config.AttentionHeadDim)
            : (config.KvLoraRank, config.QkRopeHeadDim);
        _storage = new Arena("kv-cache", (rows * (first + second) * sizeof(float)) + 256);
        _latent = _storage.Allocate(DType.F32, new Shape(config.TotalLayers, maxSequences, maxContext, first));
        _rope = _storage.Allocate(DType.F32, new Shape(config.TotalLayers, maxSequences, maxContext, second));
        _length = new int[maxSequences];
        _draftLength = new int[maxSequences];
        _inUse = new bool[maxSequences];
    }

    public ModelConfig Config { get; }

    // The cache is allocated zeroed, every page touched: refuse one that cannot fit before allocating, naming the sizes.
    private static void EnsureFits(ModelConfig config, int maxSequences, int maxContext, long rows)
    {
        var width = config.IsDense ? 2L * config.NumKeyValueHeads * config.AttentionHeadDim : (long)config.KvLoraRank + config.QkRopeHeadDim;
        var bytes = (Int128)rows * width * sizeof(float);
        var available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (bytes > available)
        {
            throw new InvalidOperationException($"a KV cache of {maxSequences} sequence(s) × {maxContext} positions × {config.TotalLayers} layers × {width} F32 values needs "
                + $"{(double)bytes / 1e9:F1} GB, but this process can use {available / 1e9:F1} GB; expected a smaller context (--context) or fewer sequences (--max-concurrency)");
        }
    }

    public int MaxSequences { get; }

    public int MaxContext { get; }

    /// <summary>Bytes per cached token over the main layers: L·(kv_lora_rank + qk_rope_head_dim)·4 for MLA (the MTP layers
    /// add theirs), L·2·H_kv·d·4 for GQA.</summary>
    public long BytesPerToken => KvCacheSize.For(Config).MlaBytesPerToken(sizeof(float));

    /// <summary>How many times smaller than an MHA cache of the same heads: L·H·(d_qk + d_v) per token against MLA's
    /// L·(c + d_r), or 2·L·H·d against GQA's 2·L·H_kv·d.</summary>
    public double RatioToMha => KvCacheSize.For(Config).Ratio;

    /// <summary>Native bytes held by the whole cache, the MTP layers included.</summary>
    public long CapacityBytes => _storage.CapacityBytes;

    /// <summary>A free slot, emptied; throws when all <see cref="MaxSequences"/> are taken.</summary>
    public int Acquire()
    {
        for (var slot = 0; slot < MaxSequences; slot++)
        {
            if (_inUse[slot]) { continue; }
            _inUse[slot] = true;
            _length[slot] = _draftLength[slot] = 0;
            return slot;
        }
        throw new InvalidOperationException($"all {MaxSequences} KV-cache slots are in use; release one first");
    }

    public void Release(int slot)
    {
        Check(slot);
        _inUse[slot] = false;
    }

    /// <summary>Positions 0 .. Length − 1 of the main layers are cached.</summary>
    public int Length(int slot)
    {
        Check(slot);
        return _length[slot];
    }

    /// <summary>Positions 0 .. DraftLength − 1 of the MTP layers are cached.</summary>
    public int DraftLength(int slot)
    {
        Check(slot);
        return _draftLength[slot];
    }

    /// <summary>Forgets positions ≥ <paramref name="length"/> (rejected speculative tokens): the main layers keep
    /// <paramref name="length"/>, the MTP layers at most length − 1 (their row i consumed token i + 1).</summary>
    public void Truncate(int slot, int length)
    {
        Check(slot);
        if (length < 0 || length > _length[slot])
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"slot {slot} holds {_length[slot]} positions; cannot truncate to {length}");
        }
        _length[slot] = length;
        _draftLength[slot] = Math.Min(_draftLength[slot], Math.Max(0, length - 1));
    }

    /// <summary>Makes slot <paramref name="to"/> hold the first <paramref name="length"/> main-layer positions of slot
    /// <paramref name="from"/> (a prompt prefilled once for several sequences); its MTP layers stay empty.</summary>
    public void CopyPrefix(int from, int to, int length)
    {
        Check(from);
        Check(to);
        if (from == to) { throw new ArgumentException($"slot {from} cannot take its own positions", nameof(to)); }
        if (length < 0 || length > _length[from])
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"slot {from} holds {_length[from]} positions; cannot copy {length}");
        }
        var (first, second) = ((int)_latent.Shape[3], (int)_rope.Shape[3]);
        for (var layer = 0; layer < Config.NumHiddenLayers; layer++)
        {
            Latent(layer, from)[..(length * first)].CopyTo(Latent(layer, to));
            RopeKey(layer, from)[..(length * second)].CopyTo(RopeKey(layer, to));
        }
        (_length[to], _draftLength[to]) = (length, 0);
    }

    public void Dispose() => _storage.Dispose();

    internal void Check(int slot)
    {
        if ((uint)slot >= (uint)MaxSequences || !_inUse[slot])
        {
            throw new ArgumentOutOfRangeException(nameof(slot), $"slot {slot} is not an acquired slot of this cache (0 .. {MaxSequences - 1}, acquire first)");
        }
    }

    internal int Length(int slot, bool draft) => draft ? _draftLength[slot] : _length[slot];

    internal void Advance(int slot, int count, bool draft)
    {
        if (draft) { _draftLength[slot] += count; } else { _length[slot] += count; }
    }

    // latent: (context, c) and rope: (context, d_r) of one layer and slot.
    internal Span<float> Latent(int layer, int slot) => _latent.Slice(layer).Slice(slot).AsSpan<float>();

    internal Span<float> RopeKey(int layer, int slot) => _rope.Slice(layer).Slice(slot).AsSpan<float>();

    // GQA: keys and values (context, H_kv·d) of one layer and slot (the same storage as MLA's latent and rope key).
    internal Span<float> Keys(int layer, int slot) => Latent(layer, slot);

    internal Span<float> Values(int layer, int slot) => RopeKey(layer, slot);
}
