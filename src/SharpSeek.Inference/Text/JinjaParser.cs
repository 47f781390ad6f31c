// JinjaParser.cs: the Jinja subset that Hugging Face chat templates use, read into a tree (JinjaNodes.cs). Whitespace
// follows HF's environment (trim_blocks and lstrip_blocks on) plus the {%- -%} {{- -}} {#- -#} markers. Anything outside
// the subset (macros, loop filters, block set, unknown filters, methods, tests or functions) fails here with its line
// and column, never at render time. Not here: evaluation (JinjaNodes.cs, JinjaValues.cs). Tested by ChatTemplateTests.
using System.Globalization;
using System.Text;

namespace SharpSeek.Inference.Text;

internal sealed class JinjaParser
{
    internal static readonly HashSet<string> Filters = ["length", "count", "trim", "tojson", "string", "lower", "upper", "first", "last", "join", "default", "list"];
    internal static readonly HashSet<string> Methods = ["split", "strip", "lstrip", "rstrip", "startswith", "endswith", "lower", "upper", "replace", "items", "keys", "values", "get"];
    internal static readonly HashSet<string> Functions = ["namespace", "raise_exception", "range"];
    internal static readonly HashSet<string> Tests = ["defined", "undefined", "none", "string", "number", "integer", "float", "boolean", "true", "false", "mapping", "sequence", "iterable"];

    private enum Kind { Name, String, Number, Op }

    private readonly record struct Token(Kind Kind, string Text, object? Value, int Pos);

    private enum SegmentKind { Text, Output, Statement }

    private readonly record struct Segment(SegmentKind Kind, string Text, List<Token> Tokens, int Pos, int End);

    private readonly string _src;
    private readonly List<Segment> _segments = [];
    private int _seg;
    private List<Token> _tokens = [];
    private int _at;
    private int _tagEnd;

    private JinjaParser(string source) => _src = source;

    public static List<JinjaNode> Parse(string source)
    {
        var parser = new JinjaParser(source);
        parser.Lex();
        var body = parser.ParseBody([], out _);
        return body;
    }

