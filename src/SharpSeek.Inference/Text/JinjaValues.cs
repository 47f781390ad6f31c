// JinjaValues.cs: the value model of the template interpreter and Python's semantics on it. Values are null (None),
// bool, long, double, string, List<object?>, Dictionary<string, object?> (and JinjaNamespace), JinjaUndefined. Here:
// truthiness, printing (floats as Python's repr), ==/</in, + - * / // % ~, indexing and slicing (negative indices), the
// string and dict methods, the filters, the tests, and tojson (transformers': ", " and ": " separators, non-ASCII kept).
// Not here: parsing (JinjaParser.cs). Tested by ChatTemplateTests and ChatTemplateHfParityTests.
using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SharpSeek.Inference.Text;

internal static class JinjaValues
{
    /// <summary>Converts caller data (strings, numbers, bools, dictionaries, lists, JsonElement) into the value model.</summary>
    public static object? Import(object? value) => value switch
    {
        null or string or bool or long or double => value,
        int or short or byte or uint => Convert.ToInt64(value, CultureInfo.InvariantCulture),
        float or decimal => Convert.ToDouble(value, CultureInfo.InvariantCulture),
        JsonElement e => ImportJson(e),
        IEnumerable<KeyValuePair<string, object?>> map => map.ToDictionary(p => p.Key, p => Import(p.Value), StringComparer.Ordinal),
        IDictionary map => ImportMap(map),
        IEnumerable items => items.Cast<object?>().Select(Import).ToList(),
        _ => throw new ArgumentException($"a chat template variable cannot hold a {value.GetType().Name}; use strings, numbers, bools, lists and string-keyed dictionaries"),
    };

