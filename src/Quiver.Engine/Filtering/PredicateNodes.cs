using System.Buffers;
using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Text;
using System.Text.Json;
using Quiver.Common;
using Quiver.Segments;

namespace Quiver.Filtering;

/// <summary>A predicate's result over all rows under three-valued logic: <see cref="True"/> rows match,
/// <see cref="Unknown"/> rows (null operands, missing JSON keys, division by zero) neither match nor fail, and all
/// other rows are false. The two sets are disjoint; Unknown is null when empty.</summary>
internal readonly record struct TriBitmap(Bitmap True, Bitmap? Unknown)
{
    /// <summary>Builds a result from raw matches and the undefined rows (which are removed from the matches).</summary>
    public static TriBitmap From(Bitmap matches, Bitmap? invalid)
    {
        if (invalid is null || !invalid.Any())
        {
            return new TriBitmap(matches, null);
        }

        matches.AndNot(invalid);
        return new TriBitmap(matches, invalid.Clone());
    }
}

/// <summary>A bound boolean expression; evaluates column-wise over a whole row source.</summary>
internal abstract class PredicateNode
{
    public abstract TriBitmap Evaluate(EvalContext ctx);

    /// <summary>The rows where the predicate is true, answered from the source's scalar indexes in time proportional to
    /// the rows listed (<see cref="SparseResult.MaxFraction"/>), or null when a part of it has no index or would list too
    /// many rows: then <see cref="Evaluate"/> is the way.</summary>
    public virtual SparseResult? TrySparse(EvalContext ctx) => null;
}

internal sealed class ConstPredicate(bool value) : PredicateNode
{
    public bool Value { get; } = value;

    public override TriBitmap Evaluate(EvalContext ctx) => new(ctx.NewBitmap(Value), null);

    public override SparseResult? TrySparse(EvalContext ctx) =>
        new SparseResult(Value ? RowSet.All(ctx.RowCount) : RowSet.None(ctx.RowCount), false);
}

internal sealed class AndPredicate(IReadOnlyList<PredicateNode> children) : PredicateNode
{
    public IReadOnlyList<PredicateNode> Children { get; } = children;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override TriBitmap Evaluate(EvalContext ctx)
    {
        var acc = Children[0].Evaluate(ctx);
        for (var i = 1; i < Children.Count; i++)
        {
            // Nothing can become true once every row is false (unknown rows stay unknown or turn false, which also
            // does not match), so stop early.
            if (!acc.True.Any() && acc.Unknown is null)
            {
                break;
            }

            acc = And(acc, Children[i].Evaluate(ctx));
        }

        return acc;
    }

    public override SparseResult? TrySparse(EvalContext ctx) => Combine(ctx, Children, static (a, b) => a.And(b));

    /// <summary>AND or OR of sparse children: null as soon as one child has no sparse answer.</summary>
    internal static SparseResult? Combine(EvalContext ctx, IReadOnlyList<PredicateNode> children, Func<RowSet, RowSet, RowSet> op)
    {
        if (children[0].TrySparse(ctx) is not { } acc)
        {
            return null;
        }

        for (var i = 1; i < children.Count; i++)
        {
            if (children[i].TrySparse(ctx) is not { } next)
            {
                return null;
            }

            acc = new SparseResult(op(acc.True, next.True), acc.MayBeUnknown || next.MayBeUnknown);
        }

        return acc;
    }

    /// <summary>Kleene AND: true if both true; unknown if neither is false and not both true.</summary>
    public static TriBitmap And(TriBitmap a, TriBitmap b)
    {
        Bitmap? unknown = null;
        if (a.Unknown is not null || b.Unknown is not null)
        {
            unknown = new Bitmap(a.True.Length);
            if (a.Unknown is { } au)
            {
                var t = au.Clone();
                var bNotFalse = b.True.Clone();
                if (b.Unknown is { } bu0)
                {
                    bNotFalse.Or(bu0);
                }

                t.And(bNotFalse);
                unknown.Or(t);
            }

            if (b.Unknown is { } bu)
            {
                var t = bu.Clone();
                t.And(a.True);
                unknown.Or(t);
            }
        }

        var result = a.True;
        result.And(b.True);
        return new TriBitmap(result, unknown is not null && unknown.Any() ? unknown : null);
    }
}

internal sealed class OrPredicate(IReadOnlyList<PredicateNode> children) : PredicateNode
{
    public IReadOnlyList<PredicateNode> Children { get; } = children;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override TriBitmap Evaluate(EvalContext ctx)
    {
        var acc = Children[0].Evaluate(ctx);
        for (var i = 1; i < Children.Count; i++)
        {
            var b = Children[i].Evaluate(ctx);
            var t = acc.True;
            t.Or(b.True);
            Bitmap? unknown = null;
            if (acc.Unknown is not null || b.Unknown is not null)
            {
                unknown = acc.Unknown ?? b.Unknown!;
                if (acc.Unknown is not null && b.Unknown is not null)
                {
                    unknown.Or(b.Unknown);
                }

                unknown.AndNot(t);
            }

            acc = new TriBitmap(t, unknown is not null && unknown.Any() ? unknown : null);
        }

        return acc;
    }

    public override SparseResult? TrySparse(EvalContext ctx) => AndPredicate.Combine(ctx, Children, static (a, b) => a.Or(b));
}

