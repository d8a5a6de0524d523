using System.Globalization;
using System.Text.Json;

namespace Quiver.Filtering;

internal enum ScalarKind : byte
{
    /// <summary>Null, a missing JSON key, an out-of-range index, or an arithmetic error: compares as unknown.</summary>
    Missing,
    Long,
    Double,
    String,
    Bool,
    /// <summary>A JSON array or object (kept as the element).</summary>
    Json,
    /// <summary>A constant list from the expression (items are <see cref="Scalar"/>[]).</summary>
    List,
}

/// <summary>One value for the per-row paths (JSON, arrays, column-vs-column of non-numeric types) and for constants.
/// Bool is kept in <see cref="Long"/> as 0/1.</summary>
internal readonly struct Scalar
{
    private Scalar(ScalarKind kind, long l, double d, object? r)
    {
        Kind = kind;
        Long = l;
        Double = d;
        Ref = r;
    }

    public ScalarKind Kind { get; }

    public long Long { get; }

    public double Double { get; }

    public object? Ref { get; }

    public static Scalar Missing => default;

    public bool IsMissing => Kind == ScalarKind.Missing;

    public bool IsNumber => Kind is ScalarKind.Long or ScalarKind.Double;

    public bool Bool => Long != 0;

    public string String => (string)Ref!;

    public Scalar[] Items => (Scalar[])Ref!;

    public static Scalar OfLong(long v) => new(ScalarKind.Long, v, 0, null);

    public static Scalar OfDouble(double v) => double.IsNaN(v) ? Missing : new(ScalarKind.Double, 0, v, null);

    public static Scalar OfString(string v) => new(ScalarKind.String, 0, 0, v);

    public static Scalar OfBool(bool v) => new(ScalarKind.Bool, v ? 1 : 0, 0, null);

    public static Scalar OfList(Scalar[] items) => new(ScalarKind.List, 0, 0, items);

    public static Scalar FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => e.TryGetInt64(out var l) ? OfLong(l) : OfDouble(e.GetDouble()),
        JsonValueKind.String => OfString(e.GetString()!),
        JsonValueKind.True => OfBool(true),
        JsonValueKind.False => OfBool(false),
        JsonValueKind.Array or JsonValueKind.Object => new(ScalarKind.Json, 0, 0, e),
        _ => Missing,
    };

    public double AsDouble() => Kind == ScalarKind.Long ? Long : Double;

    public override string ToString() => Kind switch
    {
        ScalarKind.Missing => "null",
        ScalarKind.Long => Long.ToString(CultureInfo.InvariantCulture),
        ScalarKind.Double => Double.ToString("R", CultureInfo.InvariantCulture),
        ScalarKind.String => $"\"{String}\"",
        ScalarKind.Bool => Bool ? "true" : "false",
        ScalarKind.List => "[" + string.Join(", ", Items) + "]",
        _ => ((JsonElement)Ref!).GetRawText(),
    };
}

/// <summary>Three-valued results of the per-row paths.</summary>
internal enum Tri : byte
{
    False,
    True,
    Unknown,
}

/// <summary>Comparison and equality rules shared by the column-wise and per-row paths.</summary>
internal static class Compare
{
    /// <summary>2^63 as a double: the first double above every long.</summary>
    private const double TwoPow63 = 9223372036854775808.0;

    /// <summary>Exact three-way comparison of a long and a finite double (no rounding of the long).</summary>
    public static int LongDouble(long a, double b)
    {
        if (b >= TwoPow63)
        {
            return -1;
        }

        if (b < -TwoPow63)
        {
            return 1;
        }

        var f = Math.Floor(b);
        var fl = (long)f;
        if (a != fl)
        {
            return a < fl ? -1 : 1;
        }

        return b > f ? -1 : 0;
    }

    public static int Numbers(Scalar a, Scalar b)
    {
        if (a.Kind == ScalarKind.Long)
        {
            return b.Kind == ScalarKind.Long ? a.Long.CompareTo(b.Long) : LongDouble(a.Long, b.Double);
        }

        return b.Kind == ScalarKind.Long ? -LongDouble(b.Long, a.Double) : a.Double.CompareTo(b.Double);
    }

    public static bool Holds(FilterOp op, int sign) => op switch
    {
        FilterOp.Eq => sign == 0,
        FilterOp.Ne => sign != 0,
        FilterOp.Lt => sign < 0,
        FilterOp.Le => sign <= 0,
        FilterOp.Gt => sign > 0,
        _ => sign >= 0,
    };

    /// <summary>The per-row comparison: missing operands are unknown; numbers compare exactly across long and double;
    /// strings compare ordinally; values of different kinds are unequal and unordered.</summary>
    public static Tri Scalars(FilterOp op, Scalar a, Scalar b)
    {
        if (a.IsMissing || b.IsMissing)
        {
            return Tri.Unknown;
        }

        int sign;
        if (a.IsNumber && b.IsNumber)
        {
            sign = Numbers(a, b);
        }
        else if (a.Kind == ScalarKind.String && b.Kind == ScalarKind.String)
        {
            sign = string.CompareOrdinal(a.String, b.String);
        }
        else if (a.Kind == ScalarKind.Bool && b.Kind == ScalarKind.Bool && op is FilterOp.Eq or FilterOp.Ne)
        {
            sign = a.Long.CompareTo(b.Long);
        }
        else
        {
            // Different kinds, JSON containers, or an ordering of bools: never equal, never ordered.
            return op == FilterOp.Ne ? Tri.True : Tri.False;
        }

        return Holds(op, sign) ? Tri.True : Tri.False;
    }

    /// <summary>Equality used by <c>in</c> and the contains functions; lists compare element-wise.</summary>
    public static bool Equal(Scalar a, Scalar b)
    {
        if (a.IsNumber && b.IsNumber)
        {
            return Numbers(a, b) == 0;
        }

        if (a.Kind != b.Kind)
        {
            if (a.Kind == ScalarKind.Json && b.Kind == ScalarKind.List)
            {
                return JsonEqualsList((JsonElement)a.Ref!, b.Items);
            }

            if (b.Kind == ScalarKind.Json && a.Kind == ScalarKind.List)
            {
                return JsonEqualsList((JsonElement)b.Ref!, a.Items);
            }

            return false;
        }

        return a.Kind switch
        {
            ScalarKind.String => a.String == b.String,
            ScalarKind.Bool => a.Long == b.Long,
            ScalarKind.List => ListsEqual(a.Items, b.Items),
            ScalarKind.Json => JsonElement.DeepEquals((JsonElement)a.Ref!, (JsonElement)b.Ref!),
            _ => false,
        };
    }

    private static bool ListsEqual(Scalar[] a, Scalar[] b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }

        for (var i = 0; i < a.Length; i++)
        {
            if (!Equal(a[i], b[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static bool JsonEqualsList(JsonElement e, Scalar[] items)
    {
        if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() != items.Length)
        {
            return false;
        }

        var i = 0;
        foreach (var x in e.EnumerateArray())
        {
            if (!Equal(Scalar.FromJson(x), items[i++]))
            {
                return false;
            }
        }

        return true;
    }
}
