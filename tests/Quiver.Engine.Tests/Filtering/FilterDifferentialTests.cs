using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Quiver.Engine.Tests.Filtering;

/// <summary>Random expressions over random rows, evaluated by the column-wise engine and by a small per-row reference
/// interpreter written independently here (BigInteger for exact long/double comparisons, Regex for LIKE, checked
/// arithmetic), which must agree on every row.</summary>
public class FilterDifferentialTests
{
    private static readonly string[] Titles = ["Star Wars", "Star Trek", "star", "Dune", "The Star", "", "a_b", "50% off", "zeta"];
    private static readonly string[] Patterns = ["Star%", "%Star", "%tar%", "star", "S%s", "_tar%", "%\\%%", "a\\_b", "%", "", "D_n_", "%a%b%"];
    private static readonly string[] Tags = ["a", "b", "c", "d"];
    private static readonly string[] Colors = ["red", "blue", "Red"];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Evaluate_MatchesReferenceInterpreter(int seed)
    {
        var rng = new Random(seed);
        var rows = Enumerable.Range(0, 300).Select(i => RandomRow(rng, i)).ToList();
        var source = new InMemoryRowSource(FilterFixture.Schema(), rows);
        var generator = new ExpressionGenerator(rng);
        for (var iteration = 0; iteration < 400; iteration++)
        {
            var expr = generator.Predicate(3);
            var text = expr.Text;
            int[] actual;
            try
            {
                actual = source.Matches(text);
            }
            catch (FilterException ex)
            {
                Assert.Fail($"`{text}` failed: {ex.Message}");
                return;
            }

            var expected = Enumerable.Range(0, rows.Count).Where(r => expr.Eval(rows[r]) == true).ToArray();
            if (!expected.SequenceEqual(actual))
            {
                var diff = expected.Except(actual).Concat(actual.Except(expected)).First();
                Assert.Fail($"seed {seed}, `{text}`: row {diff} differs (reference {expr.Eval(rows[diff])?.ToString() ?? "unknown"}); row = {JsonSerializer.Serialize(rows[diff])}");
            }
        }
    }

    /// <summary>The same random expressions answered from scalar indexes as row lists (every leaf that has an index,
    /// however many rows it lists), wherever the whole expression can be: the lists, their complements and their merges
    /// must give the reference interpreter's rows.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void EvaluateSparse_MatchesReferenceInterpreter(int seed)
    {
        var rng = new Random(seed);
        var rows = Enumerable.Range(0, 300).Select(i => RandomRow(rng, i)).ToList();
        var source = new InMemoryRowSource(FilterFixture.Schema(), rows) { Indexes = new Quiver.Filtering.ScalarIndexes() };
        var generator = new ExpressionGenerator(rng);
        var answered = 0;
        for (var iteration = 0; iteration < 400; iteration++)
        {
            var expr = generator.Predicate(3);
            var set = Quiver.Filtering.FilterExpression.Parse(expr.Text).Bind(source.Schema, null).EvaluateSparse(source, limit: int.MaxValue);
            if (set is null)
            {
                continue;
            }

            answered++;
            var expected = Enumerable.Range(0, rows.Count).Where(r => expr.Eval(rows[r]) == true).ToArray();
            var actual = Enumerable.Range(0, rows.Count).Where(set.Contains).ToArray();
            Assert.True(expected.SequenceEqual(actual), $"seed {seed}, `{expr.Text}`: row lists give [{string.Join(",", actual)}], reference [{string.Join(",", expected)}]");
            Assert.Equal(expected.Length, set.Count);
            var bits = new int[set.Count];
            Assert.Equal(set.Count, set.ToBitmap().CopySetBits(bits));
            Assert.Equal(expected, bits);
        }

        Assert.True(answered >= 20, $"seed {seed}: only {answered} of 400 expressions were answered from the indexes");
    }

