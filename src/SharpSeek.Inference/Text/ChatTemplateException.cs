// ChatTemplateException.cs: the one error type of the chat-template interpreter: a construct it does not support (at
// Parse, with line and column), a render-time type error, or the template's own raise_exception(...).
// Not here: the interpreter (JinjaParser.cs, JinjaNodes.cs). Tested by ChatTemplateTests.
namespace SharpSeek.Inference.Text;

/// <summary>A chat template could not be parsed or rendered; the message names the construct, its position and what
/// was expected, or carries the template's own raise_exception text.</summary>
public sealed class ChatTemplateException(string message) : InvalidOperationException(message);
