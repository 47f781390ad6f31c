// ChatTemplateTests.cs: the built-in DeepSeek-R1 template against conversations rendered by hand; the Jinja subset on
// templates written here that use every supported construct (whitespace control, trim_blocks/lstrip_blocks, set and
// namespace, for with loop.*, if/elif/else, operators, tests, string methods, filters, slicing, raise_exception); every
// unsupported construct failing at Parse with its name and position; FromModelDirectory; PromptStartsInReasoning.
using System.Text.Json;
using SharpSeek.Inference.Text;
using SharpSeek.Model.Tokenizer;

namespace SharpSeek.Inference.Tests.Text;

public sealed class ChatTemplateTests
{
    private const string Bos = DeepSeekTokens.Bos;
    private const string Eos = DeepSeekTokens.Eos;
    private const string User = DeepSeekTokens.User;
    private const string Assistant = DeepSeekTokens.Assistant;

    private static string Render(string template, object? messages = null, bool addGenerationPrompt = false) =>
        ChatTemplate.Parse(template, "<s>", "</s>").Render(new Dictionary<string, object?>
        {
            ["messages"] = messages ?? new List<object?>(),
            ["add_generation_prompt"] = addGenerationPrompt,
        });

    private static Dictionary<string, object?> Message(string role, string content) => new() { ["role"] = role, ["content"] = content };

    [Fact]
    public void BuiltIn_RendersMultiTurn_WithSystemPrompts_AndReasoningStripped()
    {
        ChatTurn[] turns =
        [
            new("system", "You are helpful."),
            new("user", "Hi"),
            new("assistant", "<think>\nThe user greets me.\n</think>\n\nHello!"),
            new("system", "Be brief."),
            new("user", "2+2?"),
            new("assistant", "4", Reasoning: "Two plus two is four."),
            new("user", "Thanks"),
        ];
        var expected = $"{Bos}You are helpful.\n\nBe brief.{User}Hi{Assistant}Hello!{Eos}{User}2+2?{Assistant}4{Eos}{User}Thanks{Assistant}<think>\n";
        Assert.Equal(expected, ChatTemplate.BuiltIn.Render(turns));
        Assert.Equal(expected, ChatTemplate.Parse(DeepSeekChatTemplate.Source, Bos, Eos).Render(turns));
        Assert.Equal(expected[..^$"{Assistant}<think>\n".Length], ChatTemplate.BuiltIn.Render(turns, addGenerationPrompt: false));
    }

