// DeepSeekChatTemplate.cs: our own Jinja text of the DeepSeek-R1 chat format, written into every tokenizer_config.json we
// save so a run directory carries its template. Not here: the interpreter (SharpSeek.Inference.Text.ChatTemplate).
// Tested by ChatTemplateTests (renders it against hand-written expectations), ChatTemplateHfParityTests (against
// @huggingface/jinja and Jinja2) and TokenizerJsonTests.
namespace SharpSeek.Model.Tokenizer;

/// <summary>The built-in chat template: <c>{bos}{system}</c>, then <c>&lt;｜User｜&gt;{user}</c> and
/// <c>&lt;｜Assistant｜&gt;{answer}&lt;｜end▁of▁sentence｜&gt;</c> per turn, where the answer is the text after the last
/// <c>&lt;/think&gt;</c> with leading whitespace removed (earlier reasoning is never fed back); system messages are joined by
/// a blank line; the generation prompt is <c>&lt;｜Assistant｜&gt;&lt;think&gt;\n</c>.</summary>
public static class DeepSeekChatTemplate
{
    public const string Source = """
        {#- SharpSeek's DeepSeek-R1 chat format: system text first, reasoning of earlier answers dropped. -#}
        {%- set ns = namespace(system='') -%}
        {%- for message in messages -%}
            {%- if message['role'] == 'system' -%}
                {%- if ns.system -%}
                    {%- set ns.system = ns.system + '\n\n' -%}
                {%- endif -%}
                {%- set ns.system = ns.system + message['content'] -%}
            {%- endif -%}
        {%- endfor -%}
        {{- bos_token ~ ns.system -}}
        {%- for message in messages -%}
            {%- if message['role'] == 'user' -%}
                {{- '<｜User｜>' + message['content'] -}}
            {%- elif message['role'] == 'assistant' -%}
                {%- set answer = message['content'] -%}
                {%- if '</think>' in answer -%}
                    {%- set answer = answer.split('</think>')[-1].lstrip() -%}
                {%- endif -%}
                {{- '<｜Assistant｜>' + answer + eos_token -}}
            {%- elif message['role'] != 'system' -%}
                {{- raise_exception('unknown role "' ~ message['role'] ~ '"; expected system, user or assistant') -}}
            {%- endif -%}
        {%- endfor -%}
        {%- if add_generation_prompt -%}
            {{- '<｜Assistant｜><think>\n' -}}
        {%- endif -%}
        """;
}
