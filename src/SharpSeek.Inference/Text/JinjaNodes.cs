// JinjaNodes.cs: the tree JinjaParser builds and how each node renders or evaluates: text, {{ output }}, set (names and
// namespace attributes), for (with loop.*, else, two-name unpacking), if/elif/else, and the expression nodes. A for loop
// opens one variable frame, so a set inside it is gone after it (Jinja's rule; namespace() carries values out).
// Not here: parsing (JinjaParser.cs), value semantics (JinjaValues.cs). Tested by ChatTemplateTests.
using System.Text;

namespace SharpSeek.Inference.Text;

/// <summary>A Jinja undefined value: renders as "", is falsy, iterates as empty; using its attributes is an error.</summary>
internal sealed record JinjaUndefined(string Name);

/// <summary>What namespace(...) makes: the one object whose attributes a set statement may assign.</summary>
internal sealed class JinjaNamespace() : Dictionary<string, object?>(StringComparer.Ordinal);

internal sealed class JinjaScope(Dictionary<string, object?> globals, string source)
{
    private readonly List<Dictionary<string, object?>> _frames = [globals];

    public object? Get(string name)
    {
        for (var i = _frames.Count - 1; i >= 0; i--)
        {
            if (_frames[i].TryGetValue(name, out var value)) { return value; }
        }
        return new JinjaUndefined(name);
    }

    public void Set(string name, object? value) => _frames[^1][name] = value;

    public void Push() => _frames.Add(new Dictionary<string, object?>(StringComparer.Ordinal));

    public void Pop() => _frames.RemoveAt(_frames.Count - 1);

    public ChatTemplateException Error(int pos, string message) => new($"chat template {JinjaParser.Where(source, pos)}: {message}");
}

internal abstract class JinjaNode
{
    public abstract void Render(JinjaScope scope, StringBuilder output);

    public static void RenderAll(List<JinjaNode> nodes, JinjaScope scope, StringBuilder output)
    {
        foreach (var node in nodes) { node.Render(scope, output); }
    }
}

internal sealed class TextNode(string text) : JinjaNode
{
    public override void Render(JinjaScope scope, StringBuilder output) => output.Append(text);
}

internal sealed class OutputNode(JinjaExpr value) : JinjaNode
{
    public override void Render(JinjaScope scope, StringBuilder output) => output.Append(JinjaValues.ToText(value.Eval(scope)));
}

internal sealed class SetNode(string name, string? attribute, JinjaExpr value) : JinjaNode
{
    public override void Render(JinjaScope scope, StringBuilder output)
    {
        var v = value.Eval(scope);
        if (attribute is null)
        {
            scope.Set(name, v);
            return;
        }
        if (scope.Get(name) is not JinjaNamespace ns) { throw scope.Error(value.Pos, $"'set {name}.{attribute}' needs '{name}' to be a namespace(...); only namespace attributes can be assigned"); }
        ns[attribute] = v;
    }
}

internal sealed class IfNode(List<(JinjaExpr Condition, List<JinjaNode> Body)> branches, List<JinjaNode> otherwise) : JinjaNode
{
    public override void Render(JinjaScope scope, StringBuilder output)
    {
        foreach (var (condition, body) in branches)
        {
            if (JinjaValues.Truthy(condition.Eval(scope)))
            {
                RenderAll(body, scope, output);
                return;
            }
        }
        RenderAll(otherwise, scope, output);
    }
}

internal sealed class ForNode(string[] targets, JinjaExpr items, List<JinjaNode> body, List<JinjaNode> empty, int pos) : JinjaNode
{
    public override void Render(JinjaScope scope, StringBuilder output)
    {
        var list = JinjaValues.Iterate(items.Eval(scope), scope, items.Pos);
        if (list.Count == 0)
        {
            RenderAll(empty, scope, output);
            return;
        }
        scope.Push();
        try
        {
            for (var i = 0; i < list.Count; i++)
            {
                scope.Set("loop", new Dictionary<string, object?>(StringComparer.Ordinal)
                {
                    ["index0"] = (long)i,
                    ["index"] = (long)i + 1,
                    ["revindex0"] = (long)(list.Count - 1 - i),
                    ["revindex"] = (long)(list.Count - i),
                    ["first"] = i == 0,
                    ["last"] = i == list.Count - 1,
                    ["length"] = (long)list.Count,
                });
                Assign(list[i], scope);
                RenderAll(body, scope, output);
            }
        }
        finally
        {
            scope.Pop();
        }
    }

    private void Assign(object? item, JinjaScope scope)
    {
        if (targets.Length == 1)
        {
            scope.Set(targets[0], item);
            return;
        }
        if (item is not List<object?> parts || parts.Count != targets.Length)
        {
            throw scope.Error(pos, $"cannot unpack {JinjaValues.TypeName(item)} into {targets.Length} loop variables");
        }
        for (var t = 0; t < targets.Length; t++) { scope.Set(targets[t], parts[t]); }
    }
}

internal abstract class JinjaExpr(int pos)
{
    public int Pos { get; } = pos;

    public abstract object? Eval(JinjaScope scope);
}

internal sealed class LiteralExpr(object? value, int pos) : JinjaExpr(pos)
{
    public override object? Eval(JinjaScope scope) => value;
}

internal sealed class NameExpr(string name, int pos) : JinjaExpr(pos)
{
    public override object? Eval(JinjaScope scope) => scope.Get(name);
}

internal sealed class GetItemExpr(JinjaExpr target, JinjaExpr key, int pos) : JinjaExpr(pos)
{
    public override object? Eval(JinjaScope scope) => JinjaValues.GetItem(target.Eval(scope), key.Eval(scope), scope, Pos);
}

