// OpRegistry.cs: the one switch from a recorded OpKind to that op's hand-written backward (ggml's backward case per op).
// Tested by OpGradientTests.
using SharpSeek.Tensors.Autograd;

namespace SharpSeek.Tensors.Ops;

internal static class OpRegistry
{
    public static void Backward(Tape tape, in Node node)
    {
        switch (node.Op)
        {
            case OpKind.Matmul: MatmulOp.Backward(tape, in node); break;
            case OpKind.Add: AddOp.Backward(tape, in node); break;
            case OpKind.Mul: MulOp.Backward(tape, in node); break;
            case OpKind.Scale: ScaleOp.Backward(tape, in node); break;
            case OpKind.Sum: SumOp.Backward(tape, in node); break;
            case OpKind.Reshape: ReshapeOp.Backward(tape, in node); break;
            case OpKind.Silu: SiluOp.Backward(tape, in node); break;
            case OpKind.SwiGlu: SwiGluOp.Backward(tape, in node); break;
            case OpKind.Softmax or OpKind.LogSoftmax: SoftmaxOp.Backward(tape, in node); break;
            case OpKind.CrossEntropy: CrossEntropyOp.Backward(tape, in node); break;
            case OpKind.TokenLogProb: TokenLogProbOp.Backward(tape, in node); break;
            case OpKind.RmsNorm: RmsNormOp.Backward(tape, in node); break;
            case OpKind.Rope: RopeOp.Backward(tape, in node); break;
            case OpKind.Embedding: EmbeddingOp.Backward(tape, in node); break;
            case OpKind.GatherRows: GatherRowsOp.Backward(tape, in node); break;
            case OpKind.ScatterAddRows: ScatterAddRowsOp.Backward(tape, in node); break;
            case OpKind.Attention: AttentionOp.Backward(tape, in node); break;
            case OpKind.Narrow: NarrowOp.Backward(tape, in node); break;
            case OpKind.Concat: ConcatOp.Backward(tape, in node); break;
            case OpKind.Expand: ExpandOp.Backward(tape, in node); break;
            case OpKind.Sigmoid: SigmoidOp.Backward(tape, in node); break;
            case OpKind.TakeAlong: TakeAlongOp.Backward(tape, in node); break;
            case OpKind.NormalizeRows: NormalizeRowsOp.Backward(tape, in node); break;
            case OpKind.BiasAdd: BiasAddOp.Backward(tape, in node); break;
            case OpKind.Fp8Linear: Fp8LinearOp.Backward(tape, in node); break;
            case OpKind.Fp8SwiGlu: Fp8SwiGluOp.Backward(tape, in node); break;
            case OpKind.Fp8Dispatch: Fp8DispatchOp.Backward(tape, in node); break;
            case OpKind.Recompute: RecomputeOp.Backward(tape, in node); break;
            case OpKind.Bf16Linear: Bf16LinearOp.Backward(tape, in node); break;
            default: throw new InvalidOperationException($"no backward for op {node.Op}");
        }
    }
}
