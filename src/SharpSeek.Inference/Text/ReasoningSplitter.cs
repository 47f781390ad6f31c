// ReasoningSplitter.cs: splits a streamed R1-style reply into reasoning (inside <think>…</think>) and content, holding
// back a partial tag until the next push decides it. The tags themselves are dropped; everything else comes out once,
// in order. Starting inside reasoning (the prompt ended with <think>), a <think> that opens the reply is dropped too,
// as models that repeat the tag emit it. Not here: parsing by token id (callers may map ids to tags first).
// Tested by ReasoningSplitterTests.
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Inference.Text;

/// <summary>Streaming &lt;think&gt;…&lt;/think&gt; split. Each push returns the reasoning and content text it completes;
/// a second &lt;think&gt; after the reasoning ends opens reasoning again.</summary>
public sealed class ReasoningSplitter(bool startInReasoning)
{
    private bool _inReasoning = startInReasoning;
    private bool _atReplyStart = startInReasoning;
    private string _pending = "";

    /// <summary>True while the text seen so far ends inside a reasoning block.</summary>
    public bool InReasoning => _inReasoning;

    public (string Reasoning, string Content) Push(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var pending = _pending + text;
        var (reasoning, content) = ("", "");
        while (true)
        {
            if (_atReplyStart)
            {
                // A reply that restates the already-open <think>: drop it, once it is whole.
                if (DeepSeekTokens.Think.StartsWith(pending, StringComparison.Ordinal) && pending.Length < DeepSeekTokens.Think.Length)
                {
                    _pending = pending;
                    return (reasoning, content);
                }
                if (pending.StartsWith(DeepSeekTokens.Think, StringComparison.Ordinal)) { pending = pending[DeepSeekTokens.Think.Length..]; }
                _atReplyStart = false;
            }
            var tag = _inReasoning ? DeepSeekTokens.ThinkEnd : DeepSeekTokens.Think;
            var at = pending.IndexOf(tag, StringComparison.Ordinal);
            var emitEnd = at >= 0 ? at : pending.Length - HeldLength(pending, tag);
            if (_inReasoning) { reasoning += pending[..emitEnd]; } else { content += pending[..emitEnd]; }
            if (at < 0)
            {
                _pending = pending[emitEnd..];
                return (reasoning, content);
            }
            pending = pending[(at + tag.Length)..];
            _inReasoning = !_inReasoning;
        }
    }

    /// <summary>The held-back text (a partial tag that never completed), in the channel it was in.</summary>
    public (string Reasoning, string Content) Flush()
    {
        var rest = _pending;
        _pending = "";
        _atReplyStart = false;
        return _inReasoning ? (rest, "") : ("", rest);
    }

    // The longest suffix of the text that is a proper prefix of the tag.
    private static int HeldLength(string text, string tag)
    {
        for (var n = Math.Min(tag.Length - 1, text.Length); n > 0; n--)
        {
            if (text.AsSpan(text.Length - n).SequenceEqual(tag.AsSpan(0, n))) { return n; }
        }
        return 0;
    }
}