internal sealed class SliceExpr(JinjaExpr target, JinjaExpr? start, JinjaExpr? stop, JinjaExpr? step, int pos) : JinjaExpr(pos)
{
    public override object? Eval(JinjaScope scope) =>
        JinjaValues.Slice(target.Eval(scope), start?.Eval(scope), stop?.Eval(scope), step?.Eval(scope), scope, Pos);
}

internal sealed class UnaryExpr(string op, JinjaExpr operand, int pos) : JinjaExpr(pos)
{
    public override object? Eval(JinjaScope scope)
    {
        var v = operand.Eval(scope);
        if (op == "not") { return !JinjaValues.Truthy(v); }
        return v switch
        {
            long l => (object)(-l),
            double d => -d,
            _ => throw scope.Error(Pos, $"cannot negate {JinjaValues.TypeName(v)}"),
        };
    }
}

internal sealed class BinaryExpr(string op, JinjaExpr left, JinjaExpr right, int pos) : JinjaExpr(pos)
{
    public override object? Eval(JinjaScope scope) => JinjaValues.Binary(op, left.Eval(scope), right.Eval(scope), scope, Pos);
}

/// <summary>Python's and/or: the deciding operand itself is the result.</summary>
internal sealed class LogicExpr(bool isAnd, JinjaExpr left, JinjaExpr right, int pos) : JinjaExpr(pos)
{
    public override object? Eval(JinjaScope scope)
    {
        var l = left.Eval(scope);
        return JinjaValues.Truthy(l) == isAnd ? right.Eval(scope) : l;
    }
}

internal sealed class ConditionalExpr(JinjaExpr value, JinjaExpr condition, JinjaExpr? otherwise, int pos) : JinjaExpr(pos)
{
    public override object? Eval(JinjaScope scope) =>
        JinjaValues.Truthy(condition.Eval(scope)) ? value.Eval(scope) : otherwise is null ? new JinjaUndefined("else branch") : otherwise.Eval(scope);
}

internal sealed class CallExpr(string name, List<JinjaExpr> args, List<(string Name, JinjaExpr Value)> kwargs, int pos) : JinjaExpr(pos)
{
    public override object? Eval(JinjaScope scope)
    {
        var a = args.ConvertAll(e => e.Eval(scope));
        switch (name)
        {
            case "namespace":
                var ns = new JinjaNamespace();
                foreach (var arg in a)
                {
                    if (arg is not Dictionary<string, object?> d) { throw scope.Error(Pos, $"namespace() takes keyword arguments or a mapping, not {JinjaValues.TypeName(arg)}"); }
                    foreach (var (k, v) in d) { ns[k] = v; }
                }
                foreach (var (k, v) in kwargs) { ns[k] = v.Eval(scope); }
                return ns;
            case "raise_exception":
                throw new ChatTemplateException($"the chat template raised an error: {(a.Count > 0 ? JinjaValues.ToText(a[0]) : "(no message)")}");
            default: // range
                if (a.Count is < 1 or > 3 || kwargs.Count > 0 || a.Any(x => x is not long)) { throw scope.Error(Pos, "range() takes 1 to 3 integer arguments"); }
                var (start, stop, step) = a.Count == 1 ? (0L, (long)a[0]!, 1L) : ((long)a[0]!, (long)a[1]!, a.Count == 3 ? (long)a[2]! : 1L);
                if (step == 0) { throw scope.Error(Pos, "range() step must not be zero"); }
                var list = new List<object?>();
                for (var i = start; step > 0 ? i < stop : i > stop; i += step) { list.Add(i); }
                return list;
        }
    }
}

internal sealed class MethodExpr(JinjaExpr target, string name, List<JinjaExpr> args, List<(string Name, JinjaExpr Value)> kwargs, int pos) : JinjaExpr(pos)
{
    public override object? Eval(JinjaScope scope)
    {
        if (kwargs.Count > 0) { throw scope.Error(Pos, $"method '.{name}' takes positional arguments only"); }
        return JinjaValues.CallMethod(target.Eval(scope), name, args.ConvertAll(e => e.Eval(scope)), scope, Pos);
    }
}

internal sealed class FilterExpr(JinjaExpr value, string name, List<JinjaExpr> args, List<(string Name, JinjaExpr Value)> kwargs, int pos) : JinjaExpr(pos)
{
    public override object? Eval(JinjaScope scope) =>
        JinjaValues.Filter(value.Eval(scope), name, args.ConvertAll(e => e.Eval(scope)), kwargs.ConvertAll(k => (k.Name, k.Value.Eval(scope))), scope, Pos);
}

internal sealed class TestExpr(JinjaExpr value, string name, bool negate, int pos) : JinjaExpr(pos)
{
    public override object? Eval(JinjaScope scope) => JinjaValues.Test(value.Eval(scope), name) != negate;
}

internal sealed class ListExpr(List<JinjaExpr> items, int pos) : JinjaExpr(pos)
{
    public override object? Eval(JinjaScope scope) => items.ConvertAll(e => e.Eval(scope));
}

internal sealed class DictExpr(List<(JinjaExpr Key, JinjaExpr Value)> entries, int pos) : JinjaExpr(pos)
{
    public override object? Eval(JinjaScope scope)
    {
        var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (k, v) in entries)
        {
            if (k.Eval(scope) is not string key) { throw scope.Error(k.Pos, "dict keys must be strings"); }
            dict[key] = v.Eval(scope);
        }
        return dict;
    }
}
