// CompletionTags.cs: where the answer and the chain of thought are in a completion: the last complete
// <answer>…</answer> block (the accuracy reward's), and the text of the first think block (the language reward's). Not
// here: whether the tags are well formed (FormatReward.cs). Tested by AccuracyRewardTests and LanguageRewardTests.
namespace SharpSeek.Rl.Rewards;

internal static class CompletionTags
{
    public const string ThinkOpen = "<think>", ThinkClose = "</think>", AnswerOpen = "<answer>", AnswerClose = "</answer>";

    /// <summary>The content of the last complete answer block, read left to right: an opening tag starts a block (a
    /// later opening tag restarts it), the next closing tag ends it, stray closing tags are ignored. So
    /// "&lt;answer&gt;5&lt;/answer&gt;&lt;/answer&gt;" answers "5", "…&lt;answer&gt;6" (cut off) keeps the block before,
    /// and of several blocks the last counts. Null when no block closes.</summary>
    public static string? LastAnswer(string text)
    {
        string? last = null;
        var open = -1;
        // The next tag of each kind at or after the position reached; each is searched again only once passed, so the
        // scan is linear however many tags a completion repeats.
        var nextOpen = text.IndexOf(AnswerOpen, StringComparison.Ordinal);
        var nextClose = text.IndexOf(AnswerClose, StringComparison.Ordinal);
        while (nextClose >= 0)
        {
            if (nextOpen >= 0 && nextOpen < nextClose)
            {
                open = nextOpen + AnswerOpen.Length;
                nextOpen = text.IndexOf(AnswerOpen, open, StringComparison.Ordinal);
            }
            else
            {
                if (open >= 0) { last = text[open..nextClose]; }
                open = -1;
                nextClose = text.IndexOf(AnswerClose, nextClose + AnswerClose.Length, StringComparison.Ordinal);
            }
        }
        return last;
    }

    /// <summary>The chain of thought: from the first opening think tag (or the start, when the prompt opened the block)
    /// to the next closing tag or the end of the text; empty when there is no opening tag.</summary>
    public static string Think(string text, bool startsInThink)
    {
        var start = 0;
        if (!startsInThink)
        {
            var open = text.IndexOf(ThinkOpen, StringComparison.Ordinal);
            if (open < 0) { return ""; }
            start = open + ThinkOpen.Length;
        }
        var close = text.IndexOf(ThinkClose, start, StringComparison.Ordinal);
        return text[start..(close < 0 ? text.Length : close)];
    }
}
