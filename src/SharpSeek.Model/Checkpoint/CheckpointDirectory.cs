// CheckpointDirectory.cs: a Hugging Face model directory: config.json plus model.safetensors, or shards listed by
// model.safetensors.index.json (weight_map: name → shard file, shards opened and validated on first use), each file
// taken from the newest complete checkpoint (CheckpointCommit.Resolve: a committed staging folder a crash left behind
// counts). ReadWeight turns any stored float tensor into f32, dequantizing E4M3 weights with their weight_scale_inv
// blocks (deepseek-ai/DeepSeek-V3:inference/kernel.py, weight_dequant); InPlace hands out a stored tensor read in place
// from its mapped shard (valid while the directory is open); Check compares the stored tensors with the expected inventory. Not here: the safetensors format
// (SafeTensorsFile.cs), writing (CheckpointWriter.cs, CheckpointCommit.cs), mapping names onto layers, summarizing
// mismatches (ConfigMismatch.cs). Tested by CheckpointDirectoryTests.
using System.Runtime.InteropServices;
using System.Text.Json;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Kernels;

namespace SharpSeek.Model.Checkpoint;

/// <summary>A checkpoint directory in Hugging Face's layout. Disposing it closes every shard it opened.</summary>
public sealed class CheckpointDirectory : IDisposable
{
    public const string ConfigFile = "config.json";
    public const string SingleFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";

    /// <summary>Suffix of the F32 block-scale companion of an E4M3 weight.</summary>
    public const string ScaleSuffix = "_scale_inv";

    private readonly Dictionary<string, string> _weightMap;
    private readonly Dictionary<string, SafeTensorsFile> _shards = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly string _weightsFolder;

    private CheckpointDirectory(string path, string weightsFolder, ModelConfig config, Dictionary<string, string> weightMap)
    {
        DirectoryPath = path;
        _weightsFolder = weightsFolder;
        Config = config;
        _weightMap = weightMap;
        Names = [.. weightMap.Keys.Order(StringComparer.Ordinal)];
    }

    public string DirectoryPath { get; }

    public ModelConfig Config { get; }

    /// <summary>Every stored tensor name (weights and scales), sorted ordinally.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Reads config.json, then model.safetensors (opened and validated now) or model.safetensors.index.json, each
    /// from the newest complete checkpoint (<see cref="CheckpointCommit.Resolve"/>). Throws <see cref="InvalidDataException"/>
    /// or <see cref="FileNotFoundException"/> naming the file at fault.</summary>
    public static CheckpointDirectory Open(string dir)
    {
        try
        {
            return OpenNewest(dir);
        }
        catch (IOException e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            // A writer may have moved a staged file into place between Resolve and the open: look again, once.
            return OpenNewest(dir);
        }
    }

    private static CheckpointDirectory OpenNewest(string dir)
    {
        var config = ModelConfig.Load(CheckpointCommit.Resolve(dir, ConfigFile));
        // 2 bytes a weight: the least a load holds (BF16 read in place); a load into F32 masters checks 4 (ModelWeights).
        ModelFootprint.EnsureFits(config, 2, Path.Combine(dir, ConfigFile));
        var folder = CheckpointCommit.Folder(dir, SingleFile, IndexFile);
        var (single, index) = (Path.Combine(folder, SingleFile), Path.Combine(folder, IndexFile));
        if (File.Exists(single))
        {
            var file = SafeTensorsFile.Open(single);
            var result = new CheckpointDirectory(dir, folder, config, file.Names.ToDictionary(n => n, _ => SingleFile, StringComparer.Ordinal));
            result._shards[SingleFile] = file;
            return result;
        }
        if (File.Exists(index)) { return new CheckpointDirectory(dir, folder, config, ReadIndex(index)); }
        throw new FileNotFoundException($"{dir}: neither {SingleFile} nor {IndexFile} exists", Path.Combine(dir, SingleFile));
    }

    public bool Contains(string name) => _weightMap.ContainsKey(name);

    /// <summary>Whether tensors <paramref name="a"/> and <paramref name="b"/> are stored with the same dtype, shape and bytes.</summary>
    public bool SameTensor(string a, string b)
    {
        var (x, y) = (Info(a), Info(b));
        return x.DType == y.DType && x.Shape.SequenceEqual(y.Shape) && Shard(a).Bytes(a).SequenceEqual(Shard(b).Bytes(b));
    }

    /// <summary>The stored dtype, shape and location of <paramref name="name"/> (an E4M3 weight reports F8E4M3).</summary>
    public SafeTensorInfo Info(string name) => Shard(name).Info(name);

