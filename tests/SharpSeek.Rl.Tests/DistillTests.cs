// DistillTests.cs: distillation end to end on a tiny pair. The teacher is a tiny dense model fine-tuned (here, in
// seconds) to answer every question of a problem file with one worked completion, so it passes rejection sampling; the
// student is a random tiny dense model on the same tokenizer. The data holds the kept samples with the teacher's ids
// and top-k, a stopped generation resumes to the uninterrupted file byte for byte, other settings are refused; a
// teacher that solves nothing fails early with what to change; each mode trains (logits and on-policy lower their loss
// and resume to the uninterrupted weights); a student whose tokenizer differs is refused by logits mode, and one that
// cannot express the data by sft mode, before any step.
using System.Text.Json;
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Model.Tokenizer;
using SharpSeek.Rl.Distill;
using SharpSeek.Rl.Sft;
using SharpSeek.Training.Data;
using SharpSeek.Training.Runs;

namespace SharpSeek.Rl.Tests;

public sealed class TinyPairFixture : IDisposable
{
    public const string Completion = "<think>\nAdd the two numbers.\n</think>\n<answer>4</answer>";

    public TinyPairFixture()
    {
        Directory.CreateDirectory(Root);
        var tokenizer = BpeTrainer.Train(ReasoningCorpus.Generate(3, 300), 400, DeepSeekTokens.All, BpeTrainerOptions.DeepSeek);
        var config = ModelConfig.LoadPreset("dense-1m") with
        {
            HiddenSize = 32,
            NumHiddenLayers = 2,
            IntermediateSize = 64,
            NumAttentionHeads = 2,
            NumKeyValueHeads = 2,
            MaxPositionEmbeddings = 128,
            VocabSize = tokenizer.VocabSize,
            BosTokenId = tokenizer.BosId,
            EosTokenId = tokenizer.EosId,
        };
        foreach (var (dir, seed) in new[] { (Base, 4), (Student, 5) })
        {
            RandomCheckpoint.Write(dir, config, CheckpointFormat.F32, seed);
            tokenizer.Save(dir);
        }
        string[] questions = ["What is 1 + 3?", "What is 2 + 2?", "What is 3 + 1?", "What is 0 + 4?", "Add 1 and 3.", "Add 2 and 2.", "Add 3 and 1.", "Add 4 and 0.", "Sum 2 and 2.", "Sum 1 and 3."];
        File.WriteAllLines(Problems, questions.Select(q => JsonSerializer.Serialize(new { prompt = q, answer = "4" })));
        var sft = Path.Combine(Root, "sft.jsonl");
        File.WriteAllLines(sft, questions.Select(q => JsonSerializer.Serialize(new { prompt = q, completion = Completion })));
        var run = SftRun.Prepare(new SftOptions { Model = Base, Data = sft, OutDir = Teacher, Template = "plain", Steps = 80, SeqLen = 64, MicroBatch = 8, BatchTokens = 512, Lr = 1e-2, WarmupSteps = 5, EvalEvery = 0, HeldOutOneIn = 1000 });
        new TrainingRun(run).Run();
    }

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "sharpseek-distill-" + Guid.NewGuid().ToString("N")[..8]);

    public string Base => Path.Combine(Root, "base");

    public string Teacher => Path.Combine(Root, "teacher");

    public string Student => Path.Combine(Root, "student");

    public string Problems => Path.Combine(Root, "problems.jsonl");

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

