// Node.cs: one recorded op: which op, its inputs and output, the tensors it saved for backward, and scalar arguments.
// A plain struct so that a tape of them allocates nothing once its array has grown. Tested by TapeTests.
namespace SharpSeek.Tensors.Autograd;

/// <summary>The ops the tape knows how to differentiate.</summary>
public enum OpKind : byte
{
    None,
    Matmul,
    Add,
    Mul,
    Scale,
    Sum,
    Reshape,
    Silu,
    SwiGlu,
    Softmax,
    LogSoftmax,
    CrossEntropy,
    RmsNorm,
    Rope,
    Embedding,
    Attention,
    GatherRows,
    ScatterAddRows,
    Narrow,
    Concat,
    Expand,
    Sigmoid,
    TakeAlong,
    NormalizeRows,
    BiasAdd,
    TokenLogProb,
    Fp8Linear,
    Bf16Linear,
    Fp8SwiGlu,
    Recompute,
    Fp8Dispatch,
}

/// <summary>A recorded op. Fields are interpreted by the op's Backward.</summary>
public struct Node
{
    public OpKind Op;
    public Var Out;
    public Var A;
    public Var B;
    public Var C;
    public Var D;
    public Tensor Saved0;
    public Tensor Saved1;
    public Tensor Saved2;
    public Tensor Saved3;
    public int I0;
    public int I1;
    public int I2;
    public long L0;
    public double F0;
    public bool Flag0;
    public bool Flag1;

    /// <summary>An op's managed argument (the region a Recompute node runs again).</summary>
    public object? Payload;

    public Node(OpKind op, Var output, Var a)
    {
        Op = op;
        Out = output;
        A = a;
        B = new Var(-1);
        C = new Var(-1);
        D = new Var(-1);
    }

    public Node(OpKind op, Var output, Var a, Var b) : this(op, output, a) => B = b;

    public Node(OpKind op, Var output, Var a, Var b, Var c) : this(op, output, a, b) => C = c;

    public Node(OpKind op, Var output, Var a, Var b, Var c, Var d) : this(op, output, a, b, c) => D = d;
}