    private static Dictionary<string, object?> ImportMap(IDictionary map)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var key in map.Keys)
        {
            result[key as string ?? throw new ArgumentException($"a chat template mapping key must be a string, not {key.GetType().Name}")] = Import(map[key]);
        }
        return result;
    }

    private static object? ImportJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => e.EnumerateObject().ToDictionary(p => p.Name, p => ImportJson(p.Value), StringComparer.Ordinal),
        JsonValueKind.Array => e.EnumerateArray().Select(ImportJson).ToList(),
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out var l) ? (object)l : e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    public static string TypeName(object? v) => v switch
    {
        null => "none",
        JinjaUndefined u => $"undefined '{u.Name}'",
        bool => "a bool",
        long => "an integer",
        double => "a float",
        string => "a string",
        List<object?> => "a list",
        _ => "a mapping",
    };

    public static bool Truthy(object? v) => v switch
    {
        null or JinjaUndefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        ICollection c => c.Count > 0,
        _ => true,
    };

    public static string ToText(object? v) => v switch
    {
        JinjaUndefined => "",
        string s => s,
        _ => Repr(v),
    };

    private static string Repr(object? v) => v switch
    {
        null => "None",
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FloatRepr(d),
        string s => $"'{s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal)}'",
        List<object?> list => $"[{string.Join(", ", list.Select(Repr))}]",
        Dictionary<string, object?> d => $"{{{string.Join(", ", d.Select(p => $"{Repr(p.Key)}: {Repr(p.Value)}"))}}}",
        _ => "",
    };

    // Python's repr(float), which str() and json.dumps also use: the shortest digits that round-trip, positional when the
    // decimal exponent is in [-4, 16) (with ".0" for whole numbers), else d[.ddd]e±XX; inf, nan.
    internal static string FloatRepr(double d)
    {
        if (double.IsNaN(d)) { return "nan"; }
        if (double.IsInfinity(d)) { return d > 0 ? "inf" : "-inf"; }
        var sign = double.IsNegative(d) ? "-" : "";
        if (d == 0) { return sign + "0.0"; }
        // .NET's "E16" is not shortest; "R" is, in either spelling ("1.5E-07", "123.25"): read its digits and exponent.
        var r = Math.Abs(d).ToString("R", CultureInfo.InvariantCulture);
        var e = r.IndexOf('E', StringComparison.Ordinal);
        var mantissa = e < 0 ? r : r[..e];
        var exponent = e < 0 ? 0 : int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var point = mantissa.IndexOf('.', StringComparison.Ordinal);
        var digits = point < 0 ? mantissa : mantissa.Remove(point, 1);
        var leadingZeros = digits.Length - digits.TrimStart('0').Length;
        exponent += (point < 0 ? mantissa.Length : point) - 1 - leadingZeros; // decimal exponent of the first significant digit
        digits = digits.Trim('0');
        if (exponent is < -4 or >= 16)
        {
            var fraction = digits.Length > 1 ? "." + digits[1..] : "";
            return $"{sign}{digits[0]}{fraction}e{(exponent < 0 ? '-' : '+')}{Math.Abs(exponent):00}";
        }
        if (exponent < 0) { return $"{sign}0.{new string('0', -exponent - 1)}{digits}"; }
        var whole = digits.Length > exponent + 1 ? digits[..(exponent + 1)] : digits.PadRight(exponent + 1, '0');
        var rest = digits.Length > exponent + 1 ? digits[(exponent + 1)..] : "0";
        return $"{sign}{whole}.{rest}";
    }

    public static bool Same(object? a, object? b) => (a, b) switch
    {
        (long x, long y) => x == y,
        (long or double, long or double) => Convert.ToDouble(a, CultureInfo.InvariantCulture) == Convert.ToDouble(b, CultureInfo.InvariantCulture),
        (string x, string y) => string.Equals(x, y, StringComparison.Ordinal),
        (List<object?> x, List<object?> y) => x.Count == y.Count && x.Zip(y).All(p => Same(p.First, p.Second)),
        (JinjaUndefined, JinjaUndefined) => true,
        _ => a is null ? b is null : a.Equals(b),
    };

    public static IReadOnlyList<object?> Iterate(object? v, JinjaScope scope, int pos) => v switch
    {
        JinjaUndefined => [],
        List<object?> list => list,
        Dictionary<string, object?> d => [.. d.Keys],
        string s => [.. s.Select(c => (object?)c.ToString())],
        _ => throw scope.Error(pos, $"cannot iterate over {TypeName(v)}"),
    };

    public static object? Binary(string op, object? a, object? b, JinjaScope scope, int pos)
    {
        switch (op)
        {
            case "==": return Same(a, b);
            case "!=": return !Same(a, b);
            case "in": return Contains(b, a, scope, pos);
            case "not in": return !Contains(b, a, scope, pos);
            case "~": return ToText(a) + ToText(b);
            case "<" or ">" or "<=" or ">=":
                var c = (a, b) switch
                {
                    (string x, string y) => string.CompareOrdinal(x, y),
                    (long or double, long or double) => Convert.ToDouble(a, CultureInfo.InvariantCulture).CompareTo(Convert.ToDouble(b, CultureInfo.InvariantCulture)),
                    _ => throw scope.Error(pos, $"cannot compare {TypeName(a)} with {TypeName(b)} using '{op}'"),
                };
                return op switch { "<" => c < 0, ">" => c > 0, "<=" => c <= 0, _ => c >= 0 };
        }
        switch (op, a, b)
        {
            case ("+", string x, string y): return x + y;
            case ("+", List<object?> x, List<object?> y): return x.Concat(y).ToList();
            case ("*", string x, long n): return string.Concat(Enumerable.Repeat(x, (int)Math.Max(0, n)));
            case (_, long x, long y) when op != "/":
                if (y == 0 && op is "//" or "%") { throw scope.Error(pos, "integer division or modulo by zero"); }
                return op switch
                {
                    "+" => x + y,
                    "-" => x - y,
                    "*" => x * y,
                    "//" => (long)Math.Floor((double)x / y),
                    _ => ((x % y) + y) % y,
                };
            case (_, long or double, long or double):
                var (p, q) = (Convert.ToDouble(a, CultureInfo.InvariantCulture), Convert.ToDouble(b, CultureInfo.InvariantCulture));
                return op switch
                {
                    "+" => p + q,
                    "-" => p - q,
                    "*" => p * q,
                    "/" => p / q,
                    "//" => Math.Floor(p / q),
                    _ => p - q * Math.Floor(p / q),
                };
        }
        throw scope.Error(pos, $"unsupported operand types for '{op}': {TypeName(a)} and {TypeName(b)}");
    }

    private static bool Contains(object? container, object? item, JinjaScope scope, int pos) => container switch
    {
        string s => item is string sub ? s.Contains(sub, StringComparison.Ordinal) : throw scope.Error(pos, $"'in <string>' needs a string on the left, not {TypeName(item)}"),
        List<object?> list => list.Any(x => Same(x, item)),
        Dictionary<string, object?> d => item is string key && d.ContainsKey(key),
        JinjaUndefined => false,
        _ => throw scope.Error(pos, $"'in' needs a string, list or mapping on the right, not {TypeName(container)}"),
    };

    public static object? GetItem(object? target, object? key, JinjaScope scope, int pos)
    {
        switch (target, key)
        {
            case (Dictionary<string, object?> d, string k): return d.TryGetValue(k, out var v) ? v : new JinjaUndefined(k);
            case (List<object?> list, long i):
                var at = i < 0 ? i + list.Count : i;
                return at >= 0 && at < list.Count ? list[(int)at] : new JinjaUndefined($"[{i}]");
            case (string s, long i):
                var c = i < 0 ? i + s.Length : i;
                return c >= 0 && c < s.Length ? s[(int)c].ToString() : new JinjaUndefined($"[{i}]");
            case (JinjaUndefined u, _): throw scope.Error(pos, $"'{u.Name}' is undefined, so '{ToText(key)}' cannot be read from it");
            case (null, _): throw scope.Error(pos, $"none has no attribute or item '{ToText(key)}'");
            default: return new JinjaUndefined(ToText(key));
        }
    }

    public static object? Slice(object? target, object? start, object? stop, object? step, JinjaScope scope, int pos)
    {
        var n = target switch
        {
            List<object?> l => l.Count,
            string s => s.Length,
            _ => throw scope.Error(pos, $"cannot slice {TypeName(target)}"),
        };
        long Index(object? v, string what) => v is null ? 0 : v as long? ?? throw scope.Error(pos, $"slice {what} must be an integer, not {TypeName(v)}");
        var by = step is null ? 1 : Index(step, "step");
        if (by == 0) { throw scope.Error(pos, "slice step must not be zero"); }
        // Python's rule: defaults span the sequence in the step's direction; negatives count from the end; then clamp.
        long Clamp(object? v, long fallback)
        {
            if (v is null) { return fallback; }
            var i = Index(v, "bound");
            if (i < 0) { i += n; }
            return by > 0 ? Math.Clamp(i, 0, n) : Math.Clamp(i, -1, n - 1);
        }
        var from = Clamp(start, by > 0 ? 0 : n - 1);
        var to = Clamp(stop, by > 0 ? n : -1);
        var picked = new List<int>();
        for (var i = from; by > 0 ? i < to : i > to; i += by) { picked.Add((int)i); }
        return target is string str ? string.Concat(picked.Select(i => str[i])) : picked.ConvertAll(i => ((List<object?>)target!)[i]);
    }

    public static object? CallMethod(object? target, string name, List<object?> args, JinjaScope scope, int pos)
    {
        string Arg(int i, string what) => args.Count > i && args[i] is string s ? s : throw scope.Error(pos, $"'.{name}' expects {what} as argument {i + 1}");
        char[]? Chars() => args.Count == 0 || args[0] is null ? null : Arg(0, "a string of characters").ToCharArray();
        switch (target)
        {
            case string s:
                return name switch
                {
                    "split" => Split(s, args.Count == 0 || args[0] is null ? null : Arg(0, "a separator string"), args.Count > 1 ? args[1] as long? ?? -1 : -1),
                    "strip" => Chars() is { } c ? s.Trim(c) : s.Trim(),
                    "lstrip" => Chars() is { } c ? s.TrimStart(c) : s.TrimStart(),
                    "rstrip" => Chars() is { } c ? s.TrimEnd(c) : s.TrimEnd(),
                    "startswith" => s.StartsWith(Arg(0, "a prefix string"), StringComparison.Ordinal),
                    "endswith" => s.EndsWith(Arg(0, "a suffix string"), StringComparison.Ordinal),
                    "lower" => s.ToLowerInvariant(),
                    "upper" => s.ToUpperInvariant(),
                    "replace" => s.Replace(Arg(0, "the old string"), Arg(1, "the new string"), StringComparison.Ordinal),
                    _ => throw scope.Error(pos, $"a string has no method '.{name}'"),
                };
            case Dictionary<string, object?> d:
                return name switch
                {
                    "items" => d.Select(p => (object?)new List<object?> { p.Key, p.Value }).ToList(),
                    "keys" => d.Keys.Select(k => (object?)k).ToList(),
                    "values" => d.Values.ToList(),
                    "get" => d.TryGetValue(Arg(0, "a key string"), out var v) ? v : args.Count > 1 ? args[1] : null,
                    _ => throw scope.Error(pos, $"a mapping has no method '.{name}'"),
                };
            default:
                throw scope.Error(pos, $"{TypeName(target)} has no method '.{name}'");
        }
    }

    // Python str.split: no separator splits on whitespace runs and drops empty pieces; maxsplit -1 means all.
    private static List<object?> Split(string s, string? separator, long maxSplit)
    {
        var count = maxSplit < 0 ? int.MaxValue : (int)Math.Min(maxSplit + 1, int.MaxValue);
        if (separator is null)
        {
            return [.. s.Split((char[]?)null, count, StringSplitOptions.RemoveEmptyEntries).Select((p, i) => (object?)p)];
        }
        return [.. s.Split(separator, count, StringSplitOptions.None).Select(p => (object?)p)];
    }

    public static object? Filter(object? v, string name, List<object?> args, List<(string Name, object? Value)> kwargs, JinjaScope scope, int pos)
    {
        if (kwargs.Count > 0 && name != "tojson") { throw scope.Error(pos, $"filter '|{name}' takes no keyword arguments"); }
        switch (name)
        {
            case "length" or "count":
                return v switch
                {
                    string s => (long)s.Length,
                    ICollection c => (long)c.Count,
                    JinjaUndefined => 0L,
                    _ => throw scope.Error(pos, $"'|{name}' needs a string, list or mapping, not {TypeName(v)}"),
                };
            case "trim": return ToText(v).Trim();
            case "string": return ToText(v);
            case "lower": return ToText(v).ToLowerInvariant();
            case "upper": return ToText(v).ToUpperInvariant();
            case "first" or "last":
                var items = Iterate(v, scope, pos);
                return items.Count == 0 ? new JinjaUndefined(name) : name == "first" ? items[0] : items[^1];
            case "join": return string.Join(args.Count > 0 ? ToText(args[0]) : "", Iterate(v, scope, pos).Select(ToText));
            case "list": return Iterate(v, scope, pos).ToList();
            case "default": return v is JinjaUndefined || (args.Count > 1 && Truthy(args[1]) && !Truthy(v)) ? (args.Count > 0 ? args[0] : "") : v;
            default: // tojson
                var indent = kwargs.Where(k => k.Name == "indent").Select(k => k.Value).FirstOrDefault() ?? (args.Count > 0 ? args[0] : null);
                if (kwargs.Any(k => k.Name != "indent") || indent is not (null or long)) { throw scope.Error(pos, "'|tojson' takes only indent=<integer>"); }
                var sb = new StringBuilder();
                WriteJson(v, sb, (int?)(long?)indent, 0, scope, pos);
                return sb.ToString();
        }
    }

    public static bool Test(object? v, string name) => name switch
    {
        "defined" => v is not JinjaUndefined,
        "undefined" => v is JinjaUndefined,
        "none" => v is null,
        "string" => v is string,
        "number" => v is long or double,
        "integer" => v is long,
        "float" => v is double,
        "boolean" => v is bool,
        "true" => v is true,
        "false" => v is false,
        "mapping" => v is Dictionary<string, object?>,
        "sequence" => v is List<object?> or string or Dictionary<string, object?>,
        _ => v is List<object?> or string or Dictionary<string, object?>, // iterable
    };

    // Python json.dumps(ensure_ascii=False): ", " and ": " separators, or newlines and indent spaces when indent is given.
    private static void WriteJson(object? v, StringBuilder sb, int? indent, int depth, JinjaScope scope, int pos)
    {
        switch (v)
        {
            case null or JinjaUndefined: sb.Append("null"); return;
            case bool b: sb.Append(b ? "true" : "false"); return;
            case double d when !double.IsFinite(d): sb.Append(double.IsNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity"); return;
            case long or double: sb.Append(ToText(v)); return;
            case string s:
                sb.Append('"');
                foreach (var c in s)
                {
                    sb.Append(c switch
                    {
                        '"' => "\\\"",
                        '\\' => "\\\\",
                        '\n' => "\\n",
                        '\r' => "\\r",
                        '\t' => "\\t",
                        '\b' => "\\b",
                        '\f' => "\\f",
                        < ' ' => $"\\u{(int)c:x4}",
                        _ => c.ToString(),
                    });
                }
                sb.Append('"');
                return;
        }
        var entries = v is List<object?> list ? list.Select(x => ((string?)null, x)).ToList()
            : v is Dictionary<string, object?> map ? map.Select(p => ((string?)p.Key, p.Value)).ToList()
            : throw scope.Error(pos, $"'|tojson' cannot write {TypeName(v)}");
        var (open, close) = v is List<object?> ? ('[', ']') : ('{', '}');
        sb.Append(open);
        for (var i = 0; i < entries.Count; i++)
        {
            if (i > 0) { sb.Append(indent is null ? ", " : ","); }
            if (indent is { } n) { sb.Append('\n').Append(' ', n * (depth + 1)); }
            if (entries[i].Item1 is { } key)
            {
                WriteJson(key, sb, indent, depth + 1, scope, pos);
                sb.Append(": ");
            }
            WriteJson(entries[i].Item2, sb, indent, depth + 1, scope, pos);
        }
        if (indent is { } m && entries.Count > 0) { sb.Append('\n').Append(' ', m * depth); }
        sb.Append(close);
    }
}