    internal static string Where(string source, int pos)
    {
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < pos && i < source.Length; i++)
        {
            if (source[i] == '\n') { line++; lineStart = i + 1; }
        }
        return $"line {line}, column {pos - lineStart + 1}";
    }

    private ChatTemplateException Error(int pos, string message) => new($"chat template {Where(_src, pos)}: {message}");

    // ---- lexing: text, {{ }}, {% %}, {# #} ----

    private void Lex()
    {
        var i = 0;
        var lstripNext = false;
        while (i < _src.Length)
        {
            var open = NextOpen(i);
            var chunk = open < 0 ? _src[i..] : _src[i..open];
            if (lstripNext) { chunk = chunk.TrimStart(); }
            if (open < 0)
            {
                AddText(chunk, i);
                break;
            }
            var kind = _src[open + 1];
            var marker = open + 2 < _src.Length ? _src[open + 2] : ' ';
            if (marker == '-') { chunk = chunk.TrimEnd(); }
            else if (kind != '{' && marker != '+') { chunk = LstripBlock(chunk, i); }
            AddText(chunk, i);
            var start = open + 2 + (marker is '-' or '+' ? 1 : 0);
            bool closeMinus;
            if (kind == '#')
            {
                var close = _src.IndexOf("#}", start, StringComparison.Ordinal);
                if (close < 0) { throw Error(open, "comment '{#' is never closed with '#}'"); }
                closeMinus = close > start && _src[close - 1] == '-';
                i = close + 2;
            }
            else
            {
                var tokens = Tokenize(ref start, kind == '{' ? "}}" : "%}", open, out closeMinus);
                _segments.Add(new Segment(kind == '{' ? SegmentKind.Output : SegmentKind.Statement, "", tokens, open, start));
                i = start;
            }
            lstripNext = closeMinus;
            if (!closeMinus && kind != '{') { i = TrimBlock(i); }
        }
    }

    private int NextOpen(int from)
    {
        for (var i = _src.IndexOf('{', from); i >= 0 && i + 1 < _src.Length; i = _src.IndexOf('{', i + 1))
        {
            if (_src[i + 1] is '{' or '%' or '#') { return i; }
        }
        return -1;
    }

    private void AddText(string text, int pos)
    {
        if (text.Length > 0) { _segments.Add(new Segment(SegmentKind.Text, text, [], pos, pos)); }
    }

    // lstrip_blocks: spaces and tabs between the start of a line and a block tag are dropped.
    private string LstripBlock(string chunk, int chunkStart)
    {
        var lineStart = chunk.LastIndexOf('\n') + 1;
        if (lineStart == 0 && chunkStart > 0 && _src[chunkStart - 1] != '\n') { return chunk; }
        for (var j = lineStart; j < chunk.Length; j++)
        {
            if (chunk[j] is not (' ' or '\t')) { return chunk; }
        }
        return chunk[..lineStart];
    }

    // trim_blocks: the first newline after a block tag is dropped.
    private int TrimBlock(int i)
    {
        if (i < _src.Length && _src[i] == '\n') { return i + 1; }
        return i + 1 < _src.Length && _src[i] == '\r' && _src[i + 1] == '\n' ? i + 2 : i;
    }

    private List<Token> Tokenize(ref int i, string close, int open, out bool closeMinus)
    {
        var tokens = new List<Token>();
        while (true)
        {
            while (i < _src.Length && char.IsWhiteSpace(_src[i])) { i++; }
            if (i >= _src.Length) { throw Error(open, $"tag is never closed with '{close}'"); }
            if (_src[i] == '-' && string.CompareOrdinal(_src, i + 1, close, 0, 2) == 0)
            {
                closeMinus = true;
                i += 3;
                return tokens;
            }
            if (string.CompareOrdinal(_src, i, close, 0, 2) == 0)
            {
                closeMinus = false;
                i += 2;
                return tokens;
            }
            var c = _src[i];
            var start = i;
            if (char.IsLetter(c) || c == '_')
            {
                while (i < _src.Length && (char.IsLetterOrDigit(_src[i]) || _src[i] == '_')) { i++; }
                tokens.Add(new Token(Kind.Name, _src[start..i], null, start));
            }
            else if (char.IsAsciiDigit(c))
            {
                while (i < _src.Length && char.IsAsciiDigit(_src[i])) { i++; }
                var isFloat = i + 1 < _src.Length && _src[i] == '.' && char.IsAsciiDigit(_src[i + 1]);
                if (isFloat)
                {
                    i++;
                    while (i < _src.Length && char.IsAsciiDigit(_src[i])) { i++; }
                }
                var text = _src[start..i];
                object value = isFloat ? double.Parse(text, CultureInfo.InvariantCulture) : (object)long.Parse(text, CultureInfo.InvariantCulture);
                tokens.Add(new Token(Kind.Number, text, value, start));
            }
            else if (c is '\'' or '"')
            {
                tokens.Add(new Token(Kind.String, "string", ReadString(ref i), start));
            }
            else
            {
                var two = i + 1 < _src.Length ? _src.Substring(i, 2) : "";
                var op = two is "==" or "!=" or "<=" or ">=" or "//" ? two : "+-*/%~<>()[]{}.,:|=".Contains(c) ? c.ToString() : null;
                if (op is null) { throw Error(i, $"unexpected character '{c}' in a tag"); }
                tokens.Add(new Token(Kind.Op, op, null, start));
                i += op.Length;
            }
        }
    }

    private string ReadString(ref int i)
    {
        var quote = _src[i];
        var start = i++;
        var sb = new StringBuilder();
        while (i < _src.Length && _src[i] != quote)
        {
            var c = _src[i++];
            if (c != '\\') { sb.Append(c); continue; }
            if (i >= _src.Length) { break; }
            var e = _src[i++];
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case '0': sb.Append('\0'); break;
                case '\\' or '\'' or '"': sb.Append(e); break;
                case 'u' when i + 4 <= _src.Length && ushort.TryParse(_src.AsSpan(i, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var code):
                    sb.Append((char)code);
                    i += 4;
                    break;
                default: sb.Append('\\').Append(e); break; // Python keeps unknown escapes as written
            }
        }
        if (i >= _src.Length) { throw Error(start, "string literal is never closed"); }
        i++;
        return sb.ToString();
    }

    // ---- statements ----

    private List<JinjaNode> ParseBody(string[] terminators, out string terminator)
    {
        var nodes = new List<JinjaNode>();
        while (_seg < _segments.Count)
        {
            var seg = _segments[_seg++];
            if (seg.Kind == SegmentKind.Text)
            {
                nodes.Add(new TextNode(seg.Text));
                continue;
            }
            (_tokens, _at, _tagEnd) = (seg.Tokens, 0, seg.End);
            if (seg.Kind == SegmentKind.Output)
            {
                var value = ParseExpr();
                ExpectEnd();
                nodes.Add(new OutputNode(value));
                continue;
            }
            var keyword = Peek(Kind.Name) ? Next().Text : throw Error(seg.Pos, "a statement tag must start with a keyword (set, for, if)");
            if (terminators.Contains(keyword))
            {
                terminator = keyword;
                return nodes;
            }
            nodes.Add(keyword switch
            {
                "set" => ParseSet(),
                "for" => ParseFor(seg.Pos),
                "if" => ParseIf(),
                "endif" or "endfor" or "elif" or "else" => throw Error(seg.Pos, $"'{keyword}' without a matching opening statement"),
                _ => throw Error(seg.Pos, $"unsupported statement '{keyword}' (supported: set, for, if/elif/else)"),
            });
        }
        if (terminators.Length > 0) { throw Error(_src.Length, $"the template ends before '{{% {terminators[^1]} %}}'"); }
        terminator = "";
        return nodes;
    }

    private SetNode ParseSet()
    {
        var name = ExpectName();
        string? attribute = null;
        if (Accept("."))
        {
            attribute = ExpectName();
        }
        if (Peek(Kind.Op, ",")) { throw Error(Current.Pos, "tuple assignment 'set a, b = …' is not supported"); }
        if (AtEnd) { throw Error(_tagEnd, $"block assignment '{{% set {name} %}}…{{% endset %}}' is not supported; use 'set {name} = …'"); }
        Expect("=");
        var value = ParseExpr();
        ExpectEnd();
        return new SetNode(name, attribute, value);
    }

    private ForNode ParseFor(int pos)
    {
        List<string> targets = [ExpectName()];
        while (Accept(",")) { targets.Add(ExpectName()); }
        if (!Peek(Kind.Name, "in")) { throw Error(CurrentPos, "expected 'in' after the loop variable"); }
        _at++;
        var items = ParseOr();
        if (Peek(Kind.Name, "if")) { throw Error(Current.Pos, "loop filters 'for … in … if …' are not supported; put an if inside the loop"); }
        if (Peek(Kind.Name, "recursive")) { throw Error(Current.Pos, "recursive loops are not supported"); }
        ExpectEnd();
        var body = ParseBody(["else", "endfor"], out var end);
        List<JinjaNode> empty = [];
        if (end == "else")
        {
            ExpectEnd();
            empty = ParseBody(["endfor"], out _);
        }
        ExpectEnd();
        return new ForNode([.. targets], items, body, empty, pos);
    }

    private IfNode ParseIf()
    {
        var branches = new List<(JinjaExpr, List<JinjaNode>)>();
        var condition = ParseExpr();
        while (true)
        {
            ExpectEnd();
            var body = ParseBody(["elif", "else", "endif"], out var end);
            branches.Add((condition, body));
            if (end == "elif")
            {
                condition = ParseExpr();
                continue;
            }
            List<JinjaNode> otherwise = [];
            if (end == "else")
            {
                ExpectEnd();
                otherwise = ParseBody(["endif"], out _);
            }
            ExpectEnd();
            return new IfNode(branches, otherwise);
        }
    }

    // ---- expressions, in Jinja's precedence: if-else < or < and < not < compare/in < + - < ~ < * / // % < unary < postfix, filters, tests ----

    private JinjaExpr ParseExpr()
    {
        var value = ParseOr();
        if (!Peek(Kind.Name, "if")) { return value; }
        var pos = Next().Pos;
        var condition = ParseOr();
        JinjaExpr? otherwise = Accept(Kind.Name, "else") ? ParseExpr() : null;
        return new ConditionalExpr(value, condition, otherwise, pos);
    }

    private JinjaExpr ParseOr()
    {
        var left = ParseAnd();
        while (Accept(Kind.Name, "or")) { left = new LogicExpr(false, left, ParseAnd(), left.Pos); }
        return left;
    }

    private JinjaExpr ParseAnd()
    {
        var left = ParseNot();
        while (Accept(Kind.Name, "and")) { left = new LogicExpr(true, left, ParseNot(), left.Pos); }
        return left;
    }

    private JinjaExpr ParseNot()
    {
        if (Peek(Kind.Name, "not"))
        {
            var pos = Next().Pos;
            return new UnaryExpr("not", ParseNot(), pos);
        }
        return ParseCompare();
    }

    private JinjaExpr ParseCompare()
    {
        var left = ParseMath1();
        while (true)
        {
            var pos = CurrentPos;
            if (Current is { Kind: Kind.Op, Text: "==" or "!=" or "<" or ">" or "<=" or ">=" } op)
            {
                _at++;
                left = new BinaryExpr(op.Text, left, ParseMath1(), pos);
            }
            else if (Accept(Kind.Name, "in"))
            {
                left = new BinaryExpr("in", left, ParseMath1(), pos);
            }
            else if (Peek(Kind.Name, "not") && _at + 1 < _tokens.Count && _tokens[_at + 1] is { Kind: Kind.Name, Text: "in" })
            {
                _at += 2;
                left = new BinaryExpr("not in", left, ParseMath1(), pos);
            }
            else
            {
                return left;
            }
        }
    }

    private JinjaExpr ParseMath1() => ParseBinary(["+", "-"], ParseConcat);

    private JinjaExpr ParseConcat() => ParseBinary(["~"], ParseMath2);

    private JinjaExpr ParseMath2() => ParseBinary(["*", "/", "//", "%"], () => ParseUnary(withFilters: true));

    private JinjaExpr ParseBinary(string[] ops, Func<JinjaExpr> operand)
    {
        var left = operand();
        while (Current is { Kind: Kind.Op } op && ops.Contains(op.Text))
        {
            _at++;
            left = new BinaryExpr(op.Text, left, operand(), op.Pos);
        }
        return left;
    }

    private JinjaExpr ParseUnary(bool withFilters)
    {
        JinjaExpr value;
        if (Peek(Kind.Op, "-"))
        {
            var pos = Next().Pos;
            value = new UnaryExpr("-", ParseUnary(withFilters: false), pos);
        }
        else if (Accept("+"))
        {
            value = ParseUnary(withFilters: false);
        }
        else
        {
            value = ParsePostfix(ParsePrimary());
        }
        return withFilters ? ParseFilters(value) : value;
    }

    private JinjaExpr ParsePrimary()
    {
        if (AtEnd) { throw Error(_tagEnd, "expected an expression"); }
        var token = Next();
        switch (token.Kind)
        {
            case Kind.Number: return new LiteralExpr(token.Value, token.Pos);
            case Kind.String:
                var text = (string)token.Value!;
                while (Peek(Kind.String)) { text += (string)Next().Value!; } // adjacent literals concatenate
                return new LiteralExpr(text, token.Pos);
            case Kind.Name:
                switch (token.Text)
                {
                    case "true" or "True": return new LiteralExpr(true, token.Pos);
                    case "false" or "False": return new LiteralExpr(false, token.Pos);
                    case "none" or "None": return new LiteralExpr(null, token.Pos);
                }
                if (!Peek(Kind.Op, "(")) { return new NameExpr(token.Text, token.Pos); }
                if (!Functions.Contains(token.Text)) { throw Error(token.Pos, $"unsupported function '{token.Text}' (supported: {string.Join(", ", Functions)})"); }
                var (args, kwargs) = ParseArguments();
                return new CallExpr(token.Text, args, kwargs, token.Pos);
        }
        if (token.Text == "(")
        {
            var inner = ParseExpr();
            if (Peek(Kind.Op, ",")) { throw Error(Current.Pos, "tuples are not supported"); }
            Expect(")");
            return inner;
        }
        if (token.Text == "[")
        {
            var items = new List<JinjaExpr>();
            while (!Accept("]"))
            {
                if (items.Count > 0) { Expect(","); }
                if (Accept("]")) { break; }
                items.Add(ParseExpr());
            }
            return new ListExpr(items, token.Pos);
        }
        if (token.Text == "{")
        {
            var entries = new List<(JinjaExpr, JinjaExpr)>();
            while (!Accept("}"))
            {
                if (entries.Count > 0) { Expect(","); }
                if (Accept("}")) { break; }
                var key = ParseExpr();
                Expect(":");
                entries.Add((key, ParseExpr()));
            }
            return new DictExpr(entries, token.Pos);
        }
        throw Error(token.Pos, $"unexpected '{token.Text}' where an expression should start");
    }

    private JinjaExpr ParsePostfix(JinjaExpr value)
    {
        while (true)
        {
            if (Peek(Kind.Op, "."))
            {
                var pos = Next().Pos;
                var name = ExpectName();
                if (Peek(Kind.Op, "("))
                {
                    if (!Methods.Contains(name)) { throw Error(pos, $"unsupported method '.{name}(…)' (supported: {string.Join(", ", Methods)})"); }
                    var (args, kwargs) = ParseArguments();
                    value = new MethodExpr(value, name, args, kwargs, pos);
                }
                else
                {
                    value = new GetItemExpr(value, new LiteralExpr(name, pos), pos);
                }
            }
            else if (Peek(Kind.Op, "["))
            {
                var pos = Next().Pos;
                JinjaExpr? start = Peek(Kind.Op, ":") ? null : ParseExpr();
                if (Accept("]"))
                {
                    value = new GetItemExpr(value, start!, pos);
                    continue;
                }
                Expect(":");
                JinjaExpr? stop = Peek(Kind.Op, ":") || Peek(Kind.Op, "]") ? null : ParseExpr();
                JinjaExpr? step = Accept(":") && !Peek(Kind.Op, "]") ? ParseExpr() : null;
                Expect("]");
                value = new SliceExpr(value, start, stop, step, pos);
            }
            else if (Peek(Kind.Op, "("))
            {
                throw Error(Current.Pos, "only namespace(), range(), raise_exception() and the listed methods can be called");
            }
            else
            {
                return value;
            }
        }
    }

    private JinjaExpr ParseFilters(JinjaExpr value)
    {
        while (true)
        {
            if (Accept("|"))
            {
                var pos = CurrentPos;
                var name = ExpectName();
                if (!Filters.Contains(name)) { throw Error(pos, $"unsupported filter '|{name}' (supported: {string.Join(", ", Filters)})"); }
                var (args, kwargs) = Peek(Kind.Op, "(") ? ParseArguments() : ([], []);
                value = new FilterExpr(value, name, args, kwargs, pos);
            }
            else if (Peek(Kind.Name, "is"))
            {
                var pos = Next().Pos;
                var negate = Accept(Kind.Name, "not");
                var name = ExpectName();
                if (!Tests.Contains(name)) { throw Error(pos, $"unsupported test 'is {name}' (supported: {string.Join(", ", Tests)})"); }
                value = new TestExpr(value, name, negate, pos);
            }
            else
            {
                return value;
            }
        }
    }

    private (List<JinjaExpr> Args, List<(string, JinjaExpr)> Kwargs) ParseArguments()
    {
        Expect("(");
        var args = new List<JinjaExpr>();
        var kwargs = new List<(string, JinjaExpr)>();
        while (!Accept(")"))
        {
            if (args.Count + kwargs.Count > 0) { Expect(","); }
            if (Peek(Kind.Name) && _at + 1 < _tokens.Count && _tokens[_at + 1] is { Kind: Kind.Op, Text: "=" })
            {
                var name = Next().Text;
                _at++;
                kwargs.Add((name, ParseExpr()));
            }
            else
            {
                if (kwargs.Count > 0) { throw Error(CurrentPos, "a positional argument follows a keyword argument"); }
                args.Add(ParseExpr());
            }
        }
        return (args, kwargs);
    }

    // ---- token helpers ----

    private bool AtEnd => _at >= _tokens.Count;

    private Token Current => AtEnd ? new Token(Kind.Op, "end of tag", null, _tagEnd) : _tokens[_at];

    private int CurrentPos => Current.Pos;

    private Token Next()
    {
        if (AtEnd) { throw Error(_tagEnd, "the tag ends in the middle of an expression"); }
        return _tokens[_at++];
    }

    private bool Peek(Kind kind, string? text = null) => !AtEnd && _tokens[_at].Kind == kind && (text is null || _tokens[_at].Text == text);

    private bool Accept(string op) => Accept(Kind.Op, op);

    private bool Accept(Kind kind, string text)
    {
        if (!Peek(kind, text)) { return false; }
        _at++;
        return true;
    }

    private void Expect(string op)
    {
        if (!Accept(op)) { throw Error(CurrentPos, $"expected '{op}', found '{Current.Text}'"); }
    }

    private string ExpectName() => Peek(Kind.Name) ? Next().Text : throw Error(CurrentPos, $"expected a name, found '{Current.Text}'");

    private void ExpectEnd()
    {
        if (!AtEnd) { throw Error(CurrentPos, $"unexpected '{Current.Text}' (expected the end of the tag)"); }
    }
}