    internal static Dictionary<string, object?> RandomRow(Random rng, int id)
    {
        T Pick<T>(T[] xs) => xs[rng.Next(xs.Length)];
        bool Maybe(double p) => rng.NextDouble() < p;
        var row = new Dictionary<string, object?>
        {
            ["id"] = (long)id,
            ["age"] = Maybe(0.15) ? null : rng.Next(-20, 101),
            ["big"] = Maybe(0.1) ? Pick(new[] { long.MaxValue, long.MinValue, long.MaxValue - 1, 9007199254740993L }) : (long)rng.Next(-1000, 1001),
            ["price"] = Maybe(0.15) ? null : rng.Next(-20, 200) * 0.5,
            ["score"] = rng.Next(-40, 40) * 0.25,
            ["title"] = Maybe(0.15) ? null : Pick(Titles),
            ["active"] = Maybe(0.2) ? null : Maybe(0.5),
            ["tags"] = JsonSerializer.Serialize(Enumerable.Range(0, rng.Next(5)).Select(_ => Pick(Tags)).ToArray()),
            ["nums"] = Maybe(0.15) ? null : JsonSerializer.Serialize(Enumerable.Range(0, rng.Next(4)).Select(_ => rng.Next(0, 5)).ToArray()),
        };
        if (!Maybe(0.1))
        {
            var meta = new Dictionary<string, object>();
            switch (rng.Next(5))
            {
                case 0: meta["n"] = rng.Next(-5, 50); break;
                case 1: meta["n"] = rng.Next(-10, 100) * 0.5; break;
                case 2: meta["n"] = "text"; break;
                case 3: meta["n"] = rng.Next(2) == 0; break;
                default: break;
            }

            meta["s"] = Pick(Colors);
            row["meta"] = JsonSerializer.Serialize(meta);
        }
        else
        {
            row["meta"] = null;
        }

        if (!Maybe(0.3))
        {
            row["color"] = Pick(Colors);
        }

        return row;
    }

    /// <summary>A generated expression: its text and its reference meaning (null = unknown).</summary>
    internal sealed record Pred(string Text, Func<IReadOnlyDictionary<string, object?>, bool?> Eval);

    /// <summary>A generated numeric value: text, reference value (long, double or null), and whether it is a constant.</summary>
    internal sealed record Num(string Text, Func<IReadOnlyDictionary<string, object?>, object?> Eval, bool IsConst);

    internal sealed class ExpressionGenerator(Random rng)
    {
        private T Pick<T>(T[] xs) => xs[rng.Next(xs.Length)];

        public Pred Predicate(int depth)
        {
            var k = rng.Next(depth > 0 ? 14 : 10);
            switch (k)
            {
                case 0:
                case 1:
                {
                    var op = Pick(new[] { "==", "!=", "<", "<=", ">", ">=" });
                    var a = NumExpr(2);
                    var b = rng.Next(3) == 0 ? NumExpr(1) : Const();
                    if (a.IsConst && b.IsConst)
                    {
                        a = Field();
                    }

                    if (rng.Next(4) == 0)
                    {
                        (a, b) = (b, a);
                    }

                    return new Pred($"{a.Text} {op} {b.Text}", r => CompareValues(op, a.Eval(r), b.Eval(r)));
                }

                case 2:
                {
                    var lo = rng.Next(-30, 60);
                    var hi = lo + rng.Next(0, 60);
                    var f = Field();
                    var op1 = Pick(new[] { "<", "<=" });
                    var op2 = Pick(new[] { "<", "<=" });
                    if (rng.Next(2) == 0)
                    {
                        return new Pred($"{lo} {op1} {f.Text} {op2} {hi}", r => And(CompareValues(op1, (long)lo, f.Eval(r)), CompareValues(op2, f.Eval(r), (long)hi)));
                    }

                    var g1 = op2.Replace('<', '>');
                    var g2 = op1.Replace('<', '>');
                    return new Pred($"{hi} {g1} {f.Text} {g2} {lo}", r => And(CompareValues(op1, (long)lo, f.Eval(r)), CompareValues(op2, f.Eval(r), (long)hi)));
                }

                case 3:
                {
                    var f = Field();
                    var items = Enumerable.Range(0, rng.Next(4)).Select(_ => Const()).ToArray();
                    var negated = rng.Next(3) == 0;
                    var text = $"{f.Text} {(negated ? "not in" : "in")} [{string.Join(", ", items.Select(i => i.Text))}]";
                    return new Pred(text, r =>
                    {
                        var v = f.Eval(r);
                        if (v is null)
                        {
                            return null;
                        }

                        var hit = items.Any(i => CompareValues("==", v, i.Eval(r)) == true);
                        return negated ? !hit : hit;
                    });
                }

                case 4:
                {
                    var (name, get) = StringSource();
                    var pattern = Pick(Patterns);
                    var regex = LikeRegex(pattern);
                    return new Pred($"{name} like \"{pattern.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\\\\%", "\\%", StringComparison.Ordinal).Replace("\\\\_", "\\_", StringComparison.Ordinal)}\"", r =>
                    {
                        var v = get(r);
                        return v is null ? null : v is string s && regex.IsMatch(s);
                    });
                }

