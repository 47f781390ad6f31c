// Students.cs: what --student names, made into a model directory the loops can start from: a model directory as it is
// (a run of ours, or an HF qwen2/llama checkpoint with its tokenizer), or a preset / config.json, which gets the
// initializer's random weights and the teacher's tokenizer (so logits and on-policy modes apply) in <out>/student-init.
// Not here: the base recipe (pretraining a preset on the corpus first: `sharpseek train`, README). Tested by
// DistillTests.
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Rl.Distill;

/// <summary>Resolves --student.</summary>
public static class Students
{
    public const string InitDirectory = "student-init";

    /// <summary>The model directory of <paramref name="student"/>; a preset or config is initialized (seed
    /// <paramref name="seed"/>) under <paramref name="outDir"/> with <paramref name="teacherDir"/>'s tokenizer files, once.</summary>
    public static string Resolve(string student, string teacherDir, string outDir, int seed, Action<string>? log = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(student);
        if (Directory.Exists(student))
        {
            if (!File.Exists(Path.Combine(student, CheckpointDirectory.ConfigFile))) { throw new FileNotFoundException($"--student '{student}' is a directory without config.json (expected a model directory)"); }
            if (!File.Exists(Path.Combine(student, ByteLevelBpe.TokenizerFileName))) { throw new FileNotFoundException($"--student '{student}' has no {ByteLevelBpe.TokenizerFileName}: distillation reads and writes text through the student's tokenizer"); }
            using (CheckpointDirectory.Open(student)) { } // weights there and readable
            return student;
        }
        var init = Path.Combine(outDir, InitDirectory);
        var made = $"{student}\nseed {seed}\n"; // what the directory was made from, so a different --student is not silently reused
        var marker = Path.Combine(init, "made-from.txt");
        if (File.Exists(marker))
        {
            if (File.ReadAllText(marker) == made) { return init; }
            throw new InvalidOperationException($"'{init}' holds a student made from {File.ReadAllText(marker).ReplaceLineEndings(", ").TrimEnd(',', ' ')}; choose another --out or delete it");
        }
        var config = ModelConfig.LoadPreset(student);
        var tokenizer = ByteLevelBpe.Load(teacherDir);
        if (config.VocabSize < tokenizer.VocabSize)
        {
            throw new ArgumentException($"--student {student} has vocab_size {config.VocabSize}, fewer than the teacher's tokenizer's {tokenizer.VocabSize} tokens it would use; raise vocab_size");
        }
        log?.Invoke($"--student {student}: random weights (seed {seed}) with the teacher's tokenizer in {init}; a pretrained student (`sharpseek train`) distills far better");
        RandomCheckpoint.Write(init, config, CheckpointFormat.F32, seed);
        foreach (var file in new[] { ByteLevelBpe.TokenizerFileName, "tokenizer_config.json" })
        {
            if (File.Exists(Path.Combine(teacherDir, file))) { File.Copy(Path.Combine(teacherDir, file), Path.Combine(init, file), overwrite: true); }
        }
        AtomicFile.WriteAllText(marker, made); // last: the directory is complete
        return init;
    }
}
