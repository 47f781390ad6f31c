// Objective.cs: the training loss on the tape (DeepSeek-V3 technical report §2.2 for MTP, §2.1.2 for balancing): next-token cross-entropy, plus (λ/D)·Σ_k of the MTP
// depths' cross-entropies, plus the balance loss of every MoE layer the forward ran (sequence-wise for AuxLossFree,
// expert-level for V2AuxLoss), all read from the ForwardResult the forward returned, so the loss of one forward does
// not depend on any other run since. Into a kept result it allocates nothing on the GC heap after warm-up. Not here:
// the bias rule (BiasUpdate), the optimizer (AdamW). Tested by ObjectiveTests, ReferenceGradientTests and DeepSeekTrainingStepAllocationTests.
using SharpSeek.Model;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Training;

/// <summary>The training objective.</summary>
public static class Objective
{
    /// <summary>
    /// Runs the forward of <paramref name="model"/> on <paramref name="inputs"/> (I32 (B, T)) into
    /// <paramref name="forward"/> (a new result when null; the training loop passes the one it keeps) and returns
    /// <see cref="Loss"/> of it.
    /// </summary>
    public static (Var Loss, LossParts Parts) Compute(Tape tape, Transformer model, Tensor inputs, Tensor targets, ObjectiveOptions options, ForwardResult? forward = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (inputs.DType != DType.I32 || inputs.Rank != 2)
        {
            throw new ArgumentException($"inputs must be I32 (B, T); got {inputs.DType} {inputs.Shape}", nameof(inputs));
        }
        return Loss(tape, model.Forward(tape, inputs, forward ?? new ForwardResult()), targets, options);
    }

    /// <summary>
    /// The scalar loss (shape (1,)) and its parts of a forward already run on <paramref name="tape"/>.
    /// <paramref name="targets"/> (I32 (B, T)) holds the next token of every position or
    /// <see cref="ObjectiveOptions.IgnoreIndex"/>. Main: mean CE over the non-ignored positions. MTP depth k: row i
    /// predicts targets[i + k], mean over the rows whose target exists. Balance losses are summed over the MoE layers,
    /// from the routing the forward returned.
    /// </summary>
    public static (Var Loss, LossParts Parts) Loss(Tape tape, ForwardResult forward, Tensor targets, ObjectiveOptions options)
    {
        ArgumentNullException.ThrowIfNull(forward);
        if (!ReferenceEquals(forward.Tape, tape)) { throw new ArgumentException("the forward ran on another tape; its values are not on this one", nameof(forward)); }
        Check(forward, targets, options);
        int b = forward.Batch, t = forward.Tokens;
        var main = CrossEntropyOp.Apply(tape, forward.Logits, targets, options.IgnoreIndex);
        var total = main;

        var mtpMean = 0.0;
        var depths = options.UseMtp ? forward.MtpLogits.Length : 0;
        if (depths > 0)
        {
            Var? sum = null;
            for (var k = 1; k <= depths; k++)
            {
                var ce = CrossEntropyOp.Apply(tape, forward.MtpLogits[k - 1], Shifted(tape, targets, b, t, k), options.IgnoreIndex);
                mtpMean += Scalar(tape, ce) / depths;
                sum = sum is { } s ? AddOp.Apply(tape, s, ce) : ce;
            }
            if (options.MtpWeight != 0) { total = AddOp.Apply(tape, total, ScaleOp.Apply(tape, sum!.Value, options.MtpWeight / depths)); }
        }

        var balance = 0.0;
        var alpha = options.Balance switch
        {
            BalanceMode.AuxLossFree => options.SequenceBalanceAlpha,
            BalanceMode.V2AuxLoss => options.V2AuxAlpha,
            _ => 0.0,
        };
        var config = forward.Config;
        if (alpha != 0)
        {
            foreach (var routing in forward.Routing) // a span: a step allocates nothing
            {
                if (routing.Layer >= config.NumHiddenLayers + depths) { continue; } // the MTP blocks count only when their loss does
                var chosen = routing.Experts.AsSpan<int>();
                var loss = options.Balance == BalanceMode.AuxLossFree
                    ? BalanceLoss.SequenceWise(tape, routing.Scores, chosen, b, alpha)
                    : BalanceLoss.ExpertLevel(tape, routing.Scores, chosen, alpha, normalize: config.ScoringFunc != "softmax");
                balance += Scalar(tape, loss);
                total = AddOp.Apply(tape, total, loss);
            }
        }
        var main0 = Scalar(tape, main);
        return (total, new LossParts(Scalar(tape, total), main0, mtpMean, balance));
    }

    private static double Scalar(Tape tape, Var v)
    {
        var x = tape.Value(v);
        return x.DType == DType.F64 ? x.AsSpan<double>()[0] : x.AsSpan<float>()[0];
    }

    // targets[:, k:], (B, T − k): MTP depth k's row i predicts targets[i + k].
    private static Tensor Shifted(Tape tape, Tensor targets, int b, int t, int k)
    {
        var rows = t - k;
        var shifted = tape.Arena.Allocate(DType.I32, new Shape(b, rows));
        var src = targets.AsSpan<int>();
        var dst = shifted.AsSpan<int>();
        for (var s = 0; s < b; s++) { src.Slice((s * t) + k, rows).CopyTo(dst.Slice(s * rows, rows)); }
        return shifted;
    }

    private static void Check(ForwardResult forward, Tensor targets, ObjectiveOptions options)
    {
        if (targets.DType != DType.I32 || targets.Rank != 2 || targets.Size(0) != forward.Batch || targets.Size(1) != forward.Tokens)
        {
            throw new ArgumentException($"targets must be I32 of the inputs' shape ({forward.Batch}, {forward.Tokens}); got {targets.DType} {targets.Shape}", nameof(targets));
        }
        var vocab = forward.Config.VocabSize;
        var ids = targets.AsSpan<int>();
        for (var i = 0; i < ids.Length; i++)
        {
            if (ids[i] != options.IgnoreIndex && (uint)ids[i] >= (uint)vocab)
            {
                throw new ArgumentOutOfRangeException(nameof(targets), $"target {i} is {ids[i]}; expected a token in [0, {vocab}) or the ignore index {options.IgnoreIndex}");
            }
        }
        if (!(options.MtpWeight >= 0) || !(options.SequenceBalanceAlpha >= 0) || !(options.V2AuxAlpha >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"loss weights must be ≥ 0; got λ {options.MtpWeight}, α {options.SequenceBalanceAlpha}, V2 α {options.V2AuxAlpha}");
        }
    }
}
