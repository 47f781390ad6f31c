// FormatReward.cs: R1-Zero's format reward (DeepSeek-R1, arXiv 2501.12948 §2.2.2), strict: exactly one think block,
// then exactly one answer block holding some text, and nothing but whitespace before, between and after them. A small
// state machine over the four tags, not a regex (huggingface/open-r1's regex format reward failed on newlines and
// matched multiline text by accident), and any extra, repeated or nested tag scores 0, so a completion cannot farm it
// (open-r1 added tag_count after models emitted several blocks). 1 or 0: scale it with its weight. Not here: stripping
// EOS (the caller's). Tested by FormatRewardTests.
using SharpSeek.Rl.Tasks;
using static SharpSeek.Rl.Rewards.CompletionTags;

namespace SharpSeek.Rl.Rewards;

/// <summary>1 for "ws &lt;think&gt; text &lt;/think&gt; ws &lt;answer&gt; text &lt;/answer&gt; ws" (ws: whitespace
/// only; text: anything but the four tags; the answer's text not blank), else 0. When the prompt opened the think block
/// (<see cref="Completion.StartsInThink"/>), the completion starts inside it and must not open it again. Never null.</summary>
public sealed class FormatReward : IReward
{
    private static readonly string[] Tags = [ThinkOpen, ThinkClose, AnswerOpen, AnswerClose];

    private enum State { BeforeThink, InThink, BeforeAnswer, InAnswer, Done }

    public string Name => "format";

    public double? Score(Problem problem, Completion completion)
    {
        var text = completion.Text;
        ArgumentNullException.ThrowIfNull(text);
        var state = completion.StartsInThink ? State.InThink : State.BeforeThink;
        var answerStart = 0;
        var pos = 0;
        while (true)
        {
            var (at, tag) = NextTag(text, pos);
            // The text before the tag (or the end): free inside a block, whitespace only outside.
            var gap = text.AsSpan(pos, (at < 0 ? text.Length : at) - pos);
            if ((state is State.BeforeThink or State.BeforeAnswer or State.Done) && !gap.IsWhiteSpace()) { return 0; }
            if (at < 0) { return state == State.Done ? 1 : 0; }
            (state, var ok) = (state, tag) switch
            {
                (State.BeforeThink, ThinkOpen) => (State.InThink, true),
                (State.InThink, ThinkClose) => (State.BeforeAnswer, true),
                (State.BeforeAnswer, AnswerOpen) => (State.InAnswer, true),
                (State.InAnswer, AnswerClose) => (State.Done, !text.AsSpan(answerStart, at - answerStart).IsWhiteSpace()),
                _ => (state, false),
            };
            if (!ok) { return 0; }
            pos = at + tag.Length;
            if (state == State.InAnswer) { answerStart = pos; }
        }
    }

    /// <summary>The first of the four tags at or after <paramref name="from"/>: its position (-1 when none) and which.</summary>
    private static (int At, string Tag) NextTag(string text, int from)
    {
        var at = text.IndexOf('<', from);
        while (at >= 0)
        {
            foreach (var tag in Tags)
            {
                if (text.AsSpan(at).StartsWith(tag, StringComparison.Ordinal)) { return (at, tag); }
            }
            at = text.IndexOf('<', at + 1);
        }
        return (-1, "");
    }
}
