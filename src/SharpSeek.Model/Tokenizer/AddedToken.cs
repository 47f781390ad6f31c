// AddedToken.cs: a token matched in raw text before pre-tokenization and never split or merged (HF "added_tokens").
// Not here: matching (ByteLevelBpe.cs). Tested by TokenizerTests.
namespace SharpSeek.Model.Tokenizer;

/// <summary>An HF added token: <paramref name="Content"/> is matched verbatim and always encodes to <paramref name="Id"/>.
/// <paramref name="Special"/> marks control tokens (BOS, EOS, chat roles) that HF's skip_special_tokens drops.</summary>
public sealed record AddedToken(int Id, string Content, bool Special);
