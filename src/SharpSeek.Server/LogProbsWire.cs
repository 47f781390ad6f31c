// LogProbsWire.cs: the engine's log-probs in OpenAI's two shapes: chat's logprobs.content entries {token, logprob,
// bytes, top_logprobs} and the legacy completions' {tokens, token_logprobs, top_logprobs, text_offset}. A token's text is
// its UTF-8 bytes decoded, with each byte that is not part of a whole character (a byte-level token can end inside a
// multi-byte one) written as the escape \xNN, as OpenAI does; bytes carries the raw bytes, so joining the bytes of
// consecutive tokens gives the exact text. Not here: the numbers themselves (Sampler.LogProbs). Tested by
// ServerLogProbsTests.
using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using SharpSeek.Inference.Engine;
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Server;

internal sealed class LogProbsWire(ByteLevelBpe tokenizer)
{
    // JSON has no −∞ (a logit of −∞ gives it); OpenAI's API reference documents −9999.0 for "very unlikely".
    private const double VeryUnlikely = -9999.0;

    public ChatLogprobs Chat(IReadOnlyList<TokenLogProbs> entries)
    {
        var content = new List<ChatTokenLogprob>(entries.Count);
        foreach (var e in entries)
        {
            var (text, bytes) = Token(e.Token);
            var top = new List<ChatTopLogprob>(e.Top.Length);
            foreach (var t in e.Top.Span)
            {
                var (topText, topBytes) = Token(t.Token);
                top.Add(new ChatTopLogprob(topText, Finite(t.LogProb), topBytes));
            }
            content.Add(new ChatTokenLogprob(text, Finite(e.LogProb), bytes, top));
        }
        return new ChatLogprobs(content);
    }

    /// <summary>The completions shape. <paramref name="offset"/>: where the first token starts in the generated text, as
    /// the lengths of the token strings before it add up (a stream carries it from chunk to chunk). top_logprobs holds the
    /// top n and the sampled token (OpenAI: "up to logprobs+1 elements").</summary>
    public TextLogprobs Text(IReadOnlyList<TokenLogProbs> entries, ref int offset)
    {
        var (tokens, logProbs, tops, offsets) = (new List<string>(), new List<double>(), new List<Dictionary<string, double>>(), new List<int>());
        foreach (var e in entries)
        {
            var text = Token(e.Token).Text;
            var top = new Dictionary<string, double>();
            foreach (var t in e.Top.Span) { top.TryAdd(Token(t.Token).Text, Finite(t.LogProb)); }
            top.TryAdd(text, Finite(e.LogProb));
            tokens.Add(text);
            logProbs.Add(Finite(e.LogProb));
            tops.Add(top);
            offsets.Add(offset);
            offset += text.Length;
        }
        return new TextLogprobs(tokens, logProbs, tops, offsets);
    }

    internal (string Text, int[] Bytes) Token(int id)
    {
        var list = new List<byte>();
        tokenizer.AppendTokenBytes(id, list);
        var bytes = CollectionsMarshal.AsSpan(list);
        var text = new StringBuilder(bytes.Length);
        Span<char> utf16 = stackalloc char[2];
        for (var at = 0; at < bytes.Length;)
        {
            if (Rune.DecodeFromUtf8(bytes[at..], out var rune, out var used) == OperationStatus.Done)
            {
                text.Append(utf16[..rune.EncodeToUtf16(utf16)]);
                at += used;
            }
            else
            {
                text.Append(CultureInfo.InvariantCulture, $"\\x{bytes[at++]:x2}");
            }
        }
        return (text.ToString(), [.. list.Select(b => (int)b)]);
    }

    private static double Finite(double logProb) => double.IsFinite(logProb) ? logProb : VeryUnlikely;
}
