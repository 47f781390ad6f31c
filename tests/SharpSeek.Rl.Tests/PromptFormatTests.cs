// PromptFormatTests.cs: R1-Zero's template is DeepSeek-R1's Table 1 verbatim with the question in place (no doubled
// period), the plain form is exactly what the built-in corpus pretrains on, both can open the think block, and a
// conversation renders its turns (plain) or its last user turn (R1-Zero).
using SharpSeek.Inference.Text;
using SharpSeek.Rl.Prompts;
using SharpSeek.Rl.Tasks;
using SharpSeek.Training.Data;
using SharpSeek.Training.Tasks;

namespace SharpSeek.Rl.Tests;

public sealed class PromptFormatTests
{
    private const string Table1 = "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. User: prompt. Assistant:";

    private static Problem Ask(string question) => new("q", "test", 0, question, "5");

    [Fact]
    public void R1Zero_IsTable1WithTheQuestion()
    {
        var rendered = new R1ZeroPrompt().Render(Ask("Reach 10 using 2 and 5"));
        Assert.Equal(Table1.Replace("User: prompt.", "User: Reach 10 using 2 and 5.", StringComparison.Ordinal), rendered.Text);
        Assert.False(rendered.StartsInThink);
        Assert.StartsWith(R1ZeroTemplate.Preamble, Table1, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("What is 2 + 3?", "User: What is 2 + 3? Assistant:")]
    [InlineData("Compute 2 + 3.", "User: Compute 2 + 3. Assistant:")]
    [InlineData("  Add 2 and 3!\n", "User: Add 2 and 3! Assistant:")]
    public void R1Zero_QuestionThatEndsASentence_GetsNoSecondPeriod(string question, string tail) =>
        Assert.EndsWith(tail, new R1ZeroPrompt().Render(Ask(question)).Text, StringComparison.Ordinal);

    [Fact]
    public void OpenThink_AppendsTheTagAndSaysSo()
    {
        var r1 = new R1ZeroPrompt(openThink: true).Render(Ask("What is 2 + 3?"));
        Assert.EndsWith("User: What is 2 + 3? Assistant: <think>\n", r1.Text, StringComparison.Ordinal);
        Assert.True(r1.StartsInThink);
        var plain = new PlainPrompt(openThink: true).Render(Ask("What is 2 + 3?"));
        Assert.Equal(new RenderedPrompt("User: What is 2 + 3?\nAssistant: <think>\n", true), plain);
    }

    [Fact]
    public void Plain_IsWhatTheCorpusPretrainsOn()
    {
        Assert.Equal(new RenderedPrompt("User: What is 2 + 3?\nAssistant:", false), new PlainPrompt().Render(Ask("What is 2 + 3?")));
        var framed = ReasoningCorpus.Generate(1, 200).Where(d => d.StartsWith("User: ", StringComparison.Ordinal) && d.Contains("\nAssistant: <think>\n", StringComparison.Ordinal)).ToList();
        Assert.True(framed.Count > 20);
        foreach (var doc in framed)
        {
            var question = doc[6..doc.IndexOf("\nAssistant:", StringComparison.Ordinal)];
            Assert.StartsWith(new PlainPrompt().Render(Ask(question)).Text + " <think>\n", doc, StringComparison.Ordinal);
            Assert.StartsWith(new PlainPrompt(openThink: true).Render(Ask(question)).Text, doc, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Create_ByName_ChatUsesTheModelsTemplate()
    {
        Assert.IsType<R1ZeroPrompt>(PromptFormats.Create("r1zero", ""));
        Assert.IsType<PlainPrompt>(PromptFormats.Create("plain", ""));
        // No tokenizer_config.json: DeepSeek's built-in template, whose generation prompt opens the think block.
        var empty = Directory.CreateTempSubdirectory("sharpseek-prompt-").FullName;
        var chat = PromptFormats.Create("chat", empty).Render(Ask("What is 2 + 3?"));
        Directory.Delete(empty);
        Assert.Equal(new RenderedPrompt(ChatTemplate.BuiltIn.Render([new ChatTurn("user", "What is 2 + 3?")]), true, Templated: true), chat);
        Assert.EndsWith("<｜Assistant｜><think>\n", chat.Text, StringComparison.Ordinal);
        Assert.Contains("one of r1zero, plain, chat; got 'jinja'", Assert.Throws<ArgumentException>(() => PromptFormats.Create("jinja", "")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_TemplatedAsItIs_OtherwiseAsADocumentStart()
    {
        var tokenizer = SharpSeek.Model.Tokenizer.BpeTrainer.Train(ReasoningCorpus.Generate(1, 100), 300, SharpSeek.Model.Tokenizer.DeepSeekTokens.All, SharpSeek.Model.Tokenizer.BpeTrainerOptions.DeepSeek);
        const string Text = "User: What is 2 + 3?\nAssistant:";
        Assert.Equal(tokenizer.EncodePrompt(Text), new RenderedPrompt(Text, false).Encode(tokenizer));
        Assert.Equal(tokenizer.Encode(Text), new RenderedPrompt(Text, false, Templated: true).Encode(tokenizer));
        Assert.Equal(tokenizer.EosId, new RenderedPrompt(Text, false).Encode(tokenizer)[0]); // our corpora: EOS before a document
    }

    [Fact]
    public void R1Zero_IsWhatTheCorpusPretrainsOn()
    {
        // A fifth of the corpus is framed in the template, so a base model pretrained on it continues the prompt with
        // the think block: the prompt must be exactly the document's text before " <think>\n".
        var docs = ReasoningCorpus.Generate(1, 400).ToList();
        var framed = docs.Where(d => d.StartsWith(R1ZeroTemplate.Preamble, StringComparison.Ordinal)).ToList();
        Assert.InRange(framed.Count, 50, 110);
        foreach (var doc in framed)
        {
            var start = R1ZeroTemplate.Preamble.Length + " User: ".Length;
            var question = doc[start..doc.IndexOf(" Assistant: <think>\n", StringComparison.Ordinal)];
            Assert.StartsWith(new R1ZeroPrompt().Render(Ask(question)).Text + " <think>\n", doc, StringComparison.Ordinal);
            Assert.StartsWith(new R1ZeroPrompt(openThink: true).Render(Ask(question)).Text, doc, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Conversation_PlainRendersTheTurns_R1ZeroTheLastQuestion()
    {
        var chat = Ask("What is 2+2?") with
        {
            Messages = [new ChatTurn("system", "Be brief."), new ChatTurn("user", "Hi"), new ChatTurn("assistant", "Hello"), new ChatTurn("user", "What is 2+2?")],
        };
        Assert.Equal("System: Be brief.\nUser: Hi\nAssistant: Hello\nUser: What is 2+2?\nAssistant:", new PlainPrompt().Render(chat).Text);
        Assert.EndsWith("User: What is 2+2? Assistant:", new R1ZeroPrompt().Render(chat).Text, StringComparison.Ordinal);
    }
}