public sealed class DistillTests(TinyPairFixture pair) : IClassFixture<TinyPairFixture>, IDisposable
{
    private readonly string _root = Path.Combine(pair.Root, Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_root)) { Directory.Delete(_root, recursive: true); }
    }

    private DistillDataOptions DataOptions(string name = "data.jsonl") => new()
    {
        Teacher = pair.Teacher,
        Out = Path.Combine(_root, name),
        Task = pair.Problems,
        Template = "plain",
        Problems = 8,
        Samples = 4,
        MaxNewTokens = 24,
        TopLogProbs = 4,
        EarlyCheckProblems = 8,
    };

    [Fact]
    public void Data_KeepsTheTeachersRightSamples_WithIdsAndTopK()
    {
        var meta = DistillData.Run(DataOptions())!;
        Assert.True(meta.Report.Kept > 0, $"kept none: {meta.Report}");
        Assert.Equal(meta.Report.Samples, meta.Report.Kept + meta.Report.Wrong + meta.Report.BadFormat + meta.Report.Unreadable + meta.Report.Truncated + meta.Report.Duplicates);
        var lines = DistillData.ReadLines(DataOptions().Out);
        Assert.Equal(meta.Report.Kept, lines.Count);
        var tokenizer = ByteLevelBpe.Load(pair.Teacher);
        Assert.Equal(TokenizerMatch.Fingerprint(tokenizer), meta.Tokenizer);
        foreach (var l in lines)
        {
            Assert.Contains("<answer>4</answer>", l.Completion, StringComparison.Ordinal);
            var ids = l.Tokens![^1] == tokenizer.EosId ? l.Tokens[..^1] : l.Tokens;
            Assert.Equal(l.Completion, "<think>\n" == l.Completion[..8] ? tokenizer.Decode(ids).TrimStart() : tokenizer.Decode(ids));
            Assert.Equal(l.Tokens.Length, l.TopIds!.Length);
            Assert.All(l.TopIds, top => Assert.Equal(4, top.Length));
            Assert.All(l.TopLogProbs!, top => Assert.True(top[0] >= top[^1] && top[0] <= 0));
        }
        // Made once: a rerun reuses it; other settings are refused.
        Assert.Equal(meta.Report.Kept, DistillData.Run(DataOptions())!.Report.Kept);
        Assert.Contains("other settings", Assert.Throws<InvalidOperationException>(() => DistillData.Run(DataOptions() with { Samples = 2 })).Message, StringComparison.Ordinal);
        Assert.Contains("other settings", Assert.Throws<InvalidOperationException>(() => DistillData.Run(DataOptions() with { Teacher = pair.Base })).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Data_StoppedAndResumed_IsTheUninterruptedFile()
    {
        var whole = DistillData.Run(DataOptions("whole.jsonl") with { Samples = 64, QueueBatches = 1 })!;
        using var stop = new CancellationTokenSource();
        var o = DataOptions("resumed.jsonl") with { Samples = 64, QueueBatches = 1 }; // 128 slots, a queue of 128: two problems a batch
        var batches = 0;
        Assert.Null(DistillData.Run(o, progress: (_, _) => { if (++batches == 1) { stop.Cancel(); } }, cancel: stop.Token));
        Assert.False(File.Exists(o.Out));
        Assert.True(File.Exists(o.Out + DistillData.ProgressSuffix));
        File.AppendAllText(o.Out + DistillData.PartialSuffix, "{\"torn\": "); // a kill mid-append: cut back to what the progress counts
        var resumed = DistillData.Run(o)!;
        Assert.Equal(File.ReadAllBytes(Path.Combine(_root, "whole.jsonl")), File.ReadAllBytes(o.Out));
        Assert.Equal(whole.Report.Kept, resumed.Report.Kept);
        Assert.False(File.Exists(o.Out + DistillData.ProgressSuffix));

        // Stopped between the rename and the meta file: the rerun writes the meta from the progress file.
        var meta = File.ReadAllText(o.Out + DistillData.MetaSuffix);
        File.Move(o.Out + DistillData.MetaSuffix, o.Out + DistillData.ProgressSuffix);
        Assert.Equal(resumed.Report.Kept, DistillData.Run(o)!.Report.Kept);
        Assert.Equal(meta, File.ReadAllText(o.Out + DistillData.MetaSuffix));
        Assert.False(File.Exists(o.Out + DistillData.ProgressSuffix));
    }

    [Fact]
    public void Data_TeacherThatSolvesNothing_FailsEarlyWithWhatToChange()
    {
        var e = Assert.Throws<InvalidOperationException>(() => DistillData.Run(DataOptions() with { Teacher = pair.Base }));
        Assert.Contains("kept no sample of the first 8 problems", e.Message, StringComparison.Ordinal);
        Assert.Contains("choose a task it solves", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(DataOptions().Out));
        // Nothing is left to resume: the same try fails again, never with an empty dataset, and a teacher that solves
        // the task starts clean on the same path.
        Assert.False(File.Exists(DataOptions().Out + DistillData.PartialSuffix) || File.Exists(DataOptions().Out + DistillData.ProgressSuffix));
        Assert.Throws<InvalidOperationException>(() => DistillData.Run(DataOptions() with { Teacher = pair.Base }));
        Assert.False(File.Exists(DataOptions().Out));
        Assert.True(DistillData.Run(DataOptions())!.Report.Kept > 0);
    }

    [Fact]
    public void Logits_LowersItsLoss_AndResumesExactly()
    {
        DistillData.Run(DataOptions());
        var o = new DistillOptions { Teacher = pair.Teacher, Student = pair.Student, Data = DataOptions().Out, OutDir = Path.Combine(_root, "logits"), Mode = DistillMode.Logits, Template = "plain", Steps = 6, Batch = 4, MicroBatch = 2, Lr = 3e-3, WarmupSteps = 1 };
        var whole = new DistillRun(o).Run();
        Assert.True(whole.Last!.Loss < whole.First!.Loss, $"loss {whole.First.Loss} -> {whole.Last.Loss}");
        Assert.True(whole.First.Kl > 0 && whole.First.CrossEntropy > 0);
        Assert.True(File.Exists(Path.Combine(o.OutDir, "model.safetensors")) && File.Exists(Path.Combine(o.OutDir, "tokenizer.json")));

        var split = o with { OutDir = Path.Combine(_root, "logits-split") };
        using var stop = new CancellationTokenSource();
        Assert.Equal(3, new DistillRun(split) { OnStep = r => { if (r.Step == 3) { stop.Cancel(); } } }.Run(stop.Token).CheckpointStep);
        var resumed = new DistillRun(split with { Resume = true }).Run();
        Assert.Equal(6, resumed.Step);
        Assert.Equal(Weights(o.OutDir), Weights(split.OutDir));
        Assert.Contains("already holds a distillation run", Assert.Throws<InvalidOperationException>(() => new DistillRun(o).Run()).Message, StringComparison.Ordinal);
        var other = o with { OutDir = Path.Combine(_root, "logits-template"), Template = "r1zero" };
        Assert.Contains("pass --template plain", Assert.Throws<InvalidDataException>(() => new DistillRun(other).Run()).Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(other.OutDir));
    }

    [Fact]
    public void OnPolicy_SamplesAndLowersTheReverseKl()
    {
        var o = new DistillOptions { Teacher = pair.Teacher, Student = pair.Student, OutDir = Path.Combine(_root, "on-policy"), Mode = DistillMode.OnPolicy, Task = pair.Problems, Template = "plain", Steps = 8, Prompts = 2, Generations = 2, MaxNewTokens = 16, Lr = 3e-3, WarmupSteps = 1 };
        var records = new List<DistillRecord>();
        var result = new DistillRun(o) { OnStep = records.Add }.Run();
        Assert.Equal(8, result.Step);
        Assert.All(records, r => Assert.True(r.Kl >= 0 && r.Accuracy is >= 0 and <= 1 && r.Tokens > 0));
        Assert.True(records.TakeLast(3).Average(r => r.Kl) < records.Take(3).Average(r => r.Kl), string.Join(", ", records.Select(r => r.Kl)));
    }

    [Fact]
    public void Sft_TrainsTheStudentOnTheTextWithItsOwnTemplate()
    {
        DistillData.Run(DataOptions());
        var run = DistillRun.PrepareSft(new DistillOptions { Teacher = pair.Teacher, Student = pair.Student, Data = DataOptions().Out, OutDir = Path.Combine(_root, "sft"), Template = "plain", Steps = 3, Batch = 2, MicroBatch = 2, SeqLen = 64 });
        var result = new TrainingRun(run).Run();
        Assert.Equal(3, result.Step);
    }

    [Fact]
    public void StudentOnAnotherTokenizer_IsRefusedBeforeAnyStep()
    {
        DistillData.Run(DataOptions());
        var other = Path.Combine(_root, "other");
        var tokenizer = BpeTrainer.Train(ReasoningCorpus.Generate(9, 200), 300, DeepSeekTokens.All, BpeTrainerOptions.DeepSeek);
        var config = ModelConfig.Load(pair.Student) with { VocabSize = tokenizer.VocabSize, BosTokenId = tokenizer.BosId, EosTokenId = tokenizer.EosId };
        RandomCheckpoint.Write(other, config, CheckpointFormat.F32, 1);
        tokenizer.Save(other);
        var o = new DistillOptions { Teacher = pair.Teacher, Student = other, Data = DataOptions().Out, OutDir = Path.Combine(_root, "mismatch"), Mode = DistillMode.Logits, Template = "plain", Steps = 1 };
        var e = Assert.Throws<InvalidDataException>(() => new DistillRun(o).Run());
        Assert.Contains("must share a tokenizer", e.Message, StringComparison.Ordinal);
        Assert.Contains("use --mode sft", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(o.OutDir, "model.safetensors")));
        // sft re-encodes the text, so the same student is fine there.
        DistillRun.PrepareSft(o with { Mode = DistillMode.Sft, OutDir = Path.Combine(_root, "mismatch-sft") });
    }

    [Fact]
    public void StudentThatCannotExpressTheData_IsRefusedBySft()
    {
        DistillData.Run(DataOptions());
        // A tokenizer without the teacher's tags as tokens and without the bytes "<" and ">": it cannot spell "<think>".
        var poor = Path.Combine(_root, "poor");
        Directory.CreateDirectory(poor);
        var text = File.ReadAllText(Path.Combine(pair.Student, "tokenizer.json"));
        var node = System.Text.Json.Nodes.JsonNode.Parse(text)!;
        var vocab = node["model"]!["vocab"]!.AsObject();
        foreach (var name in vocab.Select(p => p.Key).Where(k => k.Contains('<') || k.Contains('>')).ToList()) { vocab.Remove(name); }
        var merges = node["model"]!["merges"]!.AsArray();
        foreach (var m in merges.Where(m => m!.ToJsonString().Contains('<') || m!.ToJsonString().Contains('>')).ToList()) { merges.Remove(m); }
        var added = node["added_tokens"]!.AsArray();
        foreach (var t in added.Where(t => t!["content"]!.GetValue<string>() is "<think>" or "</think>" or "<answer>" or "</answer>").ToList()) { added.Remove(t); }
        File.WriteAllText(Path.Combine(poor, "tokenizer.json"), node.ToJsonString());
        File.Copy(Path.Combine(pair.Student, "config.json"), Path.Combine(poor, "config.json"));
        File.Copy(Path.Combine(pair.Student, "model.safetensors"), Path.Combine(poor, "model.safetensors"));
        var o = new DistillOptions { Teacher = pair.Teacher, Student = poor, Data = DataOptions().Out, OutDir = Path.Combine(_root, "poor-sft"), Template = "plain", Steps = 1 };
        var e = Assert.Throws<InvalidDataException>(() => DistillRun.PrepareSft(o));
        Assert.Contains("cannot express the teacher's data", e.Message, StringComparison.Ordinal);
        Assert.Contains("'<'", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(o.OutDir, "data")));
    }

    [Fact]
    public void PresetStudent_StartsFromRandomWeightsOnTheTeachersTokenizer()
    {
        var dir = Students.Resolve("dense-1m", pair.Teacher, _root, 3);
        Assert.Equal(Path.Combine(_root, Students.InitDirectory), dir);
        Assert.Equal(File.ReadAllBytes(Path.Combine(pair.Teacher, "tokenizer.json")), File.ReadAllBytes(Path.Combine(dir, "tokenizer.json")));
        Assert.Equal(128, ModelConfig.Load(dir).HiddenSize);
        Assert.Equal(dir, Students.Resolve("dense-1m", pair.Teacher, _root, 3));
        Assert.Contains("holds a student made from dense-1m", Assert.Throws<InvalidOperationException>(() => Students.Resolve("dense-2m", pair.Teacher, _root, 3)).Message, StringComparison.Ordinal);
        var small = Path.Combine(_root, "small.json");
        File.WriteAllText(small, (ModelConfig.LoadPreset("dense-1m") with { VocabSize = 16 }).ToJson());
        Assert.Contains("vocab_size 16", Assert.Throws<ArgumentException>(() => Students.Resolve(small, pair.Teacher, Path.Combine(_root, "x"), 3)).Message, StringComparison.Ordinal);
    }

    private static byte[] Weights(string dir) => File.ReadAllBytes(Path.Combine(dir, "model.safetensors"));
}