    /// <summary>The stored tensor as f32, shape as stored, row-major. An F8_E4M3 weight (out, in) is dequantized with its
    /// <c>name_scale_inv</c> (ceil(out/128), ceil(in/128)) F32 blocks: w[i, j] = q[i, j] · s[i / 128, j / 128].</summary>
    public void ReadWeight(string name, Span<float> destination)
    {
        var file = Shard(name);
        var info = file.Info(name);
        if (info.DType != DType.F8E4M3)
        {
            file.ReadAsSingle(name, destination);
            return;
        }
        if (info.Shape.Length != 2) { throw Fail(name, $"an F8_E4M3 weight must be 2-D (out, in); shape is {info.ShapeText}"); }
        var block = Config.QuantizationConfig?.WeightBlockSize ?? [Fp8Quant.Block, Fp8Quant.Block];
        if (block is not [Fp8Quant.Block, Fp8Quant.Block])
        {
            throw Fail(name, $"quantization_config.weight_block_size is [{string.Join(", ", block)}]; only [128, 128] is supported");
        }
        var scaleName = name + ScaleSuffix;
        if (!Contains(scaleName)) { throw Fail(name, $"the F8_E4M3 weight has no block scales '{scaleName}'"); }
        var (rows, cols) = ((int)info.Shape[0], (int)info.Shape[1]);
        var scaleInfo = Info(scaleName);
        long[] scaleShape = [Fp8Quant.Tiles(rows), Fp8Quant.Tiles(cols)];
        if (!scaleInfo.Shape.SequenceEqual(scaleShape))
        {
            throw Fail(scaleName, $"block scales of {info.ShapeText} must have shape {SafeTensorInfo.Format(scaleShape)}; stored {scaleInfo.ShapeText}");
        }
        if (destination.Length != info.Elements)
        {
            throw new ArgumentException($"{DirectoryPath}: tensor '{name}' {info.ShapeText} has {info.Elements} elements; destination has {destination.Length}",
                nameof(destination));
        }
        var scales = new float[scaleInfo.Elements];
        Shard(scaleName).ReadAsSingle(scaleName, scales);
        Fp8Quant.DequantizeWeightBlocks(MemoryMarshal.Cast<byte, Float8E4M3>(file.Bytes(name)), scales, rows, cols, destination);
    }

    /// <summary>The tensor <paramref name="name"/> read in place from its mapped shard (nothing copied) when the shard stores
    /// it as <paramref name="dtype"/> with exactly <paramref name="shape"/>, row-major; null when it is stored otherwise (or
    /// unaligned), for the caller to convert with <see cref="ReadWeight"/>. The shard's header was validated when it was
    /// opened. Valid until this directory is disposed; reading it afterwards throws <see cref="ObjectDisposedException"/>.</summary>
    public Tensor? InPlace(string name, DType dtype, ReadOnlySpan<long> shape)
    {
        var file = Shard(name);
        var info = file.Info(name);
        return info.DType == dtype && shape.SequenceEqual(info.Shape) ? file.InPlace(name) : null;
    }

    /// <summary>The codes and <c>_scale_inv</c> block scales of an F8_E4M3 weight (rows, cols) exactly as stored, for runtimes that
    /// keep FP8 weights as FP8. Throws when the weight is stored in another dtype or the spans do not fit.</summary>
    public void ReadFp8(string name, Span<Float8E4M3> codes, Span<float> scaleInv)
    {
        var file = Shard(name);
        var info = file.Info(name);
        if (info.DType != DType.F8E4M3 || info.Shape.Length != 2) { throw Fail(name, $"stored as {info.DType} {info.ShapeText}, not a 2-D F8_E4M3 weight"); }
        if (codes.Length != info.Elements) { throw new ArgumentException($"{DirectoryPath}: tensor '{name}' has {info.Elements} codes; destination has {codes.Length}", nameof(codes)); }
        MemoryMarshal.Cast<byte, Float8E4M3>(file.Bytes(name)).CopyTo(codes);
        var scaleName = name + ScaleSuffix;
        if (!Contains(scaleName)) { throw Fail(name, $"the F8_E4M3 weight has no block scales '{scaleName}'"); }
        long[] scaleShape = [Fp8Quant.Tiles((int)info.Shape[0]), Fp8Quant.Tiles((int)info.Shape[1])];
        if (!Info(scaleName).Shape.SequenceEqual(scaleShape) || scaleInv.Length != scaleShape[0] * scaleShape[1])
        {
            throw Fail(scaleName, $"block scales of {info.ShapeText} must have shape {SafeTensorInfo.Format(scaleShape)} and fit the destination");
        }
        Shard(scaleName).ReadAsSingle(scaleName, scaleInv);
    }