internal sealed class NotPredicate(PredicateNode child) : PredicateNode
{
    public PredicateNode Child { get; } = child;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override TriBitmap Evaluate(EvalContext ctx)
    {
        var r = Child.Evaluate(ctx);
        var t = r.True;
        if (r.Unknown is { } u)
        {
            t.Or(u);
        }

        t.Not();
        return new TriBitmap(t, r.Unknown);
    }

    /// <summary>NOT of a part without unknown rows is the complement; with them, NOT would have to leave them out.</summary>
    public override SparseResult? TrySparse(EvalContext ctx) =>
        Child.TrySparse(ctx) is { MayBeUnknown: false } r ? new SparseResult(r.True.Not(), false) : null;
}

/// <summary>Predicates that have to look at each row on its own (JSON, arrays, non-numeric column pairs).</summary>
internal abstract class RowPredicate : PredicateNode
{
    public abstract Tri Test(EvalContext ctx, int row);

    public override TriBitmap Evaluate(EvalContext ctx)
    {
        var t = ctx.NewBitmap();
        Bitmap? unknown = null;
        for (var row = 0; row < ctx.RowCount; row++)
        {
            switch (Test(ctx, row))
            {
                case Tri.True:
                    t.Set(row);
                    break;
                case Tri.Unknown:
                    (unknown ??= ctx.NewBitmap()).Set(row);
                    break;
            }
        }

        return new TriBitmap(t, unknown);
    }
}

/// <summary>Any comparison, row by row, with the rules of <see cref="Compare.Scalars"/>.</summary>
internal sealed class RowComparePredicate(FilterOp op, ValueNode left, ValueNode right) : RowPredicate
{
    public override Tri Test(EvalContext ctx, int row) => Compare.Scalars(op, left.GetRow(ctx, row), right.GetRow(ctx, row));
}

/// <summary>A bare boolean JSON value used as a predicate (<c>meta["flag"]</c>): true only for JSON true.</summary>
internal sealed class RowTruthPredicate(ValueNode value) : RowPredicate
{
    public override Tri Test(EvalContext ctx, int row)
    {
        var v = value.GetRow(ctx, row);
        return v.IsMissing ? Tri.Unknown : v.Kind == ScalarKind.Bool && v.Bool ? Tri.True : Tri.False;
    }
}

internal sealed class RowInPredicate(ValueNode value, Scalar[] items) : RowPredicate
{
    public override Tri Test(EvalContext ctx, int row)
    {
        var v = value.GetRow(ctx, row);
        if (v.IsMissing)
        {
            return Tri.Unknown;
        }

        foreach (var item in items)
        {
            if (Compare.Equal(v, item))
            {
                return Tri.True;
            }
        }

        return Tri.False;
    }
}

internal sealed class RowLikePredicate(ValueNode value, LikePattern pattern) : RowPredicate
{
    public override Tri Test(EvalContext ctx, int row)
    {
        var v = value.GetRow(ctx, row);
        return v.IsMissing ? Tri.Unknown : v.Kind == ScalarKind.String && pattern.IsMatch(v.String) ? Tri.True : Tri.False;
    }
}

/// <summary><c>path is [not] null</c>: a null row, a missing key and a JSON null all count as null. Never unknown.</summary>
internal sealed class RowIsNullPredicate(ValueNode value, bool negated) : RowPredicate
{
    public override Tri Test(EvalContext ctx, int row)
    {
        var isNull = !JsonTargets.TryGet(value, ctx, row, out _);
        return isNull != negated ? Tri.True : Tri.False;
    }
}

internal enum ContainsMode
{
    One,
    All,
    Any,
}

/// <summary>json_contains / array_contains and their _all / _any forms: the value at the target must be an array.
/// A null row or missing path is unknown; a non-array is false.</summary>
internal sealed class ContainsPredicate(ValueNode target, ContainsMode mode, Scalar[] items) : RowPredicate
{
    public override Tri Test(EvalContext ctx, int row)
    {
        if (!JsonTargets.TryGet(target, ctx, row, out var e))
        {
            return Tri.Unknown;
        }

        if (e.ValueKind != JsonValueKind.Array)
        {
            return Tri.False;
        }

        switch (mode)
        {
            case ContainsMode.One:
            case ContainsMode.Any:
                foreach (var item in items)
                {
                    if (Contains(e, item))
                    {
                        return Tri.True;
                    }
                }

                return Tri.False;
            default:
                foreach (var item in items)
                {
                    if (!Contains(e, item))
                    {
                        return Tri.False;
                    }
                }

                return Tri.True;
        }
    }

