using System.Globalization;
using System.Text;

namespace Quiver.Server.Tests.Fuzz;

/// <summary>Random values that sit on edges: names with odd characters, integers at type limits, non-finite floats,
/// long strings and filter expressions. Nesting is kept at or below <see cref="MaxNesting"/> (deeper filters and JSON
/// values are another change's limits).</summary>
internal static class FuzzValues
{
    /// <summary>The deepest nesting the generators build in filters and JSON values.</summary>
    public const int MaxNesting = 20;

    private static readonly string[] _oddNames =
    [
        "", " ", "a", "_", "_x", "1abc", "a-b", "a b", "名前", "a\u0000b", "$meta", "count(*)", "*", "default", "fz_all",
        "../x", "a.b", "%s", "\"", "'", "\t", "A_Z_09", "\u00e9t\u00e9", "emoji\U0001F600", "x;drop", "\\", "a/b",
        new string('n', 255), new string('n', 256), new string('m', 4_000),
    ];

    private static readonly string[] _fieldNames =
        ["id", "vec", "b", "i8", "i16", "i32", "i64", "f", "d", "s", "j", "ai", "as", "pk", "emb", "n", "tag", "v", "$meta", "dyn", "nope", "count(*)", "*", ""];

    public static T Pick<T>(this Random r, IReadOnlyList<T> items) => items[r.Next(items.Count)];

    public static bool Chance(this Random r, double p) => r.NextDouble() < p;

    /// <summary>A name from the odd pool, a fixture name or a short random identifier.</summary>
    public static string Name(Random r) => r.Next(4) switch
    {
        0 => r.Pick(_oddNames),
        1 => r.Pick(FuzzCollection.Fixtures).Name,
        2 => "fzc" + r.Next(4).ToString(CultureInfo.InvariantCulture),
        _ => Word(r, r.Next(1, 12)),
    };

    /// <summary>A name for objects the fuzzer may create and drop freely (small pool, so the catalog stays bounded).</summary>
    public static string PoolName(Random r, string prefix) =>
        r.Chance(0.8) ? prefix + r.Next(3).ToString(CultureInfo.InvariantCulture) : Name(r);

    public static string FieldName(Random r) => r.Chance(0.85) ? r.Pick(_fieldNames) : Name(r);

