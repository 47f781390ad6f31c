// SftTests.cs: supervised fine-tuning. Packing puts whole examples in windows with the loss mask on the completion and
// its EOS only (read back through the shard and the batch sampler as training sees it), skips examples longer than a
// window and refuses empty completions; examples come from JSONL (prompt/completion and chat lines, errors naming the
// line) or from the built-in tasks' worked solutions, which continue the R1-Zero prompt exactly as the corpus does; a run
// on a tiny model lowers the held-out loss, a resumed run ends with the uninterrupted run's weights, and a directory
// that already holds a run is refused before anything is written.
using SharpSeek.Inference.Text;
using SharpSeek.Model.Layers;
using SharpSeek.Rl.Prompts;
using SharpSeek.Rl.Sft;
using SharpSeek.Training.Data;
using SharpSeek.Training.Runs;
using SharpSeek.Training.Tasks;

namespace SharpSeek.Rl.Tests;

public sealed class SftTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "sharpseek-sft-" + Guid.NewGuid().ToString("N")[..8]);

    public SftTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Pack_WholeExamples_MaskOnCompletionAndEos()
    {
        const int Eos = 1, T = 8;
        (int[], int[])[] examples = [([10, 11], [20, 21]), ([12], [22, 23, 24]), ([13, 14, 15, 16, 17, 18], [25, 26]), ([19], [27])];
        var pack = SftPacking.Pack(examples, T, Eos);
        // Window 0: 10 11 20 21 E | 12 22 23 (does not fit: 5 + 5 > 8) → pad; window 1: 12 22 23 24 E + 19 27 E (8);
        // the 9-token example is skipped; one pad token closes the last window.
        int[] tokens = [10, 11, 20, 21, Eos, Eos, Eos, Eos, 12, 22, 23, 24, Eos, 19, 27, Eos, Eos];
        byte[] mask = [0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 1, 1, 0];
        Assert.Equal(tokens, pack.Tokens);
        Assert.Equal(mask, pack.Mask);
        Assert.Equal(3, pack.Examples);
        Assert.Equal(1, pack.Skipped);
        Assert.Equal(3 + 4 + 2, pack.TargetTokens);
        Assert.Equal(2, pack.Windows(T));

        // As training reads it: targets are the next tokens where the mask is 1, ignored elsewhere.
        var path = Path.Combine(_root, "sft.tokens");
        SftPacking.Write(path, pack, Eos);
        using var shard = TokenShard.Open(path);
        Assert.True(shard.HasLossMask);
        Assert.Equal(3, shard.DocumentCount);
        var sampler = new BatchSampler(shard, batch: 2, seqLen: T, seed: 0);
        int[] inputs = new int[2 * T], targets = new int[2 * T];
        sampler.Next(inputs, targets);
        for (var b = 0; b < 2; b++)
        {
            var row = inputs.AsSpan(b * T, T);
            var start = row.SequenceEqual(tokens.AsSpan(0, T)) ? 0 : T; // the sampler shuffles the two windows
            Assert.True(row.SequenceEqual(tokens.AsSpan(start, T)));
            for (var t = 0; t < T; t++)
            {
                Assert.Equal(mask[start + t + 1] == 1 ? tokens[start + t + 1] : TokenShard.IgnoredTarget, targets[(b * T) + t]);
            }
        }
        Assert.Equal(9, targets.Count(id => id != TokenShard.IgnoredTarget));
    }

    [Fact]
    public void Pack_NoPrompt_FirstTokenIsNoTarget_EmptyCompletionRefused()
    {
        var pack = SftPacking.Pack([([], [5, 6])], 4, 1);
        Assert.Equal(new byte[] { 0, 1, 1, 0, 0 }, pack.Mask);
        Assert.Contains("example 1 has an empty completion", Assert.Throws<ArgumentException>(() => SftPacking.Pack([([3], [4]), ([3], [])], 4, 1)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MaskedShard_BadFileIsRefused()
    {
        var path = Path.Combine(_root, "bad.tokens");
        Assert.Throws<ArgumentException>(() => TokenShard.WriteMasked(path, [1, 2], [1], 1, 0));
        Assert.Throws<ArgumentException>(() => TokenShard.WriteMasked(path, [1, 2], [1, 2], 1, 0));
        TokenShard.WriteMasked(path, [1, 2, 3], [0, 1, 1], 1, 0);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^1]);
        Assert.Contains("and their loss mask", Assert.Throws<InvalidDataException>(() => TokenShard.Open(path)).Message, StringComparison.Ordinal);
        bytes[28] = 2;
        File.WriteAllBytes(path, bytes);
        Assert.Contains("flags 2", Assert.Throws<InvalidDataException>(() => TokenShard.Open(path)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Worked_ContinuesTheR1ZeroPromptAsTheCorpusDoes()
    {
        var examples = SftData.Load("add:1-3", new R1ZeroPrompt(), 300, seed: 2);
        Assert.Equal(300, examples.Count);
        var corpus = ReasoningCorpus.Generate(5, 3000, TaskMix.Parse("add:1-3")).Where(d => d.StartsWith(R1ZeroTemplate.Preamble, StringComparison.Ordinal)).ToHashSet();
        Assert.Contains(examples, e => corpus.Contains(e.Prompt + e.Completion)); // small sums recur: the same text
        foreach (var e in examples)
        {
            Assert.EndsWith("Assistant:", e.Prompt, StringComparison.Ordinal);
            Assert.StartsWith(" <think>\n", e.Completion, StringComparison.Ordinal);
            Assert.Matches(@"\n</think>\n<answer>\d+</answer>$", e.Completion);
        }
        // A template that opens the think block: the completion starts inside it.
        var chat = SftData.Load("add:1", new ChatPrompt(ChatTemplate.BuiltIn), 3, seed: 2);
        Assert.All(chat, e => Assert.EndsWith("<think>\n", e.Prompt, StringComparison.Ordinal));
        Assert.All(chat, e => Assert.DoesNotContain("<think>", e.Completion, StringComparison.Ordinal));
    }

    [Fact]
    public void Read_PromptAndChatLines_ErrorsNameTheLine()
    {
        var path = Path.Combine(_root, "data.jsonl");
        File.WriteAllLines(path,
        [
            """{"prompt": "What is 2 + 3?", "completion": "<think>\n2 + 3 = 5\n</think>\n<answer>5</answer>"}""",
            "",
            """{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "<think>\ngreet\n</think>\nHello!"}]}""",
        ]);
        var plain = SftData.Read(path, new PlainPrompt());
        Assert.Equal(new SftExample("User: What is 2 + 3?\nAssistant:", " <think>\n2 + 3 = 5\n</think>\n<answer>5</answer>"), plain[0]);
        Assert.Equal(new SftExample("System: Be brief.\nUser: Hi\nAssistant:", " <think>\ngreet\n</think>\nHello!"), plain[1]);
        var chat = SftData.Read(path, new ChatPrompt(ChatTemplate.BuiltIn));
        Assert.EndsWith("<｜Assistant｜><think>\n", chat[1].Prompt, StringComparison.Ordinal);
        Assert.Contains("Be brief.", chat[1].Prompt, StringComparison.Ordinal);
        Assert.Equal("greet\n</think>\nHello!", chat[1].Completion);

        foreach (var (line, expected) in new[]
        {
            ("""{"prompt": "x"}""", "data.jsonl:2: a \"prompt\" line needs a non-empty string \"completion\""),
            ("""{"messages": [{"role": "user", "content": "Hi"}]}""", "data.jsonl:2: the conversation must end with an assistant message"),
            ("""{"messages": [{"role": "assistant", "content": "Hi"}]}""", "data.jsonl:2: the assistant's last turn must answer a user turn"),
            ("""{"prompt": "x", "messages": []}""", "data.jsonl:2: both"),
            ("{oops", "data.jsonl:2: not valid JSON"),
        })
        {
            File.WriteAllLines(path, ["""{"prompt": "a", "completion": "b"}""", line]);
            Assert.Contains(expected, Assert.Throws<InvalidDataException>(() => SftData.Read(path, new PlainPrompt())).Message, StringComparison.Ordinal);
        }
    }

    private string Model() => TinyModel.Write(Path.Combine(_root, "base"));

    private SftOptions Options(string name, long steps) => new()
    {
        Model = Model(),
        Data = "add:1-2",
        OutDir = Path.Combine(_root, name),
        Template = "plain",
        Examples = 200,
        Steps = steps,
        SeqLen = 128,
        MicroBatch = 4,
        BatchTokens = 512,
        Lr = 1e-2,
        WarmupSteps = 1,
        EvalEvery = 1,
        CheckpointEvery = 2,
        HeldOutOneIn = 5,
    };

    [Fact]
    public void Run_LowersTheHeldOutLoss_AndResumesExactly()
    {
        var logs = new List<string>();
        var options = SftRun.Prepare(Options("full", 10), logs.Add);
        Assert.Contains(logs, l => l.StartsWith("sft data: ", StringComparison.Ordinal) && l.Contains(" held out", StringComparison.Ordinal));
        var records = new List<MetricsRecord>();
        var full = new TrainingRun(options) { OnStep = records.Add }.Run();
        Assert.Equal(10, full.Step);
        Assert.True(records[^1].EvalLoss < records[0].EvalLoss * 0.85, $"eval loss {records[0].EvalLoss} -> {records[^1].EvalLoss}");

        var first = SftRun.Prepare(Options("resumed", 10), _ => { });
        using (var cancel = new CancellationTokenSource())
        {
            new TrainingRun(first) { OnStep = r => { if (r.Step == 5) { cancel.Cancel(); } } }.Run(cancel.Token);
        }
        var resumed = new TrainingRun(TrainingRun.ResumeOptions(first.OutDir)).Run();
        Assert.Equal(10, resumed.Step);
        Assert.Equal(File.ReadAllBytes(Path.Combine(options.OutDir, "model.safetensors")), File.ReadAllBytes(Path.Combine(first.OutDir, "model.safetensors")));

        // The precision reaches the run: a BF16 fine-tune lands near the F32 one, not on it.
        var bf16 = new TrainingRun(SftRun.Prepare(Options("bf16", 10) with { Precision = LinearPrecision.Bf16 }, _ => { })).Run();
        Assert.Equal(LinearPrecision.Bf16, TrainingRun.ResumeOptions(Path.Combine(Path.GetDirectoryName(options.OutDir)!, "bf16")).Precision);
        Assert.InRange(Math.Abs((bf16.LastLoss / full.LastLoss) - 1), 1e-9, 1e-2);

        Assert.Contains("already holds a run", Assert.Throws<InvalidOperationException>(() => SftRun.Prepare(Options("full", 6))).Message, StringComparison.Ordinal);
        Assert.Contains("no training example fits --seq-len 8", Assert.Throws<ArgumentException>(() => SftRun.Prepare(Options("short", 6) with { SeqLen = 8 })).Message, StringComparison.Ordinal);
    }
}
