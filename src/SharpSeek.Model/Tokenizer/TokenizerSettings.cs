// TokenizerSettings.cs: the tokenizer_config.json fields we read and write (bos/eos/pad tokens, model_max_length).
// Not here: parsing (ByteLevelBpe.Json.cs). Tested by TokenizerJsonTests.
namespace SharpSeek.Model.Tokenizer;

internal sealed record TokenizerSettings(string? BosToken, string? EosToken, string? PadToken, int? ModelMaxLength)
{
    public static TokenizerSettings None { get; } = new(null, null, null, null);
}
