// StepTypes.cs: what a ModelRunner step takes (a chunk of new tokens per sequence, or for the MTP block tokens plus the
// main model's hidden states) and the options that shape it. Tested by ModelRunnerTests.
namespace SharpSeek.Inference.Runtime;

/// <summary>New tokens appended to <paramref name="Slot"/> at its current length (prefill: many, decode: 1, verify: 2).</summary>
public readonly record struct SequenceChunk(int Slot, ReadOnlyMemory<int> Tokens);

/// <summary>MTP input for <paramref name="Slot"/> at its draft length p, p + 1, …: row i pairs token t_{p+i+1} with the
/// main model's final normed hidden state h_{p+i}, (rows, D) row-major in <paramref name="Hidden"/>.</summary>
public readonly record struct DraftChunk(int Slot, ReadOnlyMemory<int> Tokens, ReadOnlyMemory<float> Hidden);

/// <summary>Which rows get logits: every new row, or only each chunk's last (saves the head GEMM on prefill).</summary>
public enum LogitRows
{
    All,
    Last,
}
