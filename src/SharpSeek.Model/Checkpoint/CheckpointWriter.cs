// CheckpointWriter.cs: saves f32 weights as a Hugging Face directory (config.json, model.safetensors or shards plus
// model.safetensors.index.json) in F32, BF16 or the release's FP8 layout (deepseek-ai/DeepSeek-V3:README_WEIGHTS.md), every file atomically.
// Not here: reading (CheckpointDirectory.cs), the safetensors bytes (SafeTensorsWriter.cs). Tested by CheckpointWriterTests.
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Model.Checkpoint;

/// <summary>Writes checkpoint directories that <see cref="CheckpointDirectory"/> and Hugging Face transformers read.</summary>
public static partial class CheckpointWriter
{
    // The Linear projections the FP8 release stores as E4M3 (deepseek-ai/DeepSeek-V3:README_WEIGHTS.md), by the second-to-last name component.
    private static readonly HashSet<string> Fp8Projections = new(StringComparer.Ordinal)
    {
        "q_a_proj", "q_b_proj", "q_proj", "kv_a_proj_with_mqa", "kv_b_proj", "o_proj", "gate_proj", "up_proj", "down_proj",
    };

    private static readonly Dictionary<string, string> FileMetadata = new() { ["format"] = "pt" };

    /// <summary>True for a weight the FP8 release stores as E4M3 with a <c>weight_scale_inv</c>: attention projections and
    /// every dense, routed and shared expert gate/up/down, MTP layers included; never embed_tokens, lm_head, norms,
    /// mlp.gate.weight, eh_proj or shared_head.</summary>
    public static bool IsFp8Weight(string name)
    {
        var parts = name.Split('.');
        return parts.Length >= 2 && parts[^1] == "weight" && Fp8Projections.Contains(parts[^2]);
    }

    /// <summary>The dtype <paramref name="format"/> stores a tensor in: F32 keeps everything F32; BF16 and Fp8 keep the
    /// router's <c>e_score_correction_bias</c> F32; Fp8 stores <see cref="IsFp8Weight"/> matrices as E4M3; the rest is BF16.</summary>
    public static DType StoredDType(string name, int rank, CheckpointFormat format) => format switch
    {
        CheckpointFormat.F32 => DType.F32,
        _ when name.EndsWith(".e_score_correction_bias", StringComparison.Ordinal) => DType.F32,
        CheckpointFormat.Fp8 when rank == 2 && IsFp8Weight(name) => DType.F8E4M3,
        CheckpointFormat.BF16 or CheckpointFormat.Fp8 => DType.BF16,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown checkpoint format"),
    };

    /// <summary>Writes <paramref name="weights"/> (f32, row-major) into <paramref name="dir"/> with config.json. Shards hold
    /// at most <paramref name="maxShardBytes"/> of tensor data (one larger tensor gets a shard of its own; an E4M3 weight
    /// and its scales share a shard), filled in the order given; one shard is written as model.safetensors. Files of the
    /// other layout left from an earlier save are removed, so the directory always reads back as what was saved.</summary>
    public static void Save(string dir, ModelConfig config, IReadOnlyList<(string Name, long[] Shape, ReadOnlyMemory<float> Values)> weights,
        CheckpointFormat format, long maxShardBytes = long.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(weights);
        foreach (var (name, shape, values) in weights)
        {
            var count = shape.Aggregate(1L, (p, d) => p * d);
            if (shape.Any(d => d < 0) || values.Length != count)
            {
                throw new ArgumentException($"weight '{name}': {values.Length} values for shape {SafeTensorInfo.Format(shape)} ({count} elements)", nameof(weights));
            }
        }
        Save(dir, config, [.. weights.Select(w => (w.Name, w.Shape))], i => weights[i].Values, format, maxShardBytes);
    }

