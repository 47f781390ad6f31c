// PasskeyEvalTests.cs: the passkey grid on a tiny random model: every length × depth cell, lengths past the context
// reported as out of reach rather than run, accuracies in [0, 1], the loss by position in buckets between the lengths
// (near ln V for random weights), the same report for the same seed, a too-short length named, each trial's prompt
// holding its own key, and the answer read as the first number.
using SharpSeek.Model.Tokenizer;
using SharpSeek.Rl.Eval;

namespace SharpSeek.Rl.Tests;

public sealed class PasskeyEvalTests
{
    [Fact]
    public void Grid_CoversEveryCell_AndSkipsLengthsPastTheContext()
    {
        var dir = TinyModel.Write(Path.Combine(Path.GetTempPath(), $"sharpseek-passkey-{Guid.NewGuid():N}"));
        try
        {
            var options = new PasskeyOptions { Lengths = [256, 200, 512], Depths = 3, Trials = 2, LossWindows = 2, Seed = 4 };
            var report = PasskeyEval.Run(dir, options);
            Assert.Equal(256, report.Context);
            Assert.Equal(9, report.Cells.Count);
            Assert.Equal([200, 200, 200, 256, 256, 256, 512, 512, 512], report.Cells.Select(c => c.Length));
            Assert.Equal([0.0, 0.5, 1.0], report.Cells.Take(3).Select(c => c.Depth));
            Assert.All(report.Cells.Where(c => c.Length <= 256), c => Assert.True(c.Trials == 2 && c.Accuracy is >= 0 and <= 1 && c.Correct <= 2));
            Assert.All(report.Cells.Where(c => c.Length == 512), c => Assert.True(c.Accuracy is null && c.Trials == 0));
            Assert.Equal([(0, 200), (200, 256)], report.LossByPosition.Select(b => (b.Start, b.End)));
            var lnV = Math.Log(ByteLevelBpe.Load(dir).VocabSize);
            Assert.All(report.LossByPosition, b => Assert.InRange(b.Loss, lnV - 1.5, lnV + 1.5));
            var again = PasskeyEval.Run(dir, options);
            Assert.Equal(report.Cells, again.Cells);
            Assert.Equal(report.LossByPosition, again.LossByPosition);
            Assert.Contains("answer tokens", Assert.Throws<ArgumentException>(() => PasskeyEval.Run(dir, options with { Lengths = [4] })).Message, StringComparison.Ordinal);
            var tooShort = Assert.Throws<ArgumentException>(() => PasskeyEval.Run(dir, options with { Lengths = [20] })).Message;
            Assert.Contains("--lengths 20 is too short", tooShort, StringComparison.Ordinal);
            Assert.Contains("needs at least", tooShort, StringComparison.Ordinal);

            // A trial's prompt hides its own key at its depth, fits its budget, and its key depends on nothing else.
            var tokenizer = ByteLevelBpe.Load(dir);
            var (key, prompt) = PasskeyEval.Trial(tokenizer, 4, 256, 1, 0.5, 0);
            var text = tokenizer.Decode(prompt);
            Assert.Contains(Training.Data.Passkey.Needle(key), text, StringComparison.Ordinal);
            Assert.EndsWith(Training.Data.Passkey.Question, text, StringComparison.Ordinal);
            Assert.InRange(prompt.Length, 150, 256 - PasskeyOptions.AnswerTokens);
            Assert.Equal(key, PasskeyEval.Trial(tokenizer, 4, 256, 1, 0.5, 0).Key);
            Assert.NotEqual(key, PasskeyEval.Trial(tokenizer, 4, 256, 1, 0.5, 1).Key);
            Assert.Equal(PasskeyEval.FirstNumber($" {key}."), key.ToString(System.Globalization.CultureInfo.InvariantCulture)); // what a right answer scores as
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    [Theory]
    [InlineData(" 48213.", "48213")]
    [InlineData(" is 48213 and", "48213")]
    [InlineData("48 213", "48")]
    [InlineData(" the key", null)]
    public void FirstNumber_IsTheAnswer(string completion, string? expected) => Assert.Equal(expected, PasskeyEval.FirstNumber(completion));
}