    [Fact]
    public void BuiltIn_RendersWithoutSystem_AndKeepsTextAfterTheLastThinkEnd()
    {
        ChatTurn[] turns = [new("user", "Q1"), new("assistant", "a</think>b</think>  final"), new("user", "Q2")];
        Assert.Equal($"{Bos}{User}Q1{Assistant}final{Eos}{User}Q2{Assistant}<think>\n", ChatTemplate.BuiltIn.Render(turns));
        Assert.Equal($"{Bos}{Assistant}<think>\n", ChatTemplate.BuiltIn.Render([]));
        var e = Assert.Throws<ChatTemplateException>(() => ChatTemplate.BuiltIn.Render([new("tool", "x")]));
        Assert.Contains("unknown role \"tool\"", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PromptStartsInReasoning_WhenThePromptEndsInsideThink()
    {
        var t = ChatTemplate.BuiltIn;
        Assert.True(t.PromptStartsInReasoning(t.Render([new("user", "hi")])));
        Assert.False(t.PromptStartsInReasoning(t.Render([new("user", "hi")], addGenerationPrompt: false)));
        Assert.False(t.PromptStartsInReasoning($"{User}hi{Assistant}<think>\n</think>\n"));
        Assert.False(t.PromptStartsInReasoning("plain"));
    }

    [Theory]
    // whitespace control strips all whitespace on its side; trim_blocks drops the newline after a block tag;
    // lstrip_blocks drops indentation before a block tag that starts its line.
    [InlineData("{% if true %}\n    yes\n{% endif %}\n  {{- ' x' -}}  \ny", "    yes\n xy")]
    [InlineData("a\n    {% if true %}b{% endif %}", "a\nb")]
    [InlineData("a  {% if true %}b{% endif %}", "a  b")]
    [InlineData("a {#- note -#} b {# kept spaces #} c", "ab  c")]
    [InlineData("{{ 'it\\'s' ~ \"\\\"q\\\"\" ~ '\\n\\t' ~ '\\u00e9' ~ 'x' 'y' }}", "it's\"q\"\n\téxy")]
    [InlineData("{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ 7 % 3 }} {{ -7 // 2 }} {{ 7 / 2 }} {{ 2 - 5 }}", "7 3 1 -4 3.5 -3")]
    [InlineData("{{ 'a' + 'b' }} {{ 1 ~ 'x' ~ none }} {{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ 2 < 3 }} {{ 'b' >= 'c' }}", "ab 1xNone True True True False")]
    [InlineData("{{ not false and (true or x) }} {{ none or 'fallback' }} {{ 0 and 1 }} {{ not x is defined }}", "True fallback 0 True")]
    [InlineData("{{ 'b' in 'abc' }} {{ 'z' not in ['a'] }} {{ 'k' in {'k': 1} }} {{ 2 in [1, 2] }}", "True True True True")]
    [InlineData("{{ x is defined }} {{ none is none }} {{ 1 is not none }} {{ 'a' is string }} {{ [] is mapping }}", "False True True True False")]
    [InlineData("{{ ' a,b , c '.strip().split(',')[1].strip() }}|{{ 'a</think>b</think> c'.split('</think>')[-1] }}|{{ ' a  b '.split() }}", "b| c|['a', 'b']")]
    [InlineData("{{ 'hello'.startswith('he') }} {{ 'hello'.endswith('x') }} {{ 'xxhixx'.strip('x') }} {{ '  l'.lstrip() }}{{ 'r  '.rstrip() }} {{ 'aXa'.replace('X', '-') }} {{ 'Ab'.lower() ~ 'Ab'.upper() }}", "True False hi lr a-a abAB")]
    [InlineData("{{ ' x '|trim }} {{ [1, 2, 3]|length }} {{ 'abc'|length }} {{ {'a': 1}|length }} {{ [1, 2]|first }}{{ [1, 2]|last }} {{ ['a', 'b']|join('-') }} {{ y|default('d') }} {{ 3|string ~ 'x' }}", "x 3 3 1 12 a-b d 3x")]
    [InlineData("{{ {'a': [1, 'b', none, true, 2.5], 'é': 'q\"\\n'}|tojson }}", "{\"a\": [1, \"b\", null, true, 2.5], \"é\": \"q\\\"\\n\"}")]
    [InlineData("{{ {'a': [1]}|tojson(indent=2) }}", "{\n  \"a\": [\n    1\n  ]\n}")]
    [InlineData("{{ [1, 2, 3][::-1] }} {{ 'abcdef'[1:3] }} {{ [1, 2, 3][1:] }} {{ 'abc'[-1] }} {{ [1, 2, 3, 4][::2] }} {{ range(3) }} {{ range(5, 1, -2) }}", "[3, 2, 1] bc [2, 3] c [1, 3] [0, 1, 2] [5, 3]")]
    [InlineData("{{ 'yes' if 1 > 0 else 'no' }} {{ 'yes' if false else 'no' }} [{{ 'only' if false }}]", "yes no []")]
    [InlineData("{% for n in [1, 2, 3] %}{% if n == 1 %}one{% elif n == 2 %}two{% else %}many{% endif %} {% endfor %}", "one two many ")]
    [InlineData("{% for x in [] %}x{% else %}empty{% endfor %} {% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}", "empty a=1;b=2;")]
    [InlineData("{% set x = 1 %}{% for i in [1, 2] %}{% set x = 5 %}{% endfor %}{{ x }}", "1")]
    [InlineData("{% set ns = namespace(x=1, s='') %}{% for i in [1, 2] %}{% set ns.x = ns.x + i %}{% set ns.s = ns.s ~ i %}{% endfor %}{{ ns.x }} {{ ns.s }}", "4 12")]
    [InlineData("{% for i in range(2) %}{% for j in 'ab' %}{{ loop.index }}{{ j }}{% endfor %}{{ loop.revindex0 }}{{ loop.length }},{% endfor %}", "1a2b12,1a2b02,")]
    [InlineData("{% set d = {'k': {'n': 'v'}} %}{{ d.k.n }}{{ d['k']['n'] }}{{ d.get('z', 'w') }}{{ d.missing }}{{ d.keys()|list }}", "vvw['k']")]
    public void Interpreter_RendersEachConstruct(string template, string expected) => Assert.Equal(expected, Render(template));

    // Floats print as Python's repr (what str() and json.dumps use), the values written here by Python 3 itself; found by
    // ChatTemplateHfParityTests, where a Qwen3 tool schema's 1e21 and 1.5e-07 came out as 1E+21 and 1.5E-07.
    [Theory]
    [InlineData(0.0, "0.0")]
    [InlineData(-0.0, "-0.0")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(0.1, "0.1")]
    [InlineData(1.0 / 3, "0.3333333333333333")]
    [InlineData(100.0, "100.0")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.00001, "1e-05")]
    [InlineData(2.5e-5, "2.5e-05")]
    [InlineData(0.000123456, "0.000123456")]
    [InlineData(1.5e-7, "1.5e-07")]
    [InlineData(1e-100, "1e-100")]
    [InlineData(5e-324, "5e-324")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(9999999999999998.0, "9999999999999998.0")]
    [InlineData(1234567890123456.8, "1234567890123456.8")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1.5e16, "1.5e+16")]
    [InlineData(1e21, "1e+21")]
    [InlineData(-1e22, "-1e+22")]
    [InlineData(12345678901234567890.0, "1.2345678901234567e+19")]
    [InlineData(double.MaxValue, "1.7976931348623157e+308")]
    [InlineData(123456789.125, "123456789.125")]
    public void Interpreter_PrintsFloatsAsPython(double value, string python)
    {
        var variables = new Dictionary<string, object?> { ["x"] = value };
        Assert.Equal($"{python}|[{python}]", ChatTemplate.Parse("{{ x }}|{{ [x]|tojson }}", null, null).Render(variables));
    }

