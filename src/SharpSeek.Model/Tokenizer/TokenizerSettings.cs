// TokenizerSettings.cs: the tokenizer_config.json fields we read and write (bos/eos/pad tokens, model_max_length,
// chat_template).
// Not here: parsing (ByteLevelBpe.Json.cs). Tested by TokenizerJsonTests.
namespace SharpSeek.Model.Tokenizer;

internal sealed record TokenizerSettings(string? BosToken, string? EosToken, string? PadToken, int? ModelMaxLength, string? ChatTemplate = null)
{
    public static TokenizerSettings None { get; } = new(null, null, null, null);
}