                case 5:
                {
                    var (name, get) = Pick(new (string, Func<IReadOnlyDictionary<string, object?>, object?>)[]
                    {
                        ("age", r => r["age"]),
                        ("price", r => r["price"]),
                        ("title", r => r["title"]),
                        ("active", r => r["active"]),
                        ("meta", r => r["meta"]),
                        ("nums", r => r["nums"]),
                        ("color", r => r.GetValueOrDefault("color")),
                        ("meta[\"n\"]", r => MetaN(r)),
                    });
                    var not = rng.Next(2) == 0;
                    return new Pred($"{name} is {(not ? "not " : "")}null", r => (get(r) is null) != not);
                }

                case 6:
                {
                    var form = rng.Next(3);
                    var value = rng.Next(2) == 0;
                    var text = form switch
                    {
                        0 => "active",
                        1 => $"active == {(value ? "true" : "FALSE")}",
                        _ => $"active != {(value ? "True" : "false")}",
                    };
                    return new Pred(text, r => r["active"] is bool b ? form switch
                    {
                        0 => b,
                        1 => b == value,
                        _ => b != value,
                    } : null);
                }

                case 7:
                {
                    var (name, get) = StringSource();
                    var op = Pick(new[] { "==", "!=", "<", "<=", ">", ">=" });
                    var c = Pick(Titles.Concat(Colors).ToArray());
                    return new Pred($"{name} {op} \"{c}\"", r => CompareValues(op, get(r), c));
                }

                case 8:
                {
                    var items = Enumerable.Range(0, rng.Next(3)).Select(_ => Pick(Tags)).ToArray();
                    var fn = Pick(new[] { "array_contains", "ARRAY_CONTAINS_ALL", "array_contains_any" });
                    var all = fn.EndsWith("ALL", StringComparison.Ordinal);
                    if (fn == "array_contains")
                    {
                        items = [Pick(Tags)];
                    }

                    var arg = fn == "array_contains" ? $"\"{items[0]}\"" : "[" + string.Join(", ", items.Select(t => $"\"{t}\"")) + "]";
                    return new Pred($"{fn}(tags, {arg})", r =>
                    {
                        var tags = JsonSerializer.Deserialize<string[]>((string)r["tags"]!)!;
                        return all ? items.All(tags.Contains) : items.Any(tags.Contains);
                    });
                }

                case 9:
                {
                    var op = Pick(new[] { "==", "!=", "<", ">=" });
                    var n = rng.Next(0, 4);
                    return new Pred($"array_length(nums) {op} {n}", r =>
                        CompareValues(op, r["nums"] is string s ? (long)JsonSerializer.Deserialize<int[]>(s)!.Length : null, (long)n));
                }

                case 10:
                case 11:
                {
                    var a = Predicate(depth - 1);
                    var b = Predicate(depth - 1);
                    var and = k == 10;
                    var op = and ? Pick(new[] { "and", "&&", "AND" }) : Pick(new[] { "or", "||", "OR" });
                    return new Pred($"({a.Text}) {op} ({b.Text})", r => and ? And(a.Eval(r), b.Eval(r)) : Or(a.Eval(r), b.Eval(r)));
                }