    [Fact]
    public void Interpreter_NonFiniteFloats_PrintAsPython()
    {
        var variables = new Dictionary<string, object?> { ["x"] = new List<object?> { double.PositiveInfinity, double.NegativeInfinity, double.NaN } };
        Assert.Equal("[inf, -inf, nan]|[Infinity, -Infinity, NaN]", ChatTemplate.Parse("{{ x }}|{{ x|tojson }}", null, null).Render(variables));
    }

    [Fact]
    public void Interpreter_LoopVariables_And_Messages()
    {
        var template = "{% for m in messages %}{{ loop.index0 }}{% if loop.first %}F{% endif %}{% if loop.last %}L{% endif %}{{ m['role'][0] }}{{ m.content|length }}|{% endfor %}";
        var messages = new List<object?> { Message("system", "ab"), Message("user", "c"), Message("assistant", "") };
        Assert.Equal("0Fs2|1u1|2La0|", Render(template, messages));
    }

    // A ChatML layout in the style Qwen2 ships: a default system prompt unless the first message is one.
    [Fact]
    public void Interpreter_RendersAChatMlStyleTemplate()
    {
        const string template = """
            {%- if messages[0]['role'] == 'system' -%}
                {%- set system = messages[0]['content'] -%}
                {%- set rest = messages[1:] -%}
            {%- else -%}
                {%- set system = 'You are a helpful assistant.' -%}
                {%- set rest = messages -%}
            {%- endif -%}
            {{- '<|im_start|>system\n' + system + '<|im_end|>\n' -}}
            {%- for message in rest -%}
                {{- '<|im_start|>' + message.role + '\n' + message.content|trim + '<|im_end|>\n' -}}
            {%- endfor -%}
            {%- if add_generation_prompt -%}
                {{- '<|im_start|>assistant\n' -}}
            {%- endif -%}
            """;
        var withSystem = new List<object?> { Message("system", "Be terse."), Message("user", " hi "), Message("assistant", "hello") };
        Assert.Equal("<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello<|im_end|>\n<|im_start|>assistant\n",
            Render(template, withSystem, addGenerationPrompt: true));
        Assert.Equal("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nq<|im_end|>\n", Render(template, new List<object?> { Message("user", "q") }));
    }

    // Multi-line template without '-' markers: trim_blocks and lstrip_blocks make its layout vanish.
    [Fact]
    public void Interpreter_TrimsBlockLines_LikeHf()
    {
        const string template = "{% for message in messages %}\n    {% if message.role == 'user' %}\nUser: {{ message.content }}\n    {% else %}\nBot: {{ message.content }}\n    {% endif %}\n{% endfor %}\n";
        Assert.Equal("User: hi\nBot: hello\n", Render(template, new List<object?> { Message("user", "hi"), Message("assistant", "hello") }));
    }