    /// <summary>The same save with the values asked for lazily: <paramref name="values"/>(i) gives weight i's f32 elements
    /// when its shard is encoded, once per weight, in increasing i, so only one shard's data is held at a time (a model
    /// larger than memory can be written shard by shard).</summary>
    public static void Save(string dir, ModelConfig config, IReadOnlyList<(string Name, long[] Shape)> weights, Func<int, ReadOnlyMemory<float>> values,
        CheckpointFormat format, long maxShardBytes = long.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(values);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxShardBytes);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, shape) in weights)
        {
            if (!names.Add(name)) { throw new ArgumentException($"weight '{name}' appears twice", nameof(weights)); }
            if (shape.Any(d => d < 0)) { throw new ArgumentException($"weight '{name}': shape {SafeTensorInfo.Format(shape)} has a negative dimension", nameof(weights)); }
        }
        foreach (var (name, shape) in weights)
        {
            if (StoredDType(name, shape.Length, format) == DType.F8E4M3 && names.Contains(name + CheckpointDirectory.ScaleSuffix))
            {
                throw new ArgumentException($"weight '{name}{CheckpointDirectory.ScaleSuffix}' clashes with the block scales of '{name}'", nameof(weights));
            }
        }
        ReadOnlyMemory<float> Values(int i)
        {
            var (name, shape) = weights[i];
            var v = values(i);
            var count = shape.Aggregate(1L, (p, d) => p * d);
            if (v.Length != count) { throw new ArgumentException($"weight '{name}': {v.Length} values for shape {SafeTensorInfo.Format(shape)} ({count} elements)", nameof(values)); }
            return v;
        }

        // Shards: whole weights (with their scales) in the order given, a new shard when the next would overflow this one.
        var shards = new List<List<int>> { new() };
        var shardBytes = 0L;
        for (var i = 0; i < weights.Count; i++)
        {
            var bytes = StoredBytes(weights[i].Shape, StoredDType(weights[i].Name, weights[i].Shape.Length, format));
            if (shards[^1].Count > 0 && bytes > maxShardBytes - shardBytes)
            {
                shards.Add([]);
                shardBytes = 0;
            }
            shards[^1].Add(i);
            shardBytes += bytes;
        }

        Directory.CreateDirectory(dir);
        var fileNames = shards.Count == 1
            ? [CheckpointDirectory.SingleFile]
            : shards.Select((_, k) => $"model-{k + 1:D5}-of-{shards.Count:D5}.safetensors").ToArray();
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var totalSize = 0L;
        for (var k = 0; k < shards.Count; k++)
        {
            var entries = shards[k].SelectMany(i => Encode(weights[i].Name, weights[i].Shape, Values(i), format)).ToList();
            foreach (var e in entries)
            {
                weightMap[e.Name] = fileNames[k];
                totalSize += e.Data.Length;
            }
            SafeTensorsWriter.Write(Path.Combine(dir, fileNames[k]), entries, FileMetadata);
        }
        if (shards.Count > 1) { WriteIndex(Path.Combine(dir, CheckpointDirectory.IndexFile), totalSize, weightMap); }
        RemoveStale(dir, fileNames);
        SavedConfig(config, format).Save(Path.Combine(dir, CheckpointDirectory.ConfigFile));
    }

    /// <summary>The config written beside the weights: Fp8 adds the release's quantization_config, F32/BF16 drop it, and
    /// torch_dtype (or v5's dtype) names the non-FP8 storage dtype.</summary>
    public static ModelConfig SavedConfig(ModelConfig config, CheckpointFormat format)
    {
        var dtype = format == CheckpointFormat.F32 ? "float32" : "bfloat16";
        return config with
        {
            QuantizationConfig = format == CheckpointFormat.Fp8 ? new QuantizationConfig() : null,
            TorchDtype = config.Dtype is null ? dtype : config.TorchDtype,
            Dtype = config.Dtype is null ? null : dtype,
        };
    }

    private static long StoredBytes(long[] shape, DType dtype)
    {
        var bytes = shape.Aggregate(1L, (p, d) => p * d) * dtype.SizeOf();
        return dtype == DType.F8E4M3 ? bytes + (4L * Fp8Quant.Tiles((int)shape[0]) * Fp8Quant.Tiles((int)shape[1])) : bytes;
    }

    private static IEnumerable<SafeTensorEntry> Encode(string name, long[] shape, ReadOnlyMemory<float> values, CheckpointFormat format)
    {
        var dtype = StoredDType(name, shape.Length, format);
        switch (dtype)
        {
            case DType.F32:
                yield return new(name, dtype, shape, MemoryMarshal.AsBytes(values.Span).ToArray());
                break;
            case DType.BF16:
                var bf16 = new BFloat16[values.Length];
                DTypeConvert.ToBFloat16(values.Span, bf16);
                yield return new(name, dtype, shape, MemoryMarshal.AsBytes(bf16.AsSpan()).ToArray());
                break;
            case DType.F8E4M3:
                var (rows, cols) = ((int)shape[0], (int)shape[1]);
                var q = new Float8E4M3[values.Length];
                var scaleInv = new float[Fp8Quant.Tiles(rows) * Fp8Quant.Tiles(cols)];
                Fp8Quant.QuantizeWeightBlocks(values.Span, rows, cols, q, scaleInv);
                yield return new(name, dtype, shape, MemoryMarshal.AsBytes(q.AsSpan()).ToArray());
                yield return new(name + CheckpointDirectory.ScaleSuffix, DType.F32, [Fp8Quant.Tiles(rows), Fp8Quant.Tiles(cols)],
                    MemoryMarshal.AsBytes(scaleInv.AsSpan()).ToArray());
                break;
            default:
                throw new InvalidOperationException($"weight '{name}': no encoder for {dtype}");
        }
    }

    // HF's index: {"metadata": {"total_size": bytes of tensor data}, "weight_map": {name: shard}}, 2-space indent.
    private static void WriteIndex(string path, long totalSize, SortedDictionary<string, string> weightMap) =>
        AtomicFile.Write(path, stream =>
        {
            using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, IndentSize = 2 });
            json.WriteStartObject();
            json.WriteStartObject("metadata");
            json.WriteNumber("total_size", totalSize);
            json.WriteEndObject();
            json.WriteStartObject("weight_map");
            foreach (var (name, file) in weightMap) { json.WriteString(name, file); }
            json.WriteEndObject();
            json.WriteEndObject();
            json.Flush();
            stream.WriteByte((byte)'\n');
        });

    // After a save, only this save's files may describe the weights: an old model.safetensors would shadow a new index,
    // and an old index or old shards would confuse a reader of a new single file.
    private static void RemoveStale(string dir, string[] written)
    {
        var keep = new HashSet<string>(written, StringComparer.Ordinal);
        if (written.Length == 1) { File.Delete(Path.Combine(dir, CheckpointDirectory.IndexFile)); }
        foreach (var path in Directory.EnumerateFiles(dir, "model*.safetensors"))
        {
            var file = Path.GetFileName(path);
            if (!keep.Contains(file) && (file == CheckpointDirectory.SingleFile || ShardName().IsMatch(file))) { File.Delete(path); }
        }
    }

    [GeneratedRegex(@"^model-\d+-of-\d+\.safetensors$")]
    private static partial Regex ShardName();
}
