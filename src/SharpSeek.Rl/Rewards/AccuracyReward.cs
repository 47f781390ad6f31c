// AccuracyReward.cs: R1-Zero's accuracy reward (DeepSeek-R1, arXiv 2501.12948 §2.2.2): a deterministic check of the
// final answer, the last complete <answer>…</answer> block. A numeric problem is right when the answer is the gold
// number exactly ("1,234" = "1234" = "1234.0"); a countdown problem when the answer is an expression over exactly the
// given numbers that reaches the target. 1 or 0; no answer block is 0; a gold that does not parse is unscorable (null),
// never 1 (huggingface/open-r1:src/open_r1/rewards.py returned 1.0 there before its fix). Not here: the parsers
// (NumericAnswer.cs, CountdownExpression.cs). Tested by AccuracyRewardTests.
using SharpSeek.Rl.Tasks;

namespace SharpSeek.Rl.Rewards;

/// <summary>1 when the last answer block is right, 0 when it is wrong or missing, null when the problem's gold answer
/// cannot be scored (not a number, or a countdown problem without its target).</summary>
public sealed class AccuracyReward : IReward
{
    public string Name => "accuracy";

    public double? Score(Problem problem, Completion completion)
    {
        ArgumentNullException.ThrowIfNull(problem);
        if (problem.Numbers is { } numbers)
        {
            if (problem.Target is not { } target) { return null; }
            var expression = CompletionTags.LastAnswer(completion.Text);
            return expression is not null && CountdownExpression.Solves(expression, numbers, target) ? 1 : 0;
        }
        if (!NumericAnswer.TryParse(problem.Answer, out var gold)) { return null; }
        var answer = CompletionTags.LastAnswer(completion.Text);
        return answer is not null && NumericAnswer.TryParse(answer, out var value) && value == gold ? 1 : 0;
    }
}
