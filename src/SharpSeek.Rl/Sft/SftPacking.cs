// SftPacking.cs: fine-tuning examples to token shards with loss masks. Each example is its prompt's tokens (with the
// start token generation puts first), its completion's tokens (encoded apart, as generation sees them) and EOS; the loss
// falls on the completion and the EOS.
// Whole examples are packed into windows of seqLen tokens, none cut in two (the rest of a window is EOS padding with no
// loss), so every target keeps its prompt in view; like pretraining, examples in one window are not masked from each
// other. Not here: the examples (SftData.cs), the training loop (Training's TrainingRun). Tested by SftTests.
using SharpSeek.Model.Tokenizer;
using SharpSeek.Training.Data;

namespace SharpSeek.Rl.Sft;

/// <summary>Packed tokens with their mask: window w is tokens [w·T, w·T + T], one more token than a window so that
/// every window has its last target.</summary>
public sealed record SftPack(int[] Tokens, byte[] Mask, int Examples, int Skipped, long TargetTokens)
{
    /// <summary>Windows of <paramref name="seqLen"/> tokens the pack holds.</summary>
    public int Windows(int seqLen) => (Tokens.Length - 1) / seqLen;
}

/// <summary>Tokenizes and packs examples.</summary>
public static class SftPacking
{
    /// <summary>The examples' (prompt, completion) token ids, the prompt encoded as generation encodes it (BOS or EOS
    /// first unless templated: <see cref="Prompts.RenderedPrompt.Encode"/>); the EOS after the completion is added by
    /// <see cref="Pack"/>.</summary>
    public static IReadOnlyList<(int[] Prompt, int[] Completion)> Encode(IEnumerable<SftExample> examples, ByteLevelBpe tokenizer)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var list = examples.ToList();
        var encoded = new (int[], int[])[list.Count];
        Parallel.For(0, list.Count, i => encoded[i] = (new Prompts.RenderedPrompt(list[i].Prompt, false, list[i].Templated).Encode(tokenizer), tokenizer.Encode(list[i].Completion)));
        return encoded;
    }

    /// <summary>Packs the examples in order into windows of <paramref name="seqLen"/>: an example goes into the
    /// current window when its prompt + completion + EOS fit in what is left, else the window is padded with
    /// <paramref name="eosId"/> and the example starts the next one. An example longer than a window is skipped and
    /// counted; one with an empty completion is refused.</summary>
    public static SftPack Pack(IReadOnlyList<(int[] Prompt, int[] Completion)> examples, int seqLen, int eosId)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentOutOfRangeException.ThrowIfLessThan(seqLen, 2);
        ArgumentOutOfRangeException.ThrowIfNegative(eosId);
        var tokens = new List<int>();
        var mask = new List<byte>();
        int packed = 0, skipped = 0;
        long targets = 0;
        for (var i = 0; i < examples.Count; i++)
        {
            var (prompt, completion) = examples[i];
            if (completion.Length == 0) { throw new ArgumentException($"example {i} has an empty completion (expected at least one token to learn)", nameof(examples)); }
            var length = prompt.Length + completion.Length + 1;
            if (length > seqLen)
            {
                skipped++;
                continue;
            }
            var used = tokens.Count % seqLen;
            if (used + length > seqLen) { Pad(tokens, mask, seqLen - used, eosId); }
            tokens.AddRange(prompt);
            mask.AddRange(Enumerable.Repeat((byte)0, prompt.Length));
            tokens.AddRange(completion);
            tokens.Add(eosId);
            // An example without a prompt has nothing of its own before its first token: that token is no target.
            mask.AddRange(Enumerable.Repeat((byte)1, completion.Length + 1));
            if (prompt.Length == 0) { mask[^(completion.Length + 1)] = 0; }
            targets += completion.Length + 1 - (prompt.Length == 0 ? 1 : 0);
            packed++;
        }
        if (tokens.Count % seqLen != 0) { Pad(tokens, mask, seqLen - (tokens.Count % seqLen), eosId); }
        Pad(tokens, mask, 1, eosId); // window w reads token w·T + T as its last target
        return new SftPack([.. tokens], [.. mask], packed, skipped, targets);
    }

    private static void Pad(List<int> tokens, List<byte> mask, int count, int eosId)
    {
        tokens.AddRange(Enumerable.Repeat(eosId, count));
        mask.AddRange(Enumerable.Repeat((byte)0, count));
    }

    /// <summary>Writes <paramref name="pack"/> as a masked token shard.</summary>
    public static void Write(string path, SftPack pack, int eosId)
    {
        ArgumentNullException.ThrowIfNull(pack);
        TokenShard.WriteMasked(path, pack.Tokens, pack.Mask, pack.Examples, eosId);
    }
}
