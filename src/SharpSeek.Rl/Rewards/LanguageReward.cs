// LanguageReward.cs: R1's language-consistency reward (DeepSeek-R1, arXiv 2501.12948 §2.3.2: "the proportion of target
// language words in the CoT", summed with accuracy): the share of the chain of thought's words written in the target
// script, Latin letters by default. A word (split at whitespace) counts when more than half of its letters are in the
// script; words without letters ("12", "=", "3+4") are ignored. A chain of thought with no lettered words, or none at
// all, scores 0: no reasoning earns no readability credit (unscorable would instead drop the sample from its group's
// baseline, shielding the behaviour). Not here: where the chain of thought is (CompletionTags.cs). Tested by
// LanguageRewardTests.
using System.Text;
using SharpSeek.Rl.Tasks;

namespace SharpSeek.Rl.Rewards;

/// <summary>In [0, 1]: lettered words of the think block in the script / all lettered words there; 0 when there are
/// none. <paramref name="inScript"/> says whether a letter is in the target script (default <see cref="IsLatin"/>).
/// Never null.</summary>
public sealed class LanguageReward(Func<Rune, bool>? inScript = null) : IReward
{
    private readonly Func<Rune, bool> _inScript = inScript ?? IsLatin;

    public string Name => "language";

    /// <summary>Latin letters: Basic Latin, Latin-1 Supplement, Latin Extended-A/B, Additional, C, D, E and the
    /// fullwidth forms.</summary>
    public static bool IsLatin(Rune letter) => letter.Value is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z')
        or (>= 0x00C0 and <= 0x024F and not 0x00D7 and not 0x00F7) or (>= 0x1E00 and <= 0x1EFF) or (>= 0x2C60 and <= 0x2C7F)
        or (>= 0xA720 and <= 0xA7FF) or (>= 0xAB30 and <= 0xAB6F) or (>= 0xFF21 and <= 0xFF3A) or (>= 0xFF41 and <= 0xFF5A);

    public double? Score(Problem problem, Completion completion)
    {
        ArgumentNullException.ThrowIfNull(completion.Text);
        int words = 0, matching = 0, letters = 0, inside = 0;
        foreach (var rune in (CompletionTags.Think(completion.Text, completion.StartsInThink) + " ").EnumerateRunes())
        {
            if (Rune.IsWhiteSpace(rune))
            {
                if (letters > 0)
                {
                    words++;
                    if (2 * inside > letters) { matching++; }
                }
                letters = inside = 0;
            }
            else if (Rune.IsLetter(rune))
            {
                letters++;
                if (_inScript(rune)) { inside++; }
            }
        }
        return words == 0 ? 0 : (double)matching / words;
    }
}