    // A layout in the style DeepSeek-V3 ships (written here): namespace flags, system text gathered first, assistant tool
    // calls rendered from message['tool_calls'], tool results grouped, 'in' on a mapping, 'is none'.
    [Fact]
    public void Interpreter_RendersADeepSeekV3StyleToolTemplate()
    {
        const string template = """
            {%- if not add_generation_prompt is defined -%}{%- set add_generation_prompt = false -%}{%- endif -%}
            {%- set ns = namespace(system='', in_tool=false) -%}
            {%- for message in messages -%}
                {%- if message['role'] == 'system' -%}{%- set ns.system = ns.system + message['content'] -%}{%- endif -%}
            {%- endfor -%}
            {{- bos_token + ns.system -}}
            {%- for message in messages -%}
                {%- if message['role'] == 'user' -%}
                    {{- '<U>' + message['content'] -}}
                {%- elif message['role'] == 'assistant' and 'tool_calls' in message -%}
                    {{- '<A>' + ('' if message['content'] is none else message['content']) + '<calls>' -}}
                    {%- for call in message['tool_calls'] -%}
                        {{- '<call>' + call['function']['name'] + '\n' + call['function']['arguments'] + '</call>' -}}
                    {%- endfor -%}
                    {{- '</calls>' + eos_token -}}
                {%- elif message['role'] == 'assistant' -%}
                    {{- '<A>' + message['content'] + eos_token -}}
                {%- elif message['role'] == 'tool' -%}
                    {%- if not ns.in_tool -%}{{- '<outputs>' -}}{%- set ns.in_tool = true -%}{%- endif -%}
                    {{- '<out>' + message['content'] + '</out>' -}}
                    {%- if loop.last or messages[loop.index0 + 1]['role'] != 'tool' -%}
                        {{- '</outputs>' -}}{%- set ns.in_tool = false -%}
                    {%- endif -%}
                {%- endif -%}
            {%- endfor -%}
            {%- if add_generation_prompt -%}{{- '<A>' -}}{%- endif -%}
            """;
        using var json = JsonDocument.Parse("""
            [{"role": "system", "content": "S"}, {"role": "user", "content": "weather?"},
             {"role": "assistant", "content": null, "tool_calls": [{"type": "function", "function": {"name": "get", "arguments": "{\"city\": \"Paris\"}"}},
                                                                   {"type": "function", "function": {"name": "time", "arguments": "{}"}}]},
             {"role": "tool", "content": "sunny"}, {"role": "tool", "content": "noon"}, {"role": "assistant", "content": "Sunny at noon."}]
            """);
        var text = ChatTemplate.Parse(template, "<s>", "</s>").Render(new Dictionary<string, object?> { ["messages"] = json.RootElement });
        Assert.Equal("<s>S<U>weather?<A><calls><call>get\n{\"city\": \"Paris\"}</call><call>time\n{}</call></calls></s>"
            + "<outputs><out>sunny</out><out>noon</out></outputs><A>Sunny at noon.</s>", text);
    }

    [Fact]
    public void Interpreter_ToolsFromJson_AndBosEos()
    {
        const string template = "{{ bos_token }}{% for tool in tools %}{{ tool.function.name }}:{{ tool.function.parameters|tojson }};{% endfor %}{{ eos_token }}";
        using var tools = JsonDocument.Parse("""[{"type": "function", "function": {"name": "add", "parameters": {"a": 1, "b": [true, null]}}}]""");
        var text = ChatTemplate.Parse(template, "<s>", null).Render(new Dictionary<string, object?> { ["tools"] = tools.RootElement });
        Assert.Equal("<s>add:{\"a\": 1, \"b\": [true, null]};", text);
        var typed = new Dictionary<string, object?> { ["messages"] = new[] { new Dictionary<string, string> { ["role"] = "user", ["content"] = "hi" } } };
        Assert.Equal("user:hi", ChatTemplate.Parse("{% for m in messages %}{{ m.role }}:{{ m.content }}{% endfor %}", null, null).Render(typed));
        Assert.Throws<ArgumentException>(() => ChatTemplate.BuiltIn.Render(new Dictionary<string, object?> { ["x"] = new object() }));
    }

