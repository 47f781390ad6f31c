// Objective.cs: the training loss on the tape (DeepSeek-V3 technical report §2.2 for MTP, §2.1.2 for balancing): next-token cross-entropy, plus (λ/D)·Σ_k of the MTP
// depths' cross-entropies, plus the balance loss of every MoE layer the forward ran (sequence-wise for AuxLossFree,
// expert-level for V2AuxLoss). After warm-up it allocates nothing on the GC heap. Not here: the bias rule (BiasUpdate),
// the optimizer (AdamW). Tested by ObjectiveTests, ReferenceGradientTests and DeepSeekTrainingStepAllocationTests.
using SharpSeek.Model;
using SharpSeek.Model.Layers;
using SharpSeek.Tensors;
using SharpSeek.Tensors.Autograd;
using SharpSeek.Tensors.Ops;

namespace SharpSeek.Training;

/// <summary>The training objective.</summary>
public static class Objective
{
    /// <summary>
    /// Runs the forward of <paramref name="model"/> on <paramref name="inputs"/> (I32 (B, T)) and returns the scalar loss
    /// (shape (1,)) and its parts. <paramref name="targets"/> (I32 (B, T)) holds the next token of every position or
    /// <see cref="ObjectiveOptions.IgnoreIndex"/>. Main: mean CE over the non-ignored positions. MTP depth k: row i
    /// predicts targets[i + k], mean over the rows whose target exists. Balance losses are summed over the MoE layers.
    /// </summary>
    public static (Var Loss, LossParts Parts) Compute(Tape tape, Transformer model, Tensor inputs, Tensor targets, ObjectiveOptions options)
    {
        Check(model, inputs, targets, options);
        int b = (int)inputs.Size(0), t = (int)inputs.Size(1);
        var modules = model.Weights.Mtp.Count;
        Span<Var> mtp = modules <= 16 ? stackalloc Var[modules] : new Var[modules];
        var ran = model.ForwardAll(tape, inputs, 0, out var logits, mtp);                // (B, T, V); depth k (B, T − k, V)
        var main = CrossEntropyOp.Apply(tape, logits, targets, options.IgnoreIndex);
        var total = main;

        var mtpMean = 0.0;
        var depths = options.UseMtp ? ran : 0;
        if (depths > 0)
        {
            Var? sum = null;
            for (var k = 1; k <= depths; k++)
            {
                var ce = CrossEntropyOp.Apply(tape, mtp[k - 1], Shifted(tape, targets, b, t, k), options.IgnoreIndex);
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
        if (alpha != 0)
        {
            for (var i = 0; i < BlockCount(model, depths); i++) // indexed, not Gates(): a step allocates nothing
            {
                if (BlockAt(model, i).Moe?.Gate is not { LastScores: { } scores } gate) { continue; }
                var loss = options.Balance == BalanceMode.AuxLossFree
                    ? BalanceLoss.SequenceWise(tape, scores, gate.LastIndices, b, alpha)
                    : BalanceLoss.ExpertLevel(tape, scores, gate.LastIndices, alpha, normalize: model.Config.ScoringFunc != "softmax");
                balance += Scalar(tape, loss);
                total = AddOp.Apply(tape, total, loss);
            }
        }
        var main0 = Scalar(tape, main);
        return (total, new LossParts(Scalar(tape, total), main0, mtpMean, balance));
    }

    /// <summary>The gates of the MoE layers the last forward ran: the trunk's, then those of MTP depths 1 .. depths.</summary>
    internal static IEnumerable<Gate> Gates(Transformer model, int depths)
    {
        for (var i = 0; i < BlockCount(model, depths); i++)
        {
            if (BlockAt(model, i).Moe is { } moe) { yield return moe.Gate; }
        }
    }

    /// <summary>The blocks of the trunk, then those of MTP depths 1 .. depths, by index (no enumerator).</summary>
    internal static int BlockCount(Transformer model, int depths) => model.Weights.Layers.Count + Math.Min(depths, model.Weights.Mtp.Count);

    internal static Block BlockAt(Transformer model, int i)
    {
        var trunk = model.Weights.Layers;
        return i < trunk.Count ? trunk[i] : model.Weights.Mtp[i - trunk.Count].Block;
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

    private static void Check(Transformer model, Tensor inputs, Tensor targets, ObjectiveOptions options)
    {
        if (inputs.DType != DType.I32 || inputs.Rank != 2)
        {
            throw new ArgumentException($"inputs must be I32 (B, T); got {inputs.DType} {inputs.Shape}", nameof(inputs));
        }
        if (targets.DType != DType.I32 || targets.Shape != inputs.Shape)
        {
            throw new ArgumentException($"targets must be I32 of the inputs' shape {inputs.Shape}; got {targets.DType} {targets.Shape}", nameof(targets));
        }
        var vocab = model.Config.VocabSize;
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
