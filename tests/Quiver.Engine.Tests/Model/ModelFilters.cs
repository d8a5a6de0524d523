using System.Globalization;

namespace Quiver.Engine.Tests.Model;

/// <summary>A filter written twice: as text for the engine and as a three-valued predicate for the model (null is
/// "unknown": a null field, a missing JSON or dynamic key). A row matches when the predicate is true.</summary>
internal sealed record ModelFilter(string Text, Func<ModelRow, bool?> Predicate)
{
    public bool Matches(ModelRow row) => Predicate(row) == true;
}

/// <summary>Generates random filters over numeric, VarChar, nullable, JSON, array, dynamic and primary key fields,
/// combined with Kleene and / or / not.</summary>
internal static class ModelFilters
{
    private static readonly string[] Ops = ["<", "<=", ">", ">=", "==", "!="];

    public static ModelFilter Generate(Random rng, bool stringKeys, int depth = 2)
    {
        if (depth == 0 || rng.Next(10) < 4)
        {
            return Atom(rng, stringKeys);
        }

        switch (rng.Next(5))
        {
            case 0:
            {
                var a = Generate(rng, stringKeys, depth - 1);
                return new ModelFilter($"not ({a.Text})", r => Not(a.Predicate(r)));
            }

            case 1:
            case 2:
            {
                var a = Generate(rng, stringKeys, depth - 1);
                var b = Generate(rng, stringKeys, depth - 1);
                return new ModelFilter($"({a.Text}) and ({b.Text})", r => And(a.Predicate(r), b.Predicate(r)));
            }

            default:
            {
                var a = Generate(rng, stringKeys, depth - 1);
                var b = Generate(rng, stringKeys, depth - 1);
                return new ModelFilter($"({a.Text}) or ({b.Text})", r => Or(a.Predicate(r), b.Predicate(r)));
            }
        }
    }

    public static bool? Not(bool? a) => a is null ? null : !a;

    public static bool? And(bool? a, bool? b) => a == false || b == false ? false : a == true && b == true ? true : null;

    public static bool? Or(bool? a, bool? b) => a == true || b == true ? true : a == false && b == false ? false : null;

    private static ModelFilter Atom(Random rng, bool stringKeys)
    {
        var op = Ops[rng.Next(Ops.Length)];
        switch (rng.Next(15))
        {
            case 0:
            case 1:
            {
                var c = rng.Next(-2, 22);
                return new ModelFilter(F($"n {op} {c}"), r => Cmp(r.N, op, c));
            }

            case 2:
            {
                var x = Math.Round(rng.NextDouble() * 100, 1);
                return new ModelFilter(F($"price {op} {x.ToString("R", CultureInfo.InvariantCulture)}"), r => Cmp(r.Price, op, x));
            }

            case 3:
            {
                var items = Enumerable.Range(0, rng.Next(1, 5)).Select(_ => rng.Next(20)).ToArray();
                var negated = rng.Next(3) == 0;
                var text = $"n {(negated ? "not in" : "in")} [{string.Join(", ", items)}]";
                return new ModelFilter(text, r => items.Contains(r.N) != negated);
            }

            case 4:
            {
                var cat = ModelRow.Cats[rng.Next(ModelRow.Cats.Length)];
                var eq = rng.Next(2) == 0;
                return new ModelFilter($"cat {(eq ? "==" : "!=")} \"{cat}\"", r => (r.Cat == cat) == eq);
            }

            case 5:
            {
                var a = ModelRow.Cats[rng.Next(ModelRow.Cats.Length)];
                var b = ModelRow.Cats[rng.Next(ModelRow.Cats.Length)];
                return rng.Next(2) == 0
                    ? new ModelFilter($"cat in [\"{a}\", \"{b}\"]", r => r.Cat == a || r.Cat == b)
                    : new ModelFilter("cat like \"b%\"", r => r.Cat.StartsWith('b'));
            }

            case 6:
            {
                var c = rng.Next(-1, 52);
                return new ModelFilter(F($"stock {op} {c}"), r => r.Stock is { } s ? Cmp(s, op, c) : null);
            }

            case 7:
                return rng.Next(2) == 0
                    ? new ModelFilter("stock is null", r => r.Stock is null)
                    : new ModelFilter("stock is not null", r => r.Stock is not null);

            case 8:
            {
                var t = "t" + rng.Next(5).ToString(CultureInfo.InvariantCulture);
                if (rng.Next(2) == 0)
                {
                    return new ModelFilter($"array_contains(tags, \"{t}\")", r => r.Tags is { } tags ? tags.Contains(t) : null);
                }

                var u = "t" + rng.Next(5).ToString(CultureInfo.InvariantCulture);
                return new ModelFilter($"array_contains_any(tags, [\"{t}\", \"{u}\"])", r => r.Tags is { } tags ? tags.Contains(t) || tags.Contains(u) : null);
            }

            case 9:
            {
                var c = rng.Next(-1, 11);
                return new ModelFilter(F($"meta[\"size\"] {op} {c}"), r => r.MetaSize is { } s ? Cmp(s, op, c) : null);
            }

            case 10:
            {
                var color = "c" + rng.Next(3).ToString(CultureInfo.InvariantCulture);
                return new ModelFilter($"meta[\"color\"] == \"{color}\"", r => r.MetaColor is { } m ? m == color : null);
            }

            case 11:
            {
                var brand = rng.Next(2) == 0 ? "acme" : "other";
                return new ModelFilter($"brand == \"{brand}\"", r => r.Brand is { } b ? b == brand : null);
            }

            case 12:
            {
                var c = rng.Next(-1, 7);
                return new ModelFilter(F($"level {op} {c}"), r => r.Level is { } l ? Cmp(l, op, c) : null);
            }

            default:
                return KeyAtom(rng, stringKeys, op);
        }
    }

    private static ModelFilter KeyAtom(Random rng, bool stringKeys, string op)
    {
        if (!stringKeys)
        {
            if (rng.Next(3) == 0)
            {
                var items = Enumerable.Range(0, rng.Next(1, 8)).Select(_ => (long)rng.Next(ModelRunner.KeySpace)).ToArray();
                return new ModelFilter($"id in [{string.Join(", ", items)}]", r => items.Contains((long)r.Key));
            }

            var c = rng.Next(ModelRunner.KeySpace);
            return new ModelFilter(F($"id {op} {c}"), r => Cmp((long)r.Key, op, c));
        }

        if (rng.Next(3) == 0)
        {
            var prefix = ModelRunner.StringKey(rng.Next(ModelRunner.KeySpace))[..4];
            return new ModelFilter($"pk like \"{prefix}%\"", r => ((string)r.Key).StartsWith(prefix, StringComparison.Ordinal));
        }

        var s = ModelRunner.StringKey(rng.Next(ModelRunner.KeySpace));
        return new ModelFilter($"pk {op} \"{s}\"", r => Cmp(string.CompareOrdinal((string)r.Key, s), op, 0));
    }

    private static bool Cmp(double a, string op, double b) => op switch
    {
        "<" => a < b,
        "<=" => a <= b,
        ">" => a > b,
        ">=" => a >= b,
        "==" => a == b,
        _ => a != b,
    };

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