    /// <summary>Problems, one human-readable line each: expected tensors that are missing, stored shapes that differ from the
    /// expected ones, stored tensors nobody expects (the <c>_scale_inv</c> of a stored E4M3 weight is expected), and shards
    /// that are missing or do not hold what the index says. Empty when the checkpoint matches.</summary>
    public IReadOnlyList<string> Check(IEnumerable<ParameterShape> expected)
    {
        var problems = new List<string>();
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in expected)
        {
            known.Add(e.Name);
            var want = e.Shape.Select(d => (long)d).ToArray();
            if (!Contains(e.Name))
            {
                problems.Add($"missing: {e.Name} {SafeTensorInfo.Format(want)}");
                continue;
            }
            if (TryInfo(e.Name, problems) is not { } info) { continue; }
            if (!info.Shape.SequenceEqual(want))
            {
                problems.Add($"shape mismatch: {e.Name}: expected {SafeTensorInfo.Format(want)}, stored {info.ShapeText}");
            }
            if (info.DType == DType.F8E4M3 && info.Shape.Length == 2)
            {
                var scaleName = e.Name + ScaleSuffix;
                known.Add(scaleName);
                long[] scaleShape = [Fp8Quant.Tiles((int)info.Shape[0]), Fp8Quant.Tiles((int)info.Shape[1])];
                if (!Contains(scaleName)) { problems.Add($"missing: {scaleName} {SafeTensorInfo.Format(scaleShape)} (block scales of the F8_E4M3 weight)"); }
                else if (TryInfo(scaleName, problems) is { } scale && !scale.Shape.SequenceEqual(scaleShape))
                {
                    problems.Add($"shape mismatch: {scaleName}: expected {SafeTensorInfo.Format(scaleShape)}, stored {scale.ShapeText}");
                }
            }
        }
        foreach (var name in Names.Where(n => !known.Contains(n)))
        {
            var shape = TryInfo(name, problems)?.ShapeText;
            if (shape is not null) { problems.Add($"unexpected: {name} {shape}"); }
        }
        return problems;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var shard in _shards.Values) { shard.Dispose(); }
            _shards.Clear();
        }
    }

    private SafeTensorInfo? TryInfo(string name, List<string> problems)
    {
        try
        {
            return Info(name);
        }
        catch (InvalidDataException e)
        {
            problems.Add(e.Message);
            return null;
        }
    }

    // The open shard that holds `name`, opening (and validating) it on first use.
    private SafeTensorsFile Shard(string name)
    {
        if (!_weightMap.TryGetValue(name, out var fileName))
        {
            throw new KeyNotFoundException($"{DirectoryPath}: the checkpoint has no tensor '{name}'");
        }
        SafeTensorsFile? shard;
        lock (_lock)
        {
            if (!_shards.TryGetValue(fileName, out shard))
            {
                var path = Path.Combine(_weightsFolder, fileName);
                if (!File.Exists(path)) { throw Fail(name, $"mapped to shard '{fileName}', which does not exist"); }
                shard = SafeTensorsFile.Open(path);
                _shards[fileName] = shard;
            }
        }
        if (!shard.Contains(name)) { throw Fail(name, $"mapped to shard '{fileName}', which does not contain it"); }
        return shard;
    }

    private InvalidDataException Fail(string name, string rule) => new($"{DirectoryPath}: tensor '{name}': {rule}");

    private static Dictionary<string, string> ReadIndex(string path)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON: {e.Message}", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{path}: expected an object with a \"weight_map\" object (tensor name → shard file)");
            }
            var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var item in map.EnumerateObject())
            {
                var file = item.Value.ValueKind == JsonValueKind.String ? item.Value.GetString()! : "";
                // A shard is a plain file name inside the directory: no separators, no "..", nothing absolute.
                if (file.Length == 0 || file is "." or ".." || file.IndexOfAny(['/', '\\']) >= 0 || Path.IsPathRooted(file))
                {
                    throw new InvalidDataException($"{path}: tensor '{item.Name}': shard '{item.Value}' is not a file name inside the directory");
                }
                if (!weightMap.TryAdd(item.Name, file)) { throw new InvalidDataException($"{path}: tensor '{item.Name}' appears twice in weight_map"); }
            }
            return weightMap;
        }
    }
}
