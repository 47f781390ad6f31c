// TokenizerMatch.cs: whether a student can learn from a teacher's data. SFT re-encodes the data's text with the
// student's tokenizer, so every text must come back unchanged from the student's encode and decode (the teacher's added
// tokens first: a student that cannot express "<think>" cannot learn R1's format). Logits and on-policy modes compare
// distributions token by token, so the two tokenizers must be the same: same ids for the same tokens, same merges.
// Checked before any training step, each error saying what to change. Not here: the data (DistillData), training
// (DistillRun). Tested by DistillTests.
using System.Security.Cryptography;
using System.Text;
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Rl.Distill;

/// <summary>Tokenizer checks for distillation.</summary>
public static class TokenizerMatch
{
    /// <summary>A hash of what decides token ids: every id's token (vocab and added tokens) and the merges in rank order.</summary>
    public static string Fingerprint(ByteLevelBpe tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var text = new StringBuilder();
        var ids = Enumerable.Range(0, tokenizer.VocabSize).Concat(tokenizer.AddedTokens.Select(t => t.Id)).Distinct().Order();
        foreach (var id in ids) { text.Append(id).Append('\t').Append(tokenizer.IdToToken(id)).Append('\n'); }
        text.Append("merges\n");
        foreach (var (left, right) in tokenizer.Merges) { text.Append(left).Append(' ').Append(right).Append('\n'); }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];
    }

    /// <summary>The student's tokenizer; one this program cannot read (a byte-level vocab missing a byte, so some text
    /// has no tokens) is refused saying so.</summary>
    public static ByteLevelBpe LoadStudent(string studentDir)
    {
        try
        {
            return ByteLevelBpe.Load(studentDir);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"the student's tokenizer ({studentDir}) cannot express the teacher's data: {e.Message}; "
                + "give the student a byte-level tokenizer that covers every byte, or start it from the teacher's tokenizer (a preset student copies it)", e);
        }
    }

    /// <summary>Throws when the student's tokenizer does not bring back one of <paramref name="texts"/> (the teacher's
    /// added tokens that occur in them are tried first, so the error names the token, not a whole sample).</summary>
    public static void EnsureExpressible(ByteLevelBpe student, string studentDir, IEnumerable<string> texts, IReadOnlyList<string> teacherAddedTokens)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(teacherAddedTokens);
        var all = texts.ToList();
        foreach (var token in teacherAddedTokens.Where(t => all.Any(x => x.Contains(t, StringComparison.Ordinal))))
        {
            if (!RoundTrips(student, token, out var got))
            {
                throw new InvalidDataException($"the student's tokenizer ({studentDir}) cannot express the teacher's token '{token}' that the data uses (it comes back as '{got}'): "
                    + "give the student a tokenizer that has it (an added token in tokenizer.json, or every byte in a byte-level vocab), or start the student from the teacher's tokenizer");
            }
        }
        foreach (var text in all)
        {
            if (!RoundTrips(student, text, out var got))
            {
                var at = Enumerable.Range(0, Math.Min(text.Length, got.Length)).FirstOrDefault(i => text[i] != got[i], Math.Min(text.Length, got.Length));
                throw new InvalidDataException($"the student's tokenizer ({studentDir}) cannot express the data's text: '{Excerpt(text, at)}' comes back as '{Excerpt(got, at)}'; "
                    + "give the student a byte-level tokenizer that covers every byte, or start it from the teacher's tokenizer");
            }
        }
    }

    /// <summary>Throws unless the student's tokenizer is the teacher's (what logits and on-policy modes need).</summary>
    public static void EnsureSame(ByteLevelBpe student, string studentDir, string teacherFingerprint, int teacherVocab, string mode)
    {
        ArgumentNullException.ThrowIfNull(student);
        var mine = Fingerprint(student);
        if (mine != teacherFingerprint)
        {
            throw new InvalidDataException($"--mode {mode} compares the teacher's and the student's distributions token by token, so they must share a tokenizer; "
                + $"the teacher's has {teacherVocab} tokens (fingerprint {teacherFingerprint}), the student's in {studentDir} has {student.VocabSize} ({mine}): "
                + "use --mode sft (re-encodes the text), or a student built on the teacher's tokenizer (a preset student copies it)");
        }
    }

    private static bool RoundTrips(ByteLevelBpe tokenizer, string text, out string got)
    {
        try
        {
            got = tokenizer.Decode(tokenizer.Encode(text));
        }
        catch (Exception e) when (e is ArgumentException or KeyNotFoundException or IndexOutOfRangeException)
        {
            got = $"(no tokens: {e.Message})";
        }
        return got == text;
    }

    private static string Excerpt(string s, int at) => s.Substring(Math.Max(0, at - 10), Math.Min(s.Length - Math.Max(0, at - 10), 30)).ReplaceLineEndings("\\n");
}