                case 12:
                {
                    var a = Predicate(depth - 1);
                    var op = Pick(new[] { "not ", "!", "NOT " });
                    return new Pred($"{op}({a.Text})", r => a.Eval(r) is { } v ? !v : null);
                }

                default:
                {
                    var a = Predicate(depth - 1);
                    var b = Predicate(depth - 1);
                    var c = Predicate(depth - 1);
                    return new Pred($"({a.Text}) or ({b.Text}) and not ({c.Text})", r => Or(a.Eval(r), And(b.Eval(r), Not(c.Eval(r)))));
                }
            }
        }

        private (string Name, Func<IReadOnlyDictionary<string, object?>, object?> Get) StringSource() => rng.Next(4) switch
        {
            0 => ("color", r => r.GetValueOrDefault("color")),
            1 => ("meta[\"s\"]", r => r["meta"] is string m && JsonDocument.Parse(m).RootElement.TryGetProperty("s", out var s) ? s.GetString() : null),
            _ => ("title", r => r["title"]),
        };

        private Num Field() => rng.Next(6) switch
        {
            0 => new Num("age", r => r["age"] is int a ? (long)a : null, false),
            1 => new Num("big", r => r["big"], false),
            2 => new Num("price", r => r["price"], false),
            3 => new Num("score", r => (double)(float)(double)r["score"]!, false),
            4 => new Num("meta[\"n\"]", MetaN, false),
            _ => new Num("array_length(tags)", r => (long)JsonSerializer.Deserialize<string[]>((string)r["tags"]!)!.Length, false),
        };

        private Num Const()
        {
            switch (rng.Next(5))
            {
                case 0:
                {
                    var d = rng.Next(-40, 200) * 0.25;
                    return new Num(d.ToString("0.0##", CultureInfo.InvariantCulture), _ => d, true);
                }

                case 1:
                {
                    var l = Pick(new[] { long.MaxValue, long.MinValue, 9007199254740992L, 9007199254740993L, 0L });
                    return new Num(l.ToString(CultureInfo.InvariantCulture), _ => l, true);
                }

                default:
                {
                    long l = rng.Next(-25, 120);
                    return new Num(l.ToString(CultureInfo.InvariantCulture), _ => l, true);
                }
            }
        }

        private static Num Parenthesize(Num n) => n.IsConst && n.Text.StartsWith('-') ? n with { Text = $"({n.Text})" } : n;

        private Num NumExpr(int depth)
        {
            if (depth == 0 || rng.Next(3) != 0)
            {
                return rng.Next(4) == 0 ? Const() : Field();
            }

            // Unary minus binds looser than ** (as in Python and Milvus), so a negative constant operand is parenthesized.
            var a = Parenthesize(NumExpr(depth - 1));
            var b = Parenthesize(NumExpr(depth - 1));
            var op = Pick(new[] { "+", "-", "*", "/", "%", "**" });
            if (op == "**")
            {
                long exponent = rng.Next(0, 3);
                b = new Num(exponent.ToString(CultureInfo.InvariantCulture), _ => exponent, true);
            }

            return new Num($"({a.Text} {op} {b.Text})", r => Arith(op, a.Eval(r), b.Eval(r)), a.IsConst && b.IsConst);
        }
    }

    private static object? MetaN(IReadOnlyDictionary<string, object?> r)
    {
        if (r["meta"] is not string m || !JsonDocument.Parse(m).RootElement.TryGetProperty("n", out var n))
        {
            return null;
        }

        return n.ValueKind switch
        {
            JsonValueKind.Number => n.TryGetInt64(out var l) ? (object)l : n.GetDouble(),
            JsonValueKind.String => n.GetString(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => null,
        };
    }

    private static bool? And(bool? a, bool? b) => a == false || b == false ? false : a == true && b == true ? true : null;

    private static bool? Or(bool? a, bool? b) => a == true || b == true ? true : a == false && b == false ? false : null;

    private static bool? Not(bool? a) => a is { } v ? !v : null;

    private static object? Arith(string op, object? a, object? b)
    {
        if (a is not (long or double) || b is not (long or double))
        {
            return null;
        }

        if (a is long x && b is long y && op != "**")
        {
            try
            {
                return op switch
                {
                    "+" => checked(x + y),
                    "-" => checked(x - y),
                    "*" => checked(x * y),
                    "/" => y == 0 ? null : checked(x / y),
                    _ => y == 0 ? null : y == -1 ? 0L : x % y,
                };
            }
            catch (OverflowException)
            {
                return null;
            }
        }

        var dx = Convert.ToDouble(a, CultureInfo.InvariantCulture);
        var dy = Convert.ToDouble(b, CultureInfo.InvariantCulture);
        var d = op switch
        {
            "+" => dx + dy,
            "-" => dx - dy,
            "*" => dx * dy,
            "/" => dy == 0 ? double.NaN : dx / dy,
            "%" => dy == 0 ? double.NaN : dx % dy,
            _ => Math.Pow(dx, dy),
        };
        return double.IsNaN(d) ? null : d;
    }

    /// <summary>Reference comparison: null is unknown; numbers exactly (as rationals); strings ordinally; bools by ==/!=;
    /// different kinds are unequal and unordered.</summary>
    private static bool? CompareValues(string op, object? a, object? b)
    {
        if (a is null || b is null)
        {
            return null;
        }

        int sign;
        if (a is long or double && b is long or double)
        {
            if (a is double da && double.IsInfinity(da) || b is double db && double.IsInfinity(db))
            {
                sign = Convert.ToDouble(a, CultureInfo.InvariantCulture).CompareTo(Convert.ToDouble(b, CultureInfo.InvariantCulture));
            }
            else
            {
                var (an, ae) = Exact(a);
                var (bn, be) = Exact(b);
                var e = Math.Min(ae, be);
                sign = (an << (ae - e)).CompareTo(bn << (be - e));
            }
        }
        else if (a is string sa && b is string sb)
        {
            sign = string.CompareOrdinal(sa, sb);
        }
        else if (a is bool ba && b is bool bb && op is "==" or "!=")
        {
            sign = ba == bb ? 0 : 1;
        }
        else
        {
            return op == "!=";
        }

        return op switch
        {
            "==" => sign == 0,
            "!=" => sign != 0,
            "<" => sign < 0,
            "<=" => sign <= 0,
            ">" => sign > 0,
            _ => sign >= 0,
        };
    }

    /// <summary>A long or finite double as n * 2^e exactly.</summary>
    private static (BigInteger N, int E) Exact(object v)
    {
        if (v is long l)
        {
            return (l, 0);
        }

        var d = (double)v;
        if (d == 0)
        {
            return (0, 0);
        }

        var bits = BitConverter.DoubleToInt64Bits(d);
        var exponent = (int)((bits >> 52) & 0x7FF);
        var mantissa = bits & 0xFFFFFFFFFFFFFL;
        if (exponent == 0)
        {
            exponent = 1;
        }
        else
        {
            mantissa |= 1L << 52;
        }

        var n = new BigInteger(mantissa);
        return (d < 0 ? -n : n, exponent - 1075);
    }

    /// <summary>LIKE as a regular expression, written independently of the engine's matcher.</summary>
    private static Regex LikeRegex(string pattern)
    {
        var sb = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length && pattern[i + 1] is '%' or '_' or '\\')
            {
                sb.Append(Regex.Escape(pattern[++i].ToString()));
            }
            else if (c == '%')
            {
                sb.Append(".*");
            }
            else if (c == '_')
            {
                sb.Append('.');
            }
            else
            {
                sb.Append(Regex.Escape(c.ToString()));
            }
        }

        return new Regex(sb.Append('$').ToString(), RegexOptions.Singleline | RegexOptions.CultureInvariant);
    }
}