    [Fact]
    public void RaiseException_AndRenderErrors_AreClear()
    {
        var e = Assert.Throws<ChatTemplateException>(() => Render("{{ raise_exception('Only user and assistant roles are supported!') }}"));
        Assert.Contains("Only user and assistant roles are supported!", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ChatTemplateException>(() => Render("ok\n{{ missing.attr }}"));
        Assert.Contains("'missing' is undefined", e.Message, StringComparison.Ordinal);
        Assert.Contains("line 2", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ChatTemplateException>(() => Render("{% set x = 1 %}{% set x.y = 2 %}"));
        Assert.Contains("namespace", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ChatTemplateException>(() => Render("{{ 'a' + 1 }}"));
        Assert.Contains("unsupported operand types for '+': a string and an integer", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{% macro m() %}x{% endmacro %}", "unsupported statement 'macro'", "line 1, column 1")]
    [InlineData("ok\n  {% include 'other' %}", "unsupported statement 'include'", "line 2, column 3")]
    [InlineData("{{ x|wordwrap }}", "unsupported filter '|wordwrap'", "line 1, column 6")]
    [InlineData("{{ x.format(1) }}", "unsupported method '.format(…)'", "line 1, column 5")]
    [InlineData("{{ cycler(1) }}", "unsupported function 'cycler'", "line 1, column 4")]
    [InlineData("{{ x is odd }}", "unsupported test 'is odd'", "line 1, column 6")]
    [InlineData("{% for x in xs if x %}{% endfor %}", "loop filters", "line 1, column 16")]
    [InlineData("{% set x %}a{% endset %}", "block assignment", "line 1")]
    [InlineData("{% set a, b = 1, 2 %}", "tuple assignment", "line 1, column 9")]
    [InlineData("{% if x %}open", "ends before '{% endif %}'", "line 1, column 15")]
    [InlineData("text {% endfor %}", "'endfor' without a matching opening statement", "line 1, column 6")]
    [InlineData("{{ x ", "never closed", "line 1, column 1")]
    [InlineData("{{ 'abc }}", "string literal is never closed", "line 1, column 4")]
    [InlineData("{{ x ; y }}", "unexpected character ';'", "line 1, column 6")]
    [InlineData("{{ x y }}", "unexpected 'y'", "line 1, column 6")]
    [InlineData("{% raw %}{{ x }}{% endraw %}", "unsupported statement 'raw'", "line 1, column 1")]
    public void Parse_RejectsUnsupportedConstructs_NamingThemAndTheirPosition(string template, string what, string where)
    {
        var e = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse(template, null, null));
        Assert.Contains(what, e.Message, StringComparison.Ordinal);
        Assert.Contains(where, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromModelDirectory_ReadsTheConfigTemplate_OrFallsBackToTheBuiltIn()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"sharpseek-template-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            ChatTurn[] turns = [new("user", "hi")];
            Assert.Equal(ChatTemplate.BuiltIn.Render(turns), ChatTemplate.FromModelDirectory(dir).Render(turns));
            var config = Path.Combine(dir, ByteLevelBpe.ConfigFileName);
            File.WriteAllText(config, """{"bos_token": {"__type": "AddedToken", "content": "<B>"}, "eos_token": "<E>", "chat_template": "{{ bos_token }}{% for m in messages %}[{{ m.content }}]{% endfor %}{{ eos_token }}"}""");
            Assert.Equal("<B>[hi]<E>", ChatTemplate.FromModelDirectory(dir).Render(turns));
            // A null token stays undefined for the file's own template (Qwen3's bos_token), as transformers leaves it out.
            File.WriteAllText(config, """{"bos_token": null, "eos_token": "<E>", "chat_template": "{{ bos_token is defined }}[{{ bos_token }}]{{ eos_token }}"}""");
            Assert.Equal("False[]<E>", ChatTemplate.FromModelDirectory(dir).Render(turns));
            File.WriteAllText(config, """{"bos_token": "<B>", "eos_token": "<E>", "chat_template": null}""");
            Assert.Equal($"<B>{User}hi{Assistant}<think>\n", ChatTemplate.FromModelDirectory(dir).Render(turns));
            File.WriteAllText(config, """{"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D{{ messages|length }}"}]}""");
            Assert.Equal("D1", ChatTemplate.FromModelDirectory(dir).Render(turns));
            File.WriteAllText(config, """{"chat_template": "{% macro x() %}{% endmacro %}"}""");
            var e = Assert.Throws<ChatTemplateException>(() => ChatTemplate.FromModelDirectory(dir));
            Assert.Contains(config, e.Message, StringComparison.Ordinal);
            Assert.Contains("'macro'", e.Message, StringComparison.Ordinal);
            File.WriteAllText(config, "{not json");
            Assert.Throws<InvalidDataException>(() => ChatTemplate.FromModelDirectory(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