    private static bool Contains(JsonElement array, Scalar item)
    {
        foreach (var x in array.EnumerateArray())
        {
            if (Compare.Equal(Scalar.FromJson(x), item))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary><c>field is [not] null</c> on a declared column: the column's null bitmap.</summary>
internal sealed class ColumnIsNullPredicate(FieldNode field, bool negated) : PredicateNode
{
    public override TriBitmap Evaluate(EvalContext ctx)
    {
        var nulls = ctx.Nulls(field.Index, field.Name);
        var t = nulls?.Clone() ?? ctx.NewBitmap();
        if (negated)
        {
            t.Not();
        }

        return new TriBitmap(t, null);
    }
}

/// <summary>A Bool column equal to a constant (<c>flag</c>, <c>flag == false</c>, <c>flag != true</c>).</summary>
internal sealed class BoolColumnPredicate(FieldNode field, bool expected) : PredicateNode
{
    public override TriBitmap Evaluate(EvalContext ctx)
    {
        var values = ctx.Column<BoolColumn>(field.Index, field.Name).Values;
        var test = new BoolEquals { Values = values, Expected = expected };
        return TriBitmap.From(BitmapBuilder.Build(ctx.RowCount, values.Length, ref test), ctx.Nulls(field.Index, field.Name));
    }

    private ref struct BoolEquals : IRowTest
    {
        public ReadOnlySpan<bool> Values;
        public bool Expected;

        public readonly bool Test(int i) => Values[i] == Expected;
    }
}

/// <summary>A VarChar column compared with a constant string, ordinal order. On a mapped (UTF-8) column equality
/// compares bytes; ordering decodes each row into a pooled buffer (UTF-8 byte order is code-point order, which differs
/// from the UTF-16 ordinal order the engine defines for strings with characters past U+FFFF).</summary>
internal sealed class StringComparePredicate(FieldNode field, FilterOp op, string value) : PredicateNode
{
    /// <summary>The constant as UTF-8, or null when it is not well-formed UTF-16 (then no stored value can equal it
    /// byte for byte, and rows are compared as text).</summary>
    private readonly byte[]? _utf8 = StrictUtf8(value);

    public override TriBitmap Evaluate(EvalContext ctx)
    {
        var column = ctx.Column<StringColumn>(field.Index, field.Name);
        var nulls = ctx.Nulls(field.Index, field.Name);
        if (op is FilterOp.Eq or FilterOp.Ne && ctx.Source.Indexes?.Inverted(field.Index, column) is { } inverted)
        {
            // Equality through the inverted index: the work is the matching rows, not a string compare per row.
            var matches = ctx.NewBitmap();
            inverted.SetRows(value, matches, ctx.RowCount);
            if (op == FilterOp.Ne)
            {
                matches.Not();
                if (nulls is not null)
                {
                    matches.AndNot(nulls);
                }
            }

            return TriBitmap.From(matches, nulls);
        }

        var bits = op switch
        {
            FilterOp.Eq => Scan<EqCmp>(ctx, column),
            FilterOp.Ne => Scan<NeCmp>(ctx, column),
            FilterOp.Lt => Scan<LtCmp>(ctx, column),
            FilterOp.Le => Scan<LeCmp>(ctx, column),
            FilterOp.Gt => Scan<GtCmp>(ctx, column),
            _ => Scan<GeCmp>(ctx, column),
        };
        return TriBitmap.From(bits, nulls);
    }

    public override SparseResult? TrySparse(EvalContext ctx)
    {
        if (op is not (FilterOp.Eq or FilterOp.Ne) || ctx.Source.Indexes?.Inverted(field.Index, ctx.Column<StringColumn>(field.Index, field.Name)) is not { } index)
        {
            return null;
        }

        var unknown = index.NullRows.Length > 0;
        if (op == FilterOp.Eq)
        {
            return SparseResult.FromRuns(index.Postings(value), index.RowCount, unknown, ctx.SparseLimit);
        }

        var left = SortedRows.Union(index.Postings(value), index.NullRows);
        return left.Length <= ctx.SparseLimit ? new SparseResult(RowSet.AllBut(left, index.RowCount), unknown) : null;
    }

    /// <summary>UTF-8 of a well-formed string, null for one with unpaired surrogates.</summary>
    private static byte[]? StrictUtf8(string s)
    {
        var bytes = new byte[Encoding.UTF8.GetMaxByteCount(s.Length)];
        return System.Text.Unicode.Utf8.FromUtf16(s, bytes, out _, out var written, replaceInvalidSequences: false) == OperationStatus.Done
            ? bytes[..written]
            : null;
    }

    private Bitmap Scan<TCmp>(EvalContext ctx, StringColumn column)
        where TCmp : struct, ICmp
    {
        var bits = ctx.NewBitmap();
        var n = ctx.RowCount;
        if (column.IsUtf8 && op is FilterOp.Eq or FilterOp.Ne && _utf8 is { } utf8)
        {
            for (var i = 0; i < n; i++)
            {
                if (!column.IsNull(i) && column.Utf8(i).SequenceEqual(utf8) == (op == FilterOp.Eq))
                {
                    bits.Set(i);
                }
            }

            return bits;
        }

        char[]? scratch = null;
        for (var i = 0; i < n; i++)
        {
            if (!column.IsNull(i) && TCmp.Sign(column.Chars(i, ref scratch).SequenceCompareTo(value)))
            {
                bits.Set(i);
            }
        }

        StringColumn.ReturnScratch(ref scratch);
        return bits;
    }
}

internal sealed class StringInPredicate(FieldNode field, HashSet<string> set) : PredicateNode
{
    public override SparseResult? TrySparse(EvalContext ctx)
    {
        if (ctx.Source.Indexes?.Inverted(field.Index, ctx.Column<StringColumn>(field.Index, field.Name)) is not { } index)
        {
            return null;
        }

        var limit = ctx.SparseLimit;
        var runs = new List<int>();
        foreach (var s in set)
        {
            runs.AddRange(index.Postings(s));
            if (runs.Count > limit)
            {
                return null;
            }
        }

        return SparseResult.FromRuns(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(runs), index.RowCount, index.NullRows.Length > 0, limit);
    }

    public override TriBitmap Evaluate(EvalContext ctx)
    {
        var column = ctx.Column<StringColumn>(field.Index, field.Name);
        var bits = ctx.NewBitmap();
        if (set.Count < 64 && ctx.Source.Indexes?.Inverted(field.Index, column) is { } index)
        {
            foreach (var s in set)
            {
                index.SetRows(s, bits, ctx.RowCount);
            }

            return TriBitmap.From(bits, ctx.Nulls(field.Index, field.Name));
        }

        var n = Math.Min(ctx.RowCount, column.Count);
        var hasLookup = set.TryGetAlternateLookup<ReadOnlySpan<char>>(out var lookup);
        char[]? scratch = null;
        for (var i = 0; i < n; i++)
        {
            if (!column.IsNull(i)
                && (hasLookup ? lookup.Contains(column.Chars(i, ref scratch)) : set.Contains(column.GetString(i)!)))
            {
                bits.Set(i);
            }
        }

        StringColumn.ReturnScratch(ref scratch);
        return TriBitmap.From(bits, ctx.Nulls(field.Index, field.Name));
    }
}

internal sealed class StringLikePredicate(FieldNode field, LikePattern pattern) : PredicateNode
{
    public override TriBitmap Evaluate(EvalContext ctx)
    {
        var column = ctx.Column<StringColumn>(field.Index, field.Name);
        var bits = ctx.NewBitmap();
        var n = Math.Min(ctx.RowCount, column.Count);
        char[]? scratch = null;
        for (var i = 0; i < n; i++)
        {
            if (!column.IsNull(i) && pattern.IsMatch(column.Chars(i, ref scratch)))
            {
                bits.Set(i);
            }
        }

        StringColumn.ReturnScratch(ref scratch);
        return TriBitmap.From(bits, ctx.Nulls(field.Index, field.Name));
    }
}

/// <summary><c>numeric in [..]</c> over a column-wise numeric value: hash lookups per row.</summary>
internal sealed class NumericInPredicate(ValueNode value, Scalar[] items) : PredicateNode
{
    /// <summary>Long items and integral double items in the Int64 range.</summary>
    private readonly HashSet<long> _longs = BuildLongs(items);

    private readonly HashSet<double> _doubles = [.. items.Where(s => s.Kind == ScalarKind.Double).Select(s => s.Double)];

    public override TriBitmap Evaluate(EvalContext ctx)
    {
        if (value is FieldNode { Field.DataType: var t } f && t.IsNumeric())
        {
            // A plain column is read at its stored width.
            var n = ctx.RowCount;
            var column = ctx.Column<NumericColumn>(f.Index, f.Name);
            var matched = column switch
            {
                NumericColumn<sbyte> x => MatchIntegers(ctx, x.Values[..n]),
                NumericColumn<short> x => MatchIntegers(ctx, x.Values[..n]),
                NumericColumn<int> x => MatchIntegers(ctx, x.Values[..n]),
                NumericColumn<long> x => MatchIntegers(ctx, x.Values[..n]),
                NumericColumn<float> x => MatchFloats(ctx, x.Values[..n]),
                NumericColumn<double> x => MatchFloats(ctx, x.Values[..n]),
                _ => throw new InvalidOperationException($"unexpected numeric column {column.GetType().Name}"),
            };
            return TriBitmap.From(matched, ctx.Nulls(f.Index, f.Name));
        }

        var v = value.EvaluateNumeric(ctx);
        var bits = ctx.NewBitmap();
        if (v.IsInteger)
        {
            var xs = v.Longs;
            for (var i = 0; i < xs.Length; i++)
            {
                if (_longs.Contains(xs[i]))
                {
                    bits.Set(i);
                }
            }
        }
        else
        {
            var xs = v.Doubles;
            for (var i = 0; i < xs.Length; i++)
            {
                if (MatchDouble(xs[i]))
                {
                    bits.Set(i);
                }
            }
        }

        var result = TriBitmap.From(bits, v.Invalid);
        v.Release();
        return result;
    }

    /// <summary>A plain numeric column: the union of the equality ranges of the items in its sorted index.</summary>
    public override SparseResult? TrySparse(EvalContext ctx)
    {
        if (ctx.Source.Indexes is not { } indexes || value is not FieldNode { Field.DataType: var t } f || !t.IsNumeric())
        {
            return null;
        }

        var column = ctx.Column<NumericColumn>(f.Index, f.Name);
        var runs = new List<int>();
        if (t.IsInteger())
        {
            // Integral double items are in _longs too; other doubles never equal an integer.
            return indexes.Sorted(f.Index, column) is { } index ? Collect(index, _longs, runs, ctx.SparseLimit) : null;
        }

        // A Float or Double value equals a long item exactly when it equals the item as a double, for items below 2^53.
        var targets = new HashSet<double>(_doubles);
        foreach (var l in _longs)
        {
            if (Math.Abs((double)l) >= NumericComparePredicate.ExactIntegerLimit)
            {
                return null;
            }

            targets.Add(l);
        }

        return indexes.SortedFloating(f.Index, column) is { } floating ? Collect(floating, targets, runs, ctx.SparseLimit) : null;
    }

    private static SparseResult? Collect<T>(SortedIndex<T> index, IEnumerable<T> items, List<int> runs, int limit)
        where T : struct, INumber<T>
    {
        foreach (var item in items)
        {
            var (lo, hi) = index.Range(FilterOp.Eq, item)!.Value;
            runs.AddRange(index.Runs(lo, hi));
            if (runs.Count > limit)
            {
                return null;
            }
        }

        return SparseResult.FromRuns(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(runs), index.RowCount, index.NullRows.Length > 0, limit);
    }

    private Bitmap MatchIntegers<T>(EvalContext ctx, ReadOnlySpan<T> xs)
        where T : unmanaged, IBinaryInteger<T>
    {
        var bits = ctx.NewBitmap();
        for (var i = 0; i < xs.Length; i++)
        {
            if (_longs.Contains(long.CreateTruncating(xs[i])))
            {
                bits.Set(i);
            }
        }

        return bits;
    }

    private Bitmap MatchFloats<T>(EvalContext ctx, ReadOnlySpan<T> xs)
        where T : unmanaged, IFloatingPoint<T>
    {
        var bits = ctx.NewBitmap();
        for (var i = 0; i < xs.Length; i++)
        {
            if (MatchDouble(double.CreateTruncating(xs[i])))
            {
                bits.Set(i);
            }
        }

        return bits;
    }

    /// <summary>Exact: an integral double in the Int64 range converts to long without rounding, so a long item equals
    /// it exactly when the converted value is in the set.</summary>
    private bool MatchDouble(double x) =>
        _doubles.Contains(x) || (Math.Floor(x) == x && Math.Abs(x) < 9223372036854775808.0 && _longs.Contains((long)x));

    private static HashSet<long> BuildLongs(Scalar[] items)
    {
        var set = new HashSet<long>();
        foreach (var s in items)
        {
            if (s.Kind == ScalarKind.Long)
            {
                set.Add(s.Long);
            }
            else if (s.Kind == ScalarKind.Double && Math.Floor(s.Double) == s.Double && Math.Abs(s.Double) < 9223372036854775808.0)
            {
                set.Add((long)s.Double);
            }
        }

        return set;
    }
}

/// <summary>Numeric comparison over column-wise values: the plain <c>field op constant</c> case and arithmetic.
/// The binder puts a constant, if any, on the right.</summary>
internal sealed class NumericComparePredicate(FilterOp op, ValueNode left, ValueNode right) : PredicateNode
{
    /// <summary>2^53: doubles below it in magnitude hold every integer exactly.</summary>
    internal const double ExactIntegerLimit = 9007199254740992.0;

    public FilterOp Op { get; } = op;

    public override TriBitmap Evaluate(EvalContext ctx)
    {
        if (TryIndex(ctx) is { } indexed)
        {
            return indexed;
        }

        if (left is FieldNode { Field.DataType: var t } f && t.IsNumeric() && right is ConstNode c)
        {
            return CompareColumn(ctx, f, NumericVector.Const(c.Value));
        }

        var a = left.EvaluateNumeric(ctx);
        var b = right.EvaluateNumeric(ctx);
        Debug.Assert(!a.IsConst, "the binder folds constant comparisons and puts constants on the right");
        Bitmap? invalid = a.Invalid;
        if (b.Invalid is { } bi)
        {
            invalid = invalid is null ? bi : Union(invalid, bi);
        }

        var bits = Op switch
        {
            FilterOp.Eq => Run<EqCmp>(ctx, a, b, Op),
            FilterOp.Ne => Run<NeCmp>(ctx, a, b, Op),
            FilterOp.Lt => Run<LtCmp>(ctx, a, b, Op),
            FilterOp.Le => Run<LeCmp>(ctx, a, b, Op),
            FilterOp.Gt => Run<GtCmp>(ctx, a, b, Op),
            _ => Run<GeCmp>(ctx, a, b, Op),
        };
        var result = TriBitmap.From(bits, invalid);
        a.Release();
        b.Release();
        return result;
    }

    /// <summary><c>field op constant</c> on an integer or floating-point column through its sorted index; <c>!=</c> is the
    /// complement of <c>==</c> (null rows left out).</summary>
    public override SparseResult? TrySparse(EvalContext ctx)
    {
        if (ctx.Source.Indexes is not { } indexes || left is not FieldNode f || right is not ConstNode c)
        {
            return null;
        }

        var complement = Op == FilterOp.Ne;
        var op = complement ? FilterOp.Eq : Op;
        if (f.Field.DataType.Storage().IsInteger() && c.Value.Kind == ScalarKind.Long)
        {
            if (indexes.Sorted(f.Index, ctx.Column<NumericColumn>(f.Index, f.Name)) is not { } index)
            {
                return null;
            }

            var (lo, hi) = index.Range(op, c.Value.Long)!.Value;
            return SparseResult.FromRange(index, lo, hi, complement, ctx.SparseLimit);
        }

        // Stored Float and Double values compare with the constant as doubles, as the scan does; a long constant is
        // exact as a double below 2^53.
        double? d = c.Value.Kind switch
        {
            ScalarKind.Double => c.Value.Double,
            ScalarKind.Long when Math.Abs((double)c.Value.Long) < ExactIntegerLimit => c.Value.Long,
            _ => null,
        };
        if (f.Field.DataType.IsFloatingPoint() && d is { } constant)
        {
            if (indexes.SortedFloating(f.Index, ctx.Column<NumericColumn>(f.Index, f.Name)) is not { } index)
            {
                return null;
            }

            var (lo, hi) = index.Range(op, constant)!.Value;
            return SparseResult.FromRange(index, lo, hi, complement, ctx.SparseLimit);
        }

        return null;
    }

    /// <summary>An integer field against an integer constant, on a source with indexes, when the sorted index says the
    /// matches are few (under 1/16 of the rows): the bitmap is built from the matching rows alone. Null rows are not in
    /// the index, so they stay unmatched, and are reported unknown as in the scan.</summary>
    private TriBitmap? TryIndex(EvalContext ctx)
    {
        if (ctx.Source.Indexes is not { } indexes || left is not FieldNode f || !f.Field.DataType.Storage().IsInteger()
            || right is not ConstNode { Value.Kind: ScalarKind.Long } c)
        {
            return null;
        }

        if (indexes.Sorted(f.Index, ctx.Column<NumericColumn>(f.Index, f.Name)) is not { } index
            || index.Range(Op, c.Value.Long) is not { } range || range.Hi - range.Lo > ctx.RowCount / 16)
        {
            return null;
        }

        return TriBitmap.From(index.ToBitmap(range.Lo, range.Hi, ctx.RowCount), ctx.Nulls(f.Index, f.Name));
    }

    /// <summary><c>field op constant</c> over the column's stored values at their own width (an Int16 column is read as
    /// shorts, a Float column as floats), with the same exact rules as the 64-bit path.</summary>
    private TriBitmap CompareColumn(EvalContext ctx, FieldNode f, NumericVector c)
    {
        var column = ctx.Column<NumericColumn>(f.Index, f.Name);
        var bits = Op switch
        {
            FilterOp.Eq => Native<EqCmp>(ctx, column, c, Op),
            FilterOp.Ne => Native<NeCmp>(ctx, column, c, Op),
            FilterOp.Lt => Native<LtCmp>(ctx, column, c, Op),
            FilterOp.Le => Native<LeCmp>(ctx, column, c, Op),
            FilterOp.Gt => Native<GtCmp>(ctx, column, c, Op),
            _ => Native<GeCmp>(ctx, column, c, Op),
        };
        return TriBitmap.From(bits, ctx.Nulls(f.Index, f.Name));
    }

    private static Bitmap Native<TCmp>(EvalContext ctx, NumericColumn column, NumericVector c, FilterOp op)
        where TCmp : struct, ICmp
    {
        var n = ctx.RowCount;
        return column switch
        {
            NumericColumn<sbyte> x => IntegerConst<sbyte, TCmp>(ctx, x.Values[..n], c, op),
            NumericColumn<short> x => IntegerConst<short, TCmp>(ctx, x.Values[..n], c, op),
            NumericColumn<int> x => IntegerConst<int, TCmp>(ctx, x.Values[..n], c, op),
            NumericColumn<long> x => IntegerConst<long, TCmp>(ctx, x.Values[..n], c, op),
            NumericColumn<float> x => FloatConst<float, TCmp>(n, x.Values[..n], c),
            NumericColumn<double> x => FloatConst<double, TCmp>(n, x.Values[..n], c),
            _ => throw new InvalidOperationException($"unexpected numeric column {column.GetType().Name}"),
        };
    }

    private static Bitmap IntegerConst<T, TCmp>(EvalContext ctx, ReadOnlySpan<T> xs, NumericVector c, FilterOp op)
        where T : unmanaged, IBinaryInteger<T>
        where TCmp : struct, ICmp
    {
        if (!c.IsInteger)
        {
            return LongVsDouble(ctx, xs, c.ConstDouble, op);
        }

        if (CompareKernels.IntegerConst<T, TCmp>(ctx.RowCount, xs, c.ConstLong) is { } vectorized)
        {
            return vectorized;
        }

        var t = new LongConst<T, TCmp> { X = xs, C = c.ConstLong };
        return BitmapBuilder.Build(ctx.RowCount, xs.Length, ref t);
    }

    private static Bitmap FloatConst<T, TCmp>(int n, ReadOnlySpan<T> xs, NumericVector c)
        where T : unmanaged, IFloatingPoint<T>
        where TCmp : struct, ICmp
    {
        if (c.IsInteger && Math.Abs((double)c.ConstLong) >= ExactIntegerLimit)
        {
            var t = new DoubleLongExact<T, TCmp> { X = xs, C = c.ConstLong };
            return BitmapBuilder.Build(n, xs.Length, ref t);
        }

        if (CompareKernels.FloatingConst<T, TCmp>(n, xs, c.ConstDouble) is { } vectorized)
        {
            return vectorized;
        }

        var d = new DoubleConst<T, TCmp> { X = xs, C = c.ConstDouble };
        return BitmapBuilder.Build(n, xs.Length, ref d);
    }

    private static Bitmap Union(Bitmap a, Bitmap b)
    {
        var u = a.Clone();
        u.Or(b);
        return u;
    }

    private static Bitmap Run<TCmp>(EvalContext ctx, NumericVector a, NumericVector b, FilterOp op)
        where TCmp : struct, ICmp
    {
        var n = ctx.RowCount;
        if (b.IsConst)
        {
            return a.IsInteger ? IntegerConst<long, TCmp>(ctx, a.Longs, b, op) : FloatConst<double, TCmp>(n, a.Doubles, b);
        }

        if (a.IsInteger && b.IsInteger)
        {
            var t = new LongLong<TCmp> { X = a.Longs, Y = b.Longs };
            return BitmapBuilder.Build(n, a.Longs.Length, ref t);
        }

        if (!a.IsInteger && !b.IsInteger)
        {
            var t = new DoubleDouble<TCmp> { X = a.Doubles, Y = b.Doubles };
            return BitmapBuilder.Build(n, a.Doubles.Length, ref t);
        }

        if (a.IsInteger)
        {
            var t = new LongDoubleMixed<TCmp> { X = a.Longs, Y = b.Doubles, Flip = false };
            return BitmapBuilder.Build(n, a.Longs.Length, ref t);
        }

        var m = new LongDoubleMixed<TCmp> { X = b.Longs, Y = a.Doubles, Flip = true };
        return BitmapBuilder.Build(n, b.Longs.Length, ref m);
    }

    /// <summary>An integer column against a fractional or out-of-range double: rewritten to an exact integer
    /// comparison (<c>x &gt; 2.5</c> is <c>x &gt; 2</c>, <c>x == 2.5</c> is never true).</summary>
    private static Bitmap LongVsDouble<T>(EvalContext ctx, ReadOnlySpan<T> xs, double c, FilterOp op)
        where T : unmanaged, IBinaryInteger<T>
    {
        var n = ctx.RowCount;
        bool? all = null;
        long bound = 0;
        var newOp = op;
        if (c >= 9223372036854775808.0)
        {
            all = op is FilterOp.Lt or FilterOp.Le or FilterOp.Ne;
        }
        else if (c < -9223372036854775808.0)
        {
            all = op is FilterOp.Gt or FilterOp.Ge or FilterOp.Ne;
        }
        else
        {
            var f = Math.Floor(c);
            bound = (long)f;
            if (f != c)
            {
                switch (op)
                {
                    case FilterOp.Eq: all = false; break;
                    case FilterOp.Ne: all = true; break;
                    case FilterOp.Lt:
                    case FilterOp.Le: newOp = FilterOp.Le; break;
                    default: newOp = FilterOp.Gt; break;
                }
            }
        }

        if (all is { } value)
        {
            return ctx.NewBitmap(value);
        }

        var bc = NumericVector.Const(Scalar.OfLong(bound));
        return newOp switch
        {
            FilterOp.Eq => IntegerConst<T, EqCmp>(ctx, xs, bc, newOp),
            FilterOp.Ne => IntegerConst<T, NeCmp>(ctx, xs, bc, newOp),
            FilterOp.Lt => IntegerConst<T, LtCmp>(ctx, xs, bc, newOp),
            FilterOp.Le => IntegerConst<T, LeCmp>(ctx, xs, bc, newOp),
            FilterOp.Gt => IntegerConst<T, GtCmp>(ctx, xs, bc, newOp),
            _ => IntegerConst<T, GeCmp>(ctx, xs, bc, newOp),
        };
    }

    /// <summary>Integers of any width against an Int64 constant (widening each value is exact).</summary>
    private ref struct LongConst<T, TCmp> : IRowTest
        where T : unmanaged, IBinaryInteger<T>
        where TCmp : struct, ICmp
    {
        public ReadOnlySpan<T> X;
        public long C;

        public readonly bool Test(int i) => TCmp.Long(long.CreateTruncating(X[i]), C);
    }

    /// <summary>Float or Double values against a double constant (a float widens to double exactly).</summary>
    private ref struct DoubleConst<T, TCmp> : IRowTest
        where T : unmanaged, IFloatingPoint<T>
        where TCmp : struct, ICmp
    {
        public ReadOnlySpan<T> X;
        public double C;

        public readonly bool Test(int i) => TCmp.Double(double.CreateTruncating(X[i]), C);
    }

    private ref struct DoubleLongExact<T, TCmp> : IRowTest
        where T : unmanaged, IFloatingPoint<T>
        where TCmp : struct, ICmp
    {
        public ReadOnlySpan<T> X;
        public long C;

        public readonly bool Test(int i) => TCmp.Sign(-Compare.LongDouble(C, double.CreateTruncating(X[i])));
    }

    private ref struct LongLong<TCmp> : IRowTest
        where TCmp : struct, ICmp
    {
        public ReadOnlySpan<long> X;
        public ReadOnlySpan<long> Y;

        public readonly bool Test(int i) => TCmp.Long(X[i], Y[i]);
    }

    private ref struct DoubleDouble<TCmp> : IRowTest
        where TCmp : struct, ICmp
    {
        public ReadOnlySpan<double> X;
        public ReadOnlySpan<double> Y;

        public readonly bool Test(int i) => TCmp.Double(X[i], Y[i]);
    }

    /// <summary>Long X against double Y exactly; with Flip the comparison is Y op X.</summary>
    private ref struct LongDoubleMixed<TCmp> : IRowTest
        where TCmp : struct, ICmp
    {
        public ReadOnlySpan<long> X;
        public ReadOnlySpan<double> Y;
        public bool Flip;

        public readonly bool Test(int i)
        {
            var s = Compare.LongDouble(X[i], Y[i]);
            return TCmp.Sign(Flip ? -s : s);
        }
    }
}

/// <summary>A per-row test over spans, inlined into <see cref="BitmapBuilder.Build"/> through struct generics.</summary>
internal interface IRowTest
{
    bool Test(int i);
}

internal static class BitmapBuilder
{
    /// <summary>Sets bit i for every i below min(rowCount, available) where the test holds, a 64-bit word at a time.
    /// Optimized on first use: filters run few times per process start, too few for tiered compilation to catch up.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Bitmap Build<T>(int rowCount, int available, scoped ref T test)
        where T : IRowTest, allows ref struct
    {
        var bitmap = new Bitmap(rowCount);
        var words = bitmap.Words;
        var n = Math.Min(rowCount, available);
        for (var w = 0; w << 6 < n; w++)
        {
            var start = w << 6;
            var end = Math.Min(64, n - start);
            ulong word = 0;
            for (var j = 0; j < end; j++)
            {
                if (test.Test(start + j))
                {
                    word |= 1UL << j;
                }
            }

            words[w] = word;
        }

        return bitmap;
    }
}

/// <summary>A comparison operator as a type, so that kernels are specialized per operator.</summary>
internal interface ICmp
{
    static abstract bool Long(long a, long b);

    static abstract bool Double(double a, double b);

    static abstract bool Sign(int sign);

    /// <summary>The comparison of two values of one numeric type (IEEE semantics for floating point: NaN is unequal to
    /// everything, and compares false otherwise).</summary>
    static abstract bool Scalar<T>(T a, T b)
        where T : INumber<T>;

    /// <summary>The comparison lane by lane: all bits set where it holds.</summary>
    static abstract Vector256<T> Vector<T>(Vector256<T> a, Vector256<T> b);

    /// <inheritdoc cref="Vector{T}(Vector256{T}, Vector256{T})"/>
    static abstract Vector128<T> Vector<T>(Vector128<T> a, Vector128<T> b);
}

internal readonly struct EqCmp : ICmp
{
    public static bool Long(long a, long b) => a == b;

    public static bool Double(double a, double b) => a == b;

    public static bool Sign(int sign) => sign == 0;

    public static bool Scalar<T>(T a, T b)
        where T : INumber<T> => a == b;

    public static Vector256<T> Vector<T>(Vector256<T> a, Vector256<T> b) => Vector256.Equals(a, b);

    public static Vector128<T> Vector<T>(Vector128<T> a, Vector128<T> b) => Vector128.Equals(a, b);
}

internal readonly struct NeCmp : ICmp
{
    public static bool Long(long a, long b) => a != b;

    public static bool Double(double a, double b) => a != b;

    public static bool Sign(int sign) => sign != 0;

    public static bool Scalar<T>(T a, T b)
        where T : INumber<T> => a != b;

    public static Vector256<T> Vector<T>(Vector256<T> a, Vector256<T> b) => ~Vector256.Equals(a, b);

    public static Vector128<T> Vector<T>(Vector128<T> a, Vector128<T> b) => ~Vector128.Equals(a, b);
}

internal readonly struct LtCmp : ICmp
{
    public static bool Long(long a, long b) => a < b;

    public static bool Double(double a, double b) => a < b;

    public static bool Sign(int sign) => sign < 0;

    public static bool Scalar<T>(T a, T b)
        where T : INumber<T> => a < b;

    public static Vector256<T> Vector<T>(Vector256<T> a, Vector256<T> b) => Vector256.LessThan(a, b);

    public static Vector128<T> Vector<T>(Vector128<T> a, Vector128<T> b) => Vector128.LessThan(a, b);
}

internal readonly struct LeCmp : ICmp
{
    public static bool Long(long a, long b) => a <= b;

    public static bool Double(double a, double b) => a <= b;

    public static bool Sign(int sign) => sign <= 0;

    public static bool Scalar<T>(T a, T b)
        where T : INumber<T> => a <= b;

    public static Vector256<T> Vector<T>(Vector256<T> a, Vector256<T> b) => Vector256.LessThanOrEqual(a, b);

    public static Vector128<T> Vector<T>(Vector128<T> a, Vector128<T> b) => Vector128.LessThanOrEqual(a, b);
}

internal readonly struct GtCmp : ICmp
{
    public static bool Long(long a, long b) => a > b;

    public static bool Double(double a, double b) => a > b;

    public static bool Sign(int sign) => sign > 0;

    public static bool Scalar<T>(T a, T b)
        where T : INumber<T> => a > b;

    public static Vector256<T> Vector<T>(Vector256<T> a, Vector256<T> b) => Vector256.GreaterThan(a, b);

    public static Vector128<T> Vector<T>(Vector128<T> a, Vector128<T> b) => Vector128.GreaterThan(a, b);
}

internal readonly struct GeCmp : ICmp
{
    public static bool Long(long a, long b) => a >= b;

    public static bool Double(double a, double b) => a >= b;

    public static bool Sign(int sign) => sign >= 0;

    public static bool Scalar<T>(T a, T b)
        where T : INumber<T> => a >= b;

    public static Vector256<T> Vector<T>(Vector256<T> a, Vector256<T> b) => Vector256.GreaterThanOrEqual(a, b);

    public static Vector128<T> Vector<T>(Vector128<T> a, Vector128<T> b) => Vector128.GreaterThanOrEqual(a, b);
}
