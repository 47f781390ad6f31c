// StepResult.cs: the output of one ModelRunner step, views into the runner's step arena that stay valid until its next
// step: logits per requested row and the final normed hidden state of every new row. Tested by ModelRunnerTests.
using SharpSeek.Tensors;

namespace SharpSeek.Inference.Runtime;

/// <summary>Logits and hidden states of the last step, addressed by chunk and row within the chunk.</summary>
public sealed class StepResult
{
    private int[] _rowStart = [];
    private int[] _rowCount = [];
    private Tensor _logits;
    private Tensor _hidden;

    public int Chunks { get; private set; }

    public LogitRows Rows { get; private set; }

    /// <summary>New rows of chunk <paramref name="chunk"/>.</summary>
    public int RowCount(int chunk) => _rowCount[CheckChunk(chunk)];

    /// <summary>Logits (V) of row <paramref name="row"/> of a chunk; with <see cref="LogitRows.Last"/> only its last row has them.</summary>
    public ReadOnlySpan<float> Logits(int chunk, int row)
    {
        CheckRow(chunk, row);
        if (Rows == LogitRows.Last && row != _rowCount[chunk] - 1)
        {
            throw new InvalidOperationException($"the step computed logits only for each chunk's last row ({_rowCount[chunk] - 1}); asked for row {row}");
        }
        return _logits.Row<float>(Rows == LogitRows.All ? _rowStart[chunk] + row : chunk);
    }

    /// <summary>Logits (V) of a chunk's last row.</summary>
    public ReadOnlySpan<float> LastLogits(int chunk) => Logits(chunk, RowCount(chunk) - 1);

    /// <summary>The final normed hidden state (D) of a row: what the MTP block consumes.</summary>
    public ReadOnlySpan<float> Hidden(int chunk, int row)
    {
        CheckRow(chunk, row);
        return _hidden.Row<float>(_rowStart[chunk] + row);
    }

    /// <summary>The hidden states of all a chunk's rows, (rows, D).</summary>
    public ReadOnlySpan<float> HiddenRows(int chunk) =>
        _hidden.AsSpan<float>().Slice(_rowStart[CheckChunk(chunk)] * (int)_hidden.Size(1), _rowCount[chunk] * (int)_hidden.Size(1));

    internal void Set(ReadOnlySpan<int> counts, LogitRows rows, Tensor logits, Tensor hidden)
    {
        if (_rowStart.Length < counts.Length)
        {
            _rowStart = new int[counts.Length];
            _rowCount = new int[counts.Length];
        }
        for (int i = 0, start = 0; i < counts.Length; start += counts[i], i++)
        {
            _rowStart[i] = start;
            _rowCount[i] = counts[i];
        }
        (Chunks, Rows, _logits, _hidden) = (counts.Length, rows, logits, hidden);
    }

    private int CheckChunk(int chunk) => (uint)chunk < (uint)Chunks ? chunk
        : throw new ArgumentOutOfRangeException(nameof(chunk), $"the step had {Chunks} chunks; asked for chunk {chunk}");

    private void CheckRow(int chunk, int row)
    {
        if ((uint)row >= (uint)_rowCount[CheckChunk(chunk)])
        {
            throw new ArgumentOutOfRangeException(nameof(row), $"chunk {chunk} has {_rowCount[chunk]} rows; asked for row {row}");
        }
    }
}
