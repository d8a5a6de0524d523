using System.Globalization;
using Quiver.Filtering;

namespace Quiver.Engine.Tests.Filtering;

public class FilterParserTests
{
    /// <summary>Renders a syntax tree fully parenthesized, so that tests can pin precedence and shape.</summary>
    private static string Show(SyntaxNode? n) => n switch
    {
        null => "<all>",
        LiteralSyntax { Value: string s } => $"'{s}'",
        LiteralSyntax { Value: bool b } => b ? "true" : "false",
        LiteralSyntax { Value: double d } => d.ToString("R", CultureInfo.InvariantCulture) + "d",
        LiteralSyntax l => Convert.ToString(l.Value, CultureInfo.InvariantCulture)!,
        ListSyntax l => "[" + string.Join(" ", l.Items.Select(Show)) + "]",
        ParamSyntax p => "{" + p.Name + "}",
        IdentifierSyntax i => i.Name,
        IndexSyntax ix => Show(ix.Target) + "[" + (ix.Key is string k ? $"'{k}'" : ix.Key.ToString()) + "]",
        UnarySyntax u => $"({u.Op} {Show(u.Operand)})",
        BinarySyntax b => $"({b.Op} {Show(b.Left)} {Show(b.Right)})",
        LogicSyntax l => $"({l.Op} " + string.Join(" ", l.Operands.Select(Show)) + ")",
        ParenSyntax p => Show(p.Inner),
        RangeSyntax r => $"(Range {Show(r.Lower)} {(r.LowerInclusive ? "<=" : "<")} {Show(r.Middle)} {(r.UpperInclusive ? "<=" : "<")} {Show(r.Upper)})",
        InSyntax i => $"({(i.Negated ? "NotIn" : "In")} {Show(i.Value)} {Show(i.List)})",
        LikeSyntax l => $"({(l.Negated ? "NotLike" : "Like")} {Show(l.Value)} {Show(l.Pattern)})",
        IsNullSyntax isn => $"({(isn.Negated ? "IsNotNull" : "IsNull")} {Show(isn.Value)})",
        CallSyntax c => $"{c.Name}(" + string.Join(" ", c.Args.Select(Show)) + ")",
        _ => throw new InvalidOperationException(n.GetType().Name),
    };

    private static string P(string text) => Show(FilterExpression.Parse(text).Root);

    [Theory]
    [InlineData("", "<all>")]
    [InlineData("  \t\n ", "<all>")]
    [InlineData("a == 1", "(Eq a 1)")]
    [InlineData("a != -1", "(Ne a -1)")]
    [InlineData("a < 1.5", "(Lt a 1.5d)")]
    [InlineData("a <= 1e3", "(Le a 1000d)")]
    [InlineData("a > .5", "(Gt a 0.5d)")]
    [InlineData("a >= 2.5E-1", "(Ge a 0.25d)")]
    [InlineData("a == -9223372036854775808", "(Eq a -9223372036854775808)")]
    [InlineData("a == 9223372036854775807", "(Eq a 9223372036854775807)")]
    [InlineData("a == \"x\"", "(Eq a 'x')")]
    [InlineData("a == 'x'", "(Eq a 'x')")]
    [InlineData("a == true", "(Eq a true)")]
    [InlineData("a == True", "(Eq a true)")]
    [InlineData("a == FALSE", "(Eq a false)")]
    [InlineData("5 < a", "(Lt 5 a)")]
    [InlineData("1 < a < 5", "(Range 1 < a < 5)")]
    [InlineData("1 <= a < 5", "(Range 1 <= a < 5)")]
    [InlineData("5 > a >= 1", "(Range 1 <= a < 5)")]
    [InlineData("5 >= a > 1", "(Range 1 < a <= 5)")]
    [InlineData("a and b or c", "(Or (And a b) c)")]
    [InlineData("a or b and c", "(Or a (And b c))")]
    [InlineData("a && b || c", "(Or (And a b) c)")]
    [InlineData("a AND b Or c", "(Or (And a b) c)")]
    [InlineData("not a and b", "(And (Not a) b)")]
    [InlineData("not a == 1", "(Not (Eq a 1))")]
    [InlineData("!a == 1", "(Not (Eq a 1))")]
    [InlineData("NOT (a or b)", "(Not (Or a b))")]
    [InlineData("not not a", "(Not (Not a))")]
    [InlineData("((a))", "a")]
    [InlineData("a in [1, 2, 3]", "(In a [1 2 3])")]
    [InlineData("a IN [\"x\",\"y\",]", "(In a ['x' 'y'])")]
    [InlineData("a in []", "(In a [])")]
    [InlineData("a not in [1]", "(NotIn a [1])")]
    [InlineData("a NOT IN {xs}", "(NotIn a {xs})")]
    [InlineData("a like \"Star%\"", "(Like a 'Star%')")]
    [InlineData("a LIKE 'x\\%'", "(Like a 'x\\%')")]
    [InlineData("a not like 'x'", "(NotLike a 'x')")]
    [InlineData("a like {p}", "(Like a {p})")]
    [InlineData("a is null", "(IsNull a)")]
    [InlineData("a IS NOT NULL", "(IsNotNull a)")]
    [InlineData("a + b * c == 1", "(Eq (Add a (Mul b c)) 1)")]
    [InlineData("(a + b) * c == 1", "(Eq (Mul (Add a b) c) 1)")]
    [InlineData("a - b - c == 1", "(Eq (Sub (Sub a b) c) 1)")]
    [InlineData("a / b % c == 1", "(Eq (Mod (Div a b) c) 1)")]
    [InlineData("a ** 2 ** 3 == 1", "(Eq (Pow a (Pow 2 3)) 1)")]
    [InlineData("-a ** 2 == 1", "(Eq (Negate (Pow a 2)) 1)")]
    [InlineData("-2 ** 2 == 1", "(Eq (Negate (Pow 2 2)) 1)")]
    [InlineData("a * -2 > 1", "(Gt (Mul a -2) 1)")]
    [InlineData("a - -2 > 1", "(Gt (Sub a -2) 1)")]
    [InlineData("+a > 1", "(Gt (Plus a) 1)")]
    [InlineData("a * 2 > b + 1", "(Gt (Mul a 2) (Add b 1))")]
    [InlineData("m[\"a\"][\"b\"] == 1", "(Eq m['a']['b'] 1)")]
    [InlineData("m['a'][0] > 2", "(Gt m['a'][0] 2)")]
    [InlineData("$meta[\"c\"] == 1", "(Eq $meta['c'] 1)")]
    [InlineData("json_contains(m, 1)", "json_contains(m 1)")]
    [InlineData("JSON_CONTAINS_ALL(m[\"x\"], [1, \"a\"])", "JSON_CONTAINS_ALL(m['x'] [1 'a'])")]
    [InlineData("array_length(t) == 3", "(Eq array_length(t) 3)")]
    [InlineData("f()", "f()")]
    [InlineData("a > {min} and c in {cats}", "(And (Gt a {min}) (In c {cats}))")]
    [InlineData("a == [1, [2, 3]]", "(Eq a [1 [2 3]])")]
    [InlineData("_x1 == 1", "(Eq _x1 1)")]
    public void Parse_Constructs(string text, string expected) => Assert.Equal(expected, P(text));

