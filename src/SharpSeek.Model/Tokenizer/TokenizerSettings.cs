// TokenizerSettings.cs: the tokenizer_config.json fields we read and write (bos/eos/pad tokens, model_max_length,
// chat_template) and add_bos_token, which we read (HF models such as the R1 distills set it; ours write false).
// Not here: parsing (ByteLevelBpe.Json.cs). Tested by TokenizerJsonTests.
namespace SharpSeek.Model.Tokenizer;

internal sealed record TokenizerSettings(string? BosToken, string? EosToken, string? PadToken, int? ModelMaxLength, string? ChatTemplate = null)
{
    /// <summary>tokenizer_config.json's add_bos_token: a plain encode of a prompt starts with BOS.</summary>
    public bool AddBosToken { get; init; }

    public static TokenizerSettings None { get; } = new(null, null, null, null);
}
