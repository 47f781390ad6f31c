// BpeTrainerOptions.cs: the knobs of BpeTrainer.Train beyond corpus, vocab size and special tokens.
// Not here: training (BpeTrainer.cs). Tested by TokenizerTrainerTests.
namespace SharpSeek.Model.Tokenizer;

/// <summary>Options for <see cref="BpeTrainer.Train"/>. BOS/EOS/pad name tokens from the special-token list and go,
/// with the chat template, into tokenizer_config.json.</summary>
public sealed record BpeTrainerOptions
{
    /// <summary>The split regex (HF Split, Isolated) applied before the byte mapping.</summary>
    public string Pattern { get; init; } = ByteLevelBpe.SplitPattern;

    /// <summary>A pair seen fewer times than this is never merged; training stops early when no pair qualifies.</summary>
    public int MinFrequency { get; init; } = 2;

    public string? BosToken { get; init; }

    public string? EosToken { get; init; }

    public string? PadToken { get; init; }

    public int? ModelMaxLength { get; init; }

    /// <summary>The Jinja chat template written as tokenizer_config.json's chat_template (null: none).</summary>
    public string? ChatTemplate { get; init; }

    /// <summary>Receives a line now and then while training (word counts, merge progress).</summary>
    public Action<string>? Progress { get; init; }

    /// <summary>Our models' layout: <see cref="DeepSeekTokens"/> BOS, EOS and pad, and <see cref="DeepSeekChatTemplate"/>.</summary>
    public static BpeTrainerOptions DeepSeek { get; } = new()
    {
        BosToken = DeepSeekTokens.Bos,
        EosToken = DeepSeekTokens.Eos,
        PadToken = DeepSeekTokens.Pad,
        ChatTemplate = DeepSeekChatTemplate.Source,
    };
}
