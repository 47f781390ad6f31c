// DeepSeekTokens.cs: the special-token spellings of our models (DeepSeek's full-width bar U+FF5C and U+2581 "▁"), so no
// other file types them. Not here: their ids, which always come from tokenizer.json. Tested by TokenizerTrainerTests.
namespace SharpSeek.Model.Tokenizer;

/// <summary>DeepSeek-V3/R1 special tokens as spelled in its tokenizer.json, plus the R1-style answer tags and a pad token.</summary>
public static class DeepSeekTokens
{
    public const string Bos = "<｜begin▁of▁sentence｜>";
    public const string Eos = "<｜end▁of▁sentence｜>";
    public const string Pad = "<｜▁pad▁｜>";
    public const string User = "<｜User｜>";
    public const string Assistant = "<｜Assistant｜>";
    public const string Think = "<think>";
    public const string ThinkEnd = "</think>";
    public const string Answer = "<answer>";
    public const string AnswerEnd = "</answer>";

    /// <summary>All of the above, in the id order our trainer gives them.</summary>
    public static IReadOnlyList<string> All { get; } = [Bos, Eos, Pad, User, Assistant, Think, ThinkEnd, Answer, AnswerEnd];
}
