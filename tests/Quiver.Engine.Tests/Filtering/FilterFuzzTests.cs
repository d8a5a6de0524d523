using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Quiver.Filtering;
using Quiver.Testing;
using Xunit.Abstractions;

namespace Quiver.Engine.Tests.Filtering;

/// <summary>Fuzzes the filter language end to end (parse, bind, evaluate) over a schema with every scalar type, JSON,
/// arrays and a dynamic field. Inputs come from a grammar (with extreme nesting, chain lengths, list sizes and string
/// lengths now and then) and from mutations of valid expressions (character flips, token insertion, deletion and
/// duplication, splicing two expressions). Every input must either evaluate or fail with a <see cref="FilterException"/>
/// (or an InvalidArgument <see cref="QuiverException"/>); anything else is a failure reported with the seed, the case
/// number and the input. A tenth of the cases are the differential test's expressions, compared row by row with its
/// reference interpreter, and a fifth of the expressions that evaluate are checked against their own negation and
/// disjunction (three-valued logic: <c>E</c> and <c>not (E)</c> never share a row; <c>(E) or (E)</c> is <c>E</c>).
/// Runs on a 256 KB stack. Case i is a pure function of (seed, i): <see cref="Case"/> rebuilds one for a report.</summary>
public class FilterFuzzTests(ITestOutputHelper output)
{
    /// <summary>The fixed seed CI runs; <c>QUIVER_FUZZ_SEED</c> picks another (long runs sweep several).</summary>
    private static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("QUIVER_FUZZ_SEED"), out var s) ? s : 20261205;

    private static readonly CollectionSchema Schema = new()
    {
        Fields =
        [
            FieldSchema.Int64Key("id"),
            FieldSchema.Vector("v", 2),
            FieldSchema.Scalar("b", DataType.Bool, nullable: true),
            FieldSchema.Scalar("i8", DataType.Int8),
            FieldSchema.Scalar("i16", DataType.Int16, nullable: true),
            FieldSchema.Scalar("i32", DataType.Int32),
            FieldSchema.Scalar("i64", DataType.Int64, nullable: true),
            FieldSchema.Scalar("f", DataType.Float, nullable: true),
            FieldSchema.Scalar("d", DataType.Double),
            FieldSchema.VarChar("s", 64, nullable: true),
            FieldSchema.Json("j", nullable: true),
            FieldSchema.Array("ai", DataType.Int64, 8),
            FieldSchema.Array("as", DataType.VarChar, 8, maxLength: 16, nullable: true),
            FieldSchema.Array("ad", DataType.Double, 8, nullable: true),
            FieldSchema.Array("ab", DataType.Bool, 8, nullable: true),
        ],
        EnableDynamicField = true,
    };

    private static readonly string[] Numeric = ["id", "i8", "i16", "i32", "i64", "f", "d"];
    private static readonly string[] Names = ["id", "v", "b", "i8", "i16", "i32", "i64", "f", "d", "s", "j", "ai", "as", "ad", "ab", "x", "y", "name", "$meta", "nope"];
    private static readonly string[] Strings = ["", "a", "abc", "Star Wars", "50% off", "a_b", "é中", "\\\"q\\\"", "\\u00e9", "x\\%y"];
    private static readonly string[] Functions =
        ["json_contains", "json_contains_all", "json_contains_any", "array_contains", "array_contains_all", "array_contains_any", "array_length", "JSON_CONTAINS", "nope"];

    private static readonly string[] Vocabulary =
    [
        "(", ")", "[", "]", "{", "}", ",", "and", "or", "not", "&&", "||", "!", "in", "like", "is", "null", "true", "false",
        "==", "!=", "<", "<=", ">", ">=", "=", "+", "-", "*", "/", "%", "**", "0", "1", "-1", "9223372036854775807",
        "9223372036854775808", "1e308", "1e999", ".5", "\"s\"", "'t'", "\"%\"", "{a}", "{l}", "{nested}", "{nul}", "{missing}",
        "j", "ai", "as", "s", "b", "d", "f", "x", "$meta", "[\"a\"]", "[0]", "[-1]", "json_contains", "array_length", "\"", "'", "\\",
    ];

    private const string FlipAlphabet = "()[]{}\"'\\,.-+*/%<>=!&|^~ \t\n0123456789aAzZ_$eEé中\0\uD800";

    private static readonly Regex TokenPattern = new(
        @"""(?:[^""\\]|\\.)*""|'(?:[^'\\]|\\.)*'|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|[A-Za-z_$][A-Za-z0-9_]*|\*\*|==|!=|<=|>=|&&|\|\||\S",
        RegexOptions.CultureInvariant);

    [Fact]
    [Trait("Category", "Long")]
    public void Fuzz_EveryInputEvaluatesOrFailsWithAFilterError()
    {
        var cases = TestTier.Pick(4_000, 1_000_000);
        var (failures, evaluated) = FilterLimitsTests.OnSmallStack(() => Run(Seed, cases), TimeSpan.FromHours(3));
        output.WriteLine($"seed {Seed}: {cases} cases, {evaluated} evaluated, {cases - evaluated} refused with a filter error, {failures.Count} failures");
        Assert.True(failures.Count == 0, $"{failures.Count} failing case(s), seed {Seed}, {cases} cases:\n" + string.Join("\n\n", failures.Take(10)));
    }

    /// <summary>The failures (at most 20) and how many inputs evaluated (the rest were refused as they should be).</summary>
    private static (List<string> Failures, int Evaluated) Run(int seed, int cases)
    {
        var evaluated = 0;
        var dataRng = new Random(seed);
        var source = new InMemoryRowSource(Schema, [.. Enumerable.Range(0, 60).Select(i => FuzzRow(dataRng, i))]);
        var diffRows = Enumerable.Range(0, 80).Select(i => (IReadOnlyDictionary<string, object?>)FilterDifferentialTests.RandomRow(dataRng, i)).ToList();
        var diffSource = new InMemoryRowSource(FilterFixture.Schema(), diffRows);
        var parameters = Parameters();
        var failures = new List<string>();
        var progress = Path.Combine(Path.GetTempPath(), $"quiver-filter-fuzz-{seed}.progress");
        for (var i = 0; i < cases && failures.Count < 20; i++)
        {
            if (i % 10_000 == 0)
            {
                // A crash cannot be caught: the last line written names the window of cases to replay with Case(seed, i).
                File.WriteAllText(progress, $"seed {seed}: cases {i}..{i + 9_999} of {cases} started {DateTime.UtcNow:O}\n");
            }

            var (text, differential) = Case(seed, i);
            try
            {
                if (differential is not null)
                {
                    CheckDifferential(differential, diffSource, diffRows);
                    evaluated++;
                }
                else if (Check(text, source, parameters, metamorphic: i % 5 == 0))
                {
                    evaluated++;
                }
            }
            catch (Exception ex)
            {
                failures.Add($"seed {seed}, case {i}: {ex.GetType().Name}: {ex.Message}\ninput ({text.Length} chars): {Shorten(text)}");
            }
        }

        return (failures, evaluated);
    }

    /// <summary>Case <paramref name="i"/> of <paramref name="seed"/>: its text, and the reference meaning when it is a
    /// differential case.</summary>
    internal static (string Text, FilterDifferentialTests.Pred? Differential) Case(int seed, int i)
    {
        // Not HashCode.Combine: it is seeded per process, so a failing case could not be rebuilt from its report (CI
        // ran other cases than any rerun).
        var rng = new Random(unchecked((seed * 1_000_003) + i));
        var kind = rng.Next(100);
        if (kind < 10)
        {
            var pred = new FilterDifferentialTests.ExpressionGenerator(rng).Predicate(3);
            return (pred.Text, pred);
        }

        var gen = new Grammar(rng);
        if (kind < 45)
        {
            return (gen.Filter(), null);
        }

        var baseText = rng.Next(4) == 0 ? new FilterDifferentialTests.ExpressionGenerator(rng).Predicate(2).Text : gen.Filter();
        return (Mutate(rng, baseText, gen), null);
    }

    /// <summary>Evaluates: true when the input evaluated, false when it was refused with a filter error or InvalidArgument;
    /// any other exception propagates as a failure.</summary>
    private static bool Check(string text, InMemoryRowSource source, IReadOnlyDictionary<string, object?> parameters, bool metamorphic)
    {
        int[] rows;
        try
        {
            rows = source.Matches(text, parameters);
        }
        catch (FilterException ex)
        {
            Assert.Equal(QuiverErrorCode.BadFilter, ex.Code);
            return false;
        }
        catch (QuiverException ex) when (ex.Code == QuiverErrorCode.InvalidArgument)
        {
            return false;
        }

        if (!metamorphic || string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        int[] negated, twice;
        try
        {
            negated = source.Matches($"not ({text})", parameters);
            twice = source.Matches($"({text}) or ({text})", parameters);
        }
        catch (FilterException ex) when (ex.Message.Contains("FilterLimits.MaxDepth", StringComparison.Ordinal))
        {
            // The wrapper added the levels that went past the limit.
            return true;
        }

        Assert.True(!rows.Intersect(negated).Any(), "E and not (E) share a row");
        Assert.True(rows.SequenceEqual(twice), "(E) or (E) differs from E");
        return true;
    }

    private static void CheckDifferential(FilterDifferentialTests.Pred pred, InMemoryRowSource source, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows)
    {
        var actual = source.Matches(pred.Text);
        var expected = Enumerable.Range(0, rows.Count).Where(r => pred.Eval(rows[r]) == true).ToArray();
        Assert.True(expected.SequenceEqual(actual), $"differs from the reference interpreter: expected rows [{string.Join(',', expected)}], got [{string.Join(',', actual)}]");
    }

    private static string Shorten(string text) =>
        text.Length <= 600 ? text : string.Concat(text.AsSpan(0, 300), $" ...({text.Length - 600} chars)... ", text.AsSpan(text.Length - 300));

    // ---- mutation ----

    private static string Mutate(Random rng, string text, Grammar gen)
    {
        var rounds = 1 + rng.Next(3);
        for (var r = 0; r < rounds; r++)
        {
            text = rng.Next(5) switch
            {
                0 => FlipChars(rng, text),
                1 or 2 => EditTokens(rng, text),
                3 => Splice(rng, text, gen.Filter()),
                _ => rng.Next(2) == 0 ? $"({text}) {(rng.Next(2) == 0 ? "and" : "or")} {gen.Filter()}" : $"not ({text})",
            };
        }

        return text;
    }

    private static string FlipChars(Random rng, string text)
    {
        if (text.Length == 0)
        {
            return FlipAlphabet[rng.Next(FlipAlphabet.Length)].ToString();
        }

        var chars = text.ToCharArray();
        var flips = 1 + rng.Next(Math.Min(4, chars.Length));
        for (var k = 0; k < flips; k++)
        {
            chars[rng.Next(chars.Length)] = FlipAlphabet[rng.Next(FlipAlphabet.Length)];
        }

        return new string(chars);
    }

    private static List<string> Tokens(string text) => [.. TokenPattern.Matches(text).Select(m => m.Value)];

    private static string EditTokens(Random rng, string text)
    {
        var tokens = Tokens(text);
        var at = tokens.Count == 0 ? 0 : rng.Next(tokens.Count);
        switch (rng.Next(4))
        {
            case 0:
                tokens.Insert(at, rng.Next(3) == 0 && tokens.Count > 0 ? tokens[rng.Next(tokens.Count)] : Vocabulary[rng.Next(Vocabulary.Length)]);
                break;
            case 1 when tokens.Count > 0:
                tokens.RemoveAt(at);
                break;
            case 2 when tokens.Count > 0:
                // Duplicate a token, now and then many times over (long runs of "(", "not", "-", "[").
                var times = rng.Next(10) == 0 ? rng.Next(1, 3_000) : rng.Next(1, 4);
                tokens.InsertRange(at, Enumerable.Repeat(tokens[at], times));
                break;
            default:
                if (tokens.Count > 1)
                {
                    var other = rng.Next(tokens.Count);
                    (tokens[at], tokens[other]) = (tokens[other], tokens[at]);
                }

                break;
        }

        return string.Join(rng.Next(4) == 0 ? "" : " ", tokens);
    }

    private static string Splice(Random rng, string a, string b)
    {
        var ta = Tokens(a);
        var tb = Tokens(b);
        var cutA = rng.Next(ta.Count + 1);
        var cutB = rng.Next(tb.Count + 1);
        return string.Join(" ", ta.Take(cutA).Concat(tb.Skip(cutB)));
    }

    // ---- data ----

    private static Dictionary<string, object?> FuzzRow(Random rng, int id)
    {
        bool Maybe(double p) => rng.NextDouble() < p;
        var row = new Dictionary<string, object?>
        {
            ["id"] = (long)id,
            ["b"] = Maybe(0.2) ? null : Maybe(0.5),
            ["i8"] = rng.Next(-128, 128),
            ["i16"] = Maybe(0.2) ? null : rng.Next(-3000, 3000),
            ["i32"] = rng.Next(-50, 50),
            ["i64"] = Maybe(0.2) ? null : Maybe(0.1) ? (Maybe(0.5) ? long.MaxValue : long.MinValue) : rng.NextInt64(-1000, 1000),
            ["f"] = Maybe(0.2) ? null : rng.Next(-100, 100) * 0.25,
            ["d"] = Maybe(0.05) ? 1e300 : rng.Next(-100, 100) * 0.5,
            ["s"] = Maybe(0.2) ? null : Strings[rng.Next(Strings.Length)].Replace("\\", "", StringComparison.Ordinal),
            ["j"] = Maybe(0.2) ? null : RandomJson(rng, 3),
            ["ai"] = JsonSerializer.Serialize(Enumerable.Range(0, rng.Next(5)).Select(_ => rng.NextInt64(-3, 4)).ToArray()),
            ["as"] = Maybe(0.2) ? null : JsonSerializer.Serialize(Enumerable.Range(0, rng.Next(4)).Select(_ => "abc"[..rng.Next(4)]).ToArray()),
            ["ad"] = Maybe(0.2) ? null : JsonSerializer.Serialize(Enumerable.Range(0, rng.Next(4)).Select(_ => rng.Next(-4, 4) * 0.5).ToArray()),
            ["ab"] = Maybe(0.2) ? null : JsonSerializer.Serialize(Enumerable.Range(0, rng.Next(4)).Select(_ => Maybe(0.5)).ToArray()),
        };
        if (Maybe(0.7))
        {
            row["x"] = rng.Next(3) switch { 0 => rng.Next(-5, 5), 1 => "red", _ => Maybe(0.5) };
        }

        if (Maybe(0.5))
        {
            row["y"] = JsonDocument.Parse(RandomJson(rng, 2)).RootElement.Clone();
        }

        return row;
    }

    private static string RandomJson(Random rng, int depth) => (depth <= 0 ? rng.Next(4) : rng.Next(6)) switch
    {
        0 => rng.Next(-5, 6).ToString(CultureInfo.InvariantCulture),
        1 => (rng.Next(-10, 10) * 0.5).ToString("R", CultureInfo.InvariantCulture),
        2 => JsonSerializer.Serialize(Strings[rng.Next(Strings.Length)]),
        3 => rng.Next(3) switch { 0 => "true", 1 => "false", _ => "null" },
        4 => "[" + string.Join(",", Enumerable.Range(0, rng.Next(4)).Select(_ => RandomJson(rng, depth - 1))) + "]",
        _ => "{" + string.Join(",", new[] { "a", "b", "k" }.Where(_ => rng.Next(3) > 0).Select(k => $"\"{k}\":{RandomJson(rng, depth - 1)}")) + "}",
    };

    private static Dictionary<string, object?> Parameters()
    {
        object nested = 1L;
        for (var i = 0; i < 20; i++)
        {
            nested = new List<object> { nested, (long)i };
        }

        return new Dictionary<string, object?>
        {
            ["a"] = 3L,
            ["f"] = 2.5,
            ["s"] = "abc",
            ["b"] = true,
            ["l"] = new List<long> { 1, 2, 3 },
            ["ls"] = new[] { "a", "abc" },
            ["nested"] = nested,
            ["je"] = JsonDocument.Parse("[1, [2, [3]], \"x\"]").RootElement.Clone(),
            ["obj"] = JsonDocument.Parse("{\"a\": 1}").RootElement.Clone(),
            ["nul"] = null,
        };
    }

    /// <summary>Random filters from the language's grammar, mostly well-typed, with wrong names, types and arities mixed
    /// in, and now and then an extreme shape: deep nesting around the limit and far past it, long chains, large lists,
    /// long strings.</summary>
    private sealed class Grammar(Random rng)
    {
        private T Pick<T>(T[] xs) => xs[rng.Next(xs.Length)];

        public string Filter()
        {
            var text = rng.Next(400) == 0 ? Extreme() : Pred(rng.Next(4));
            return rng.Next(50) == 0 ? "" : text;
        }

        private string Extreme()
        {
            var n = Pick(new[] { FilterLimits.MaxDepth - 1, FilterLimits.MaxDepth, FilterLimits.MaxDepth + 1, 1_000, 1_000, 1_000, 20_000 });
            var inner = Pred(1);
            return rng.Next(9) switch
            {
                0 => Repeat("(", n) + inner + Repeat(")", n),
                1 => Repeat("not ", n) + inner,
                2 => $"{Pick(Numeric)} > " + Repeat("- ", n) + "1",
                3 => Pick(Numeric) + Repeat(" + 1", n) + " > 0",
                4 => "x in " + Repeat("[", n) + "1" + Repeat("]", n),
                5 => "j" + Repeat("[\"a\"]", n) + " == 1",
                6 => string.Join(Pick(new[] { " or ", " and ", " || " }), Enumerable.Range(0, n).Select(_ => Pred(0))),
                7 => $"{Pick(Numeric)} in [" + string.Join(",", Enumerable.Range(0, n * 5).Select(i => i.ToString(CultureInfo.InvariantCulture))) + "]",
                _ => $"s {Pick(new[] { "==", "like" })} \"" + new string(Pick(new[] { 'a', '%', '_' }), n * 5) + "\"",
            };
        }

        private string Pred(int depth)
        {
            switch (rng.Next(depth > 0 ? 14 : 9))
            {
                case 0:
                case 1:
                    return $"{Value(2)} {Pick(new[] { "==", "!=", "<", "<=", ">", ">=" })} {Value(1)}";
                case 2:
                    return $"{Literal()} {Pick(new[] { "<", "<=" })} {Value(1)} {Pick(new[] { "<", "<=" })} {Literal()}";
                case 3:
                    return $"{Value(1)} {Pick(new[] { "in", "not in", "NOT IN" })} {(rng.Next(5) == 0 ? Pick(new[] { "{l}", "{ls}", "{nested}", "{je}", "{obj}", "{nul}", "{missing}" }) : List(1))}";
                case 4:
                    return $"{Pick(new[] { "s", "j[\"a\"]", "as[0]", "x", "i32" })} {Pick(new[] { "like", "not like" })} {Pattern()}";
                case 5:
                    return $"{Value(0)} {Pick(new[] { "is null", "is not null", "IS NOT NULL" })}";
                case 6:
                    return Call();
                case 7:
                    return Pick(new[] { "b", "x", "j[\"a\"]", "true", "false", "$meta", "ab[0]", "{b}" });
                case 8:
                    return $"array_length({Pick(new[] { "ai", "as", "j", "j[\"a\"]", "y", "s" })}) {Pick(new[] { "==", ">", "<" })} {rng.Next(-1, 5)}";
                case 9:
                case 10:
                    var parts = Enumerable.Range(0, 2 + rng.Next(3)).Select(_ => Pred(depth - 1));
                    return string.Join(Pick(new[] { " and ", " or ", " && ", " || ", " AND " }), parts);
                case 11:
                    return $"{Pick(new[] { "not ", "!", "NOT " })}{Pred(depth - 1)}";
                default:
                    return $"({Pred(depth - 1)})";
            }
        }

        private string Value(int depth)
        {
            switch (rng.Next(depth > 0 ? 10 : 6))
            {
                case 0:
                case 1:
                    return Pick(Names);
                case 2:
                    return Pick(new[] { "j", "y", "$meta", "ai", "as", "ad", "ab", "s" }) + Path();
                case 3:
                case 4:
                    return Literal();
                case 5:
                    return Pick(new[] { "{a}", "{f}", "{s}", "{b}", "{missing}" });
                case 6:
                case 7:
                    return $"{Value(depth - 1)} {Pick(new[] { "+", "-", "*", "/", "%", "**" })} {Value(depth - 1)}";
                case 8:
                    return $"{Pick(new[] { "-", "+", "- -" })}{Value(depth - 1)}";
                default:
                    return $"({Value(depth - 1)})";
            }
        }

        private string Path() => string.Concat(Enumerable.Range(0, rng.Next(4)).Select(_ => rng.Next(3) switch
        {
            0 => $"[{rng.Next(0, 3)}]",
            1 => $"[\"{Pick(new[] { "a", "b", "k", "" })}\"]",
            _ => Pick(new[] { "['a']", "[9223372036854775807]", "[-1]", "[x]" }),
        }));

        private string Literal() => rng.Next(12) switch
        {
            0 => rng.Next(-5, 6).ToString(CultureInfo.InvariantCulture),
            1 => rng.Next(-100, 100).ToString(CultureInfo.InvariantCulture),
            2 => Pick(new[] { "9223372036854775807", "-9223372036854775808", "9223372036854775808", "0", "-0" }),
            3 => (rng.Next(-40, 40) * 0.25).ToString("R", CultureInfo.InvariantCulture),
            4 => Pick(new[] { "1e308", "-1e308", "1e-320", ".5", "5.", "1E3", "1e", "NaN" }),
            5 or 6 => $"\"{Pick(Strings)}\"",
            7 => $"'{Pick(Strings).Replace("\\\"", "\"", StringComparison.Ordinal)}'",
            8 => Pick(new[] { "true", "false", "True", "FALSE" }),
            9 => List(1),
            _ => rng.Next(3).ToString(CultureInfo.InvariantCulture),
        };

        private string List(int depth)
        {
            var n = rng.Next(5);
            var items = Enumerable.Range(0, n).Select(_ => depth > 0 && rng.Next(5) == 0 ? List(depth - 1) : Literal() is var l && l.StartsWith('[') ? "1" : l);
            return "[" + string.Join(", ", items) + (rng.Next(6) == 0 ? ",]" : "]");
        }

        private string Pattern() => rng.Next(6) == 0
            ? Pick(new[] { "{s}", "{a}", "1", "s" })
            : "\"" + string.Concat(Enumerable.Range(0, rng.Next(6)).Select(_ => Pick(new[] { "%", "_", "a", "b", "\\\\%", "\\\\_", "é", "\\\\\\\\" }))) + "\"";

        private string Call()
        {
            var name = Pick(Functions);
            var target = Pick(new[] { "j", "j[\"a\"]", "ai", "as", "ad", "ab", "y", "$meta", "s", "i32", "x" });
            return rng.Next(8) switch
            {
                0 => $"{name}()",
                1 => $"{name}({target})",
                2 => $"{name}({target}, {Literal()}, {Literal()})",
                3 => $"{name}({target}, {Value(1)})",
                _ => $"{name}({target}, {(name.EndsWith("all", StringComparison.OrdinalIgnoreCase) || name.EndsWith("any", StringComparison.OrdinalIgnoreCase) ? List(1) : Literal())})",
            };
        }

        private static string Repeat(string s, int n) => new StringBuilder(s.Length * n).Insert(0, s, n).ToString();
    }
}