    public static string Word(Random r, int length)
    {
        const string Letters = "abcdefghijklmnopqrstuvwxyz_0123456789";
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = Letters[r.Next(i == 0 ? 27 : Letters.Length)];
        }
        return new string(chars);
    }

    public static long Long(Random r) => r.Next(10) switch
    {
        0 => long.MaxValue,
        1 => long.MinValue,
        2 => int.MaxValue,
        3 => int.MinValue,
        4 => -1,
        5 => 0,
        6 => 16_384 + r.Next(-2, 3),
        7 => (1L << 53) + 1,
        _ => r.NextInt64(-1000, 1000),
    };

    public static int Int(Random r) => r.Next(8) switch
    {
        0 => int.MaxValue,
        1 => int.MinValue,
        2 => -1,
        3 => 0,
        4 => 16_384 + r.Next(-2, 3),
        5 => 65_536,
        _ => r.Next(-10, 300),
    };

    public static double Double(Random r) => r.Next(12) switch
    {
        0 => double.NaN,
        1 => double.PositiveInfinity,
        2 => double.NegativeInfinity,
        3 => double.MaxValue,
        4 => double.Epsilon,
        5 => -0.0,
        6 => 3.4e38 * 10,
        _ => (r.NextDouble() * 200) - 100,
    };

    public static float Float(Random r) => r.Chance(0.2) ? (float)Double(r) : (float)((r.NextDouble() * 2) - 1);

    /// <summary>Integer-ish text that a parser may or may not accept.</summary>
    public static string NumberText(Random r) => r.Next(10) switch
    {
        0 => "",
        1 => "abc",
        2 => "1.5",
        3 => "1e400",
        4 => "-0",
        5 => "99999999999999999999",
        6 => " 7 ",
        7 => "0x10",
        8 => Double(r).ToString(CultureInfo.InvariantCulture),
        _ => Long(r).ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>A string: short, at the VarChar edges, over them, or with characters that need escaping.</summary>
    public static string Text(Random r) => r.Next(10) switch
    {
        0 => "",
        1 => new string('x', 8),
        2 => new string('x', 17),
        3 => new string('y', r.Next(100, 70_000)),
        4 => "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9",
        5 => "quote\"back\\slash\nnl\u0000nul",
        6 => "\U0001F600\U0001F600\U0001F600",
        _ => Word(r, r.Next(1, 10)),
    };

    /// <summary>JSON text: valid documents of every kind (objects nested up to <see cref="MaxNesting"/>), and invalid
    /// text.</summary>
    public static string JsonText(Random r) => r.Next(12) switch
    {
        0 => "",
        1 => "{",
        2 => "null",
        3 => "[1,2,3]",
        4 => "\"str\"",
        5 => "1e400",
        6 => "{\"a\":1,\"a\":2}",
        7 => Nested(r.Next(1, MaxNesting + 1), r.Chance(0.5)),
        8 => "{\"k\":\"" + new string('z', r.Next(1, 5000)) + "\"}",
        9 => "{\"id\":1,\"vec\":[1,2],\"s\":\"x\"}",
        _ => "{\"a\":" + r.Next(-5, 50).ToString(CultureInfo.InvariantCulture) + ",\"b\":\"" + Word(r, 3) + "\",\"c\":[1,2]}",
    };

    /// <summary>JSON nested <paramref name="depth"/> levels (objects or arrays).</summary>
    public static string Nested(int depth, bool objects)
    {
        var text = new StringBuilder();
        for (var i = 0; i < depth; i++)
        {
            text.Append(objects ? "{\"a\":" : "[");
        }
        text.Append('1');
        for (var i = 0; i < depth; i++)
        {
            text.Append(objects ? '}' : ']');
        }
        return text.ToString();
    }

    private static readonly string[] _comparisons = ["==", "!=", "<", "<=", ">", ">=", "=", "===", "<>", "in", "like"];

    private static readonly string[] _atoms =
    [
        "id", "i8", "i16", "i32", "i64", "f", "d", "s", "b", "j[\"a\"]", "j['a']['b']", "ai[0]", "as[1]", "dyn", "$meta[\"x\"]",
        "pk", "n", "tag", "nope", "vec", "1", "1.5", "\"x\"", "true", "null", "{tpl}", "[1,2]", "ai", "as", "j",
    ];

    /// <summary>A filter expression over the fixtures' fields: valid and invalid constructs, nesting at most
    /// <see cref="MaxNesting"/>.</summary>
    public static string Filter(Random r) => r.Next(20) switch
    {
        0 => "",
        1 => Garbage(r),
        2 => new string('(', r.Next(1, MaxNesting + 1)) + "id > 0" + new string(')', r.Next(0, MaxNesting + 1)),
        3 => "id in [" + string.Join(",", Enumerable.Range(0, r.Next(0, 50)).Select(_ => Long(r).ToString(CultureInfo.InvariantCulture))) + "]",
        4 => "s like \"" + r.Pick(["%", "a%", "%a", "_", "%%%", "\\%", "[", "a%b%c"]) + "\"",
        5 => r.Pick(["array_contains(ai, 1)", "array_contains_all(ai, [1,2])", "array_contains_any(as, [\"a\"])", "array_length(ai) > 1",
            "json_contains(j[\"c\"], 1)", "exists j[\"a\"]", "i32 is null", "d is not null", "not (b == true)", "id % 0 == 1",
            "i64 / 0 > 1", "f ** 2 > 1", "-(-(-i8)) < 1", "i8 + 1000 > 0", "text_match(s, \"a\")", "random_sample(0.5)"]),
        _ => Expr(r, r.Next(1, 6)),
    };

    private static string Expr(Random r, int depth)
    {
        if (depth <= 1)
        {
            return r.Pick(_atoms) + " " + r.Pick(_comparisons) + " " + r.Pick(_atoms);
        }
        return r.Next(4) switch
        {
            0 => "(" + Expr(r, depth - 1) + ")",
            1 => "not " + Expr(r, depth - 1),
            _ => Expr(r, depth - 1) + (r.Chance(0.5) ? " and " : " or ") + Expr(r, 1),
        };
    }

    private static string Garbage(Random r)
    {
        const string Chars = "()[]{}\"'\\+-*/%<>=!&|^~ ,.:;$#@?abcxyz0123456789\u0000\u00e9";
        var chars = new char[r.Next(1, 40)];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = Chars[r.Next(Chars.Length)];
        }
        return new string(chars);
    }
}