    [Theory]
    [InlineData("a == \"q\\\"q\"", "q\"q")]
    [InlineData("a == 'q\\'q'", "q'q")]
    [InlineData("a == 'q\"q'", "q\"q")]
    [InlineData("a == \"b\\\\s\"", "b\\s")]
    [InlineData("a == \"l1\\nl2\\tx\"", "l1\nl2\tx")]
    [InlineData("a == \"\\u00e9\\u4E2D\"", "é中")]
    [InlineData("a == \"50\\%\"", "50\\%")]
    [InlineData("a == \"a\\_b\"", "a\\_b")]
    [InlineData("a == \"é 中\"", "é 中")]
    public void Parse_StringEscapes(string text, string expected)
    {
        var root = (BinarySyntax)FilterExpression.Parse(text).Root!;
        Assert.Equal(expected, ((LiteralSyntax)root.Right).Value);
    }

    [Theory]
    [InlineData("a >", 3, null)]
    [InlineData("a == 1 and", 10, null)]
    [InlineData("not", 3, null)]
    [InlineData("a == 'abc", 5, "'abc")]
    [InlineData("a == \"abc\\\"", 5, "\"abc\\\"")]
    [InlineData("(a == 1", 0, "(")]
    [InlineData("((a == 1)", 0, "(")]
    [InlineData("a == 1)", 6, ")")]
    [InlineData("(a == 1))", 8, ")")]
    [InlineData("()", 1, ")")]
    [InlineData("a == ()", 6, ")")]
    [InlineData("a == 1 b", 7, "b")]
    [InlineData("a == 1 2", 7, "2")]
    [InlineData("a b", 2, "b")]
    [InlineData("a == 12abc", 5, "12abc")]
    [InlineData("a == 1.2.3", 5, "1.2.3")]
    [InlineData("a == 1e", 5, "1e")]
    [InlineData("a == 1e+", 5, "1e+")]
    [InlineData("a == 1e999", 5, "1e999")]
    [InlineData("a == 99999999999999999999", 5, "99999999999999999999")]
    [InlineData("a == 9223372036854775808", 5, "9223372036854775808")]
    [InlineData("a = 1", 2, "=")]
    [InlineData("a == #", 5, "#")]
    [InlineData("a & b", 2, "&")]
    [InlineData("a | b", 2, "|")]
    [InlineData("a == 'x\\q'", 7, "\\q")]
    [InlineData("a == '\\u12'", 6, "\\u12'")]
    [InlineData("a == {x", 5, "{x")]
    [InlineData("a == {}", 5, "{}")]
    [InlineData("a == {1x}", 5, "{1x}")]
    [InlineData("a in 5", 5, "5")]
    [InlineData("a in [1, 2", 5, "[")]
    [InlineData("a in [1 2]", 8, "2")]
    [InlineData("a like 5", 7, "5")]
    [InlineData("a like b", 7, "b")]
    [InlineData("a is 5", 5, "5")]
    [InlineData("a is not 5", 9, "5")]
    [InlineData("1 < a > 5", 6, ">")]
    [InlineData("1 < a == 5", 6, "==")]
    [InlineData("1 < a < 5 < 6", 10, "<")]
    [InlineData("m[1.5] == 1", 2, "1.5")]
    [InlineData("m[a] == 1", 2, "a")]
    [InlineData("m['a' == 1", 6, "==")]
    [InlineData("m['a'", 1, "[")]
    [InlineData("f(1,", 4, null)]
    [InlineData("f(1", 1, "(")]
    [InlineData("f(1 2)", 4, "2")]
    [InlineData("and", 0, "and")]
    [InlineData("a == == 1", 5, "==")]
    [InlineData("a in [1] in [2]", 9, "in")]
    public void Parse_Errors_NameTokenAndPosition(string text, int position, string? token)
    {
        var ex = Assert.Throws<FilterException>(() => FilterExpression.Parse(text));
        Assert.Equal(position, ex.Position);
        Assert.Equal(token, ex.Token);
        Assert.Equal(QuiverErrorCode.BadFilter, ex.Code);
        Assert.Contains($"position {position}", ex.Message, StringComparison.Ordinal);
    }
}
