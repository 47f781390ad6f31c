// ChatTurn.cs: one message of a conversation as the chat template sees it. Not here: rendering (ChatTemplate.cs).
// Tested by ChatTemplateTests.
namespace SharpSeek.Inference.Text;

/// <summary>A chat message. <paramref name="Role"/> is system, user or assistant; <paramref name="Reasoning"/> is an
/// assistant's separate reasoning (templates see it as <c>reasoning_content</c>; the built-in one drops it).</summary>
public sealed record ChatTurn(string Role, string Content, string? Reasoning = null);
