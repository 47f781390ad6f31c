// TinyModel.cs: test helper: a model directory with the tiny DeepSeek-V3 preset's random weights and a small BPE trained
// on the generated corpus, for the runs (GRPO, SFT, the pipeline) to start from. Not here: tests.
using SharpSeek.Model;
using SharpSeek.Model.Checkpoint;
using SharpSeek.Model.Tokenizer;
using SharpSeek.Training.Data;

namespace SharpSeek.Rl.Tests;

internal static class TinyModel
{
    /// <summary>Writes the model into <paramref name="dir"/> (once: an existing one is kept) and returns the directory.</summary>
    public static string Write(string dir, int tokenizerDocuments = 300, int? maxPositions = null)
    {
        if (File.Exists(Path.Combine(dir, "config.json"))) { return dir; }
        Directory.CreateDirectory(dir);
        var tokenizer = BpeTrainer.Train(ReasoningCorpus.Generate(3, tokenizerDocuments), 400, DeepSeekTokens.All, BpeTrainerOptions.DeepSeek);
        tokenizer.Save(dir);
        var config = ModelConfig.LoadPreset("tiny") with { VocabSize = tokenizer.VocabSize, BosTokenId = tokenizer.BosId, EosTokenId = tokenizer.EosId };
        if (maxPositions is { } n) { config = config with { MaxPositionEmbeddings = n }; }
        RandomCheckpoint.Write(dir, config, CheckpointFormat.F32, seed: 4);
        return dir;
    }
}
