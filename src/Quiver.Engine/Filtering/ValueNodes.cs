using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Quiver.Common;
using Quiver.Segments;

namespace Quiver.Filtering;

/// <summary>Static type of a bound value.</summary>
internal enum FilterType
{
    Integer,
    Float,
    String,
    Bool,
    /// <summary>A JSON value whose type is known only per row.</summary>
    Json,
    /// <summary>A whole Array field (usable only with an index or the array functions).</summary>
    Array,
    /// <summary>A constant list.</summary>
    List,
}

/// <summary>A numeric column-wise value: either a constant or a span of longs/doubles, plus the rows whose value is
/// null or undefined (division by zero, overflow). Spans borrow the column's storage or a scratch array.</summary>
internal ref struct NumericVector
{
    public bool IsInteger;
    public bool IsConst;
    public long ConstLong;
    public double ConstDouble;
    public ReadOnlySpan<long> Longs;
    public ReadOnlySpan<double> Doubles;
    public Bitmap? Invalid;

    /// <summary>Scratch arrays from <see cref="ArrayPool{T}.Shared"/> behind the spans; the consumer returns them
    /// with <see cref="Release"/> once it is done with the values.</summary>
    public long[]? RentedLongs;
    public double[]? RentedDoubles;

    public static NumericVector Const(Scalar s) => s.Kind == ScalarKind.Long
        ? new NumericVector { IsInteger = true, IsConst = true, ConstLong = s.Long, ConstDouble = s.Long }
        : new NumericVector { IsConst = true, ConstDouble = s.Double };

    /// <summary>This vector as doubles; when it holds longs the doubles go into a rented array that the caller
    /// returns to the pool (<paramref name="rented"/>).</summary>
    public readonly ReadOnlySpan<double> AsDoubles(ref double[]? rented)
    {
        if (!IsInteger)
        {
            return Doubles;
        }

        rented = ArrayPool<double>.Shared.Rent(Longs.Length);
        var d = rented.AsSpan(0, Longs.Length);
        for (var i = 0; i < d.Length; i++)
        {
            d[i] = Longs[i];
        }

        return d;
    }

    public void Release()
    {
        if (RentedLongs is { } l)
        {
            ArrayPool<long>.Shared.Return(l);
            RentedLongs = null;
        }

        if (RentedDoubles is { } d)
        {
            ArrayPool<double>.Shared.Return(d);
            RentedDoubles = null;
        }
    }
}

/// <summary>A bound value expression. Numeric trees over declared columns evaluate column-wise through
/// <see cref="EvaluateNumeric"/>; everything (including those) can also be read per row through <see cref="GetRow"/>,
/// which the JSON and array predicates use.</summary>
internal abstract class ValueNode(int position, string token, FilterType type)
{
    public int Position { get; } = position;

    public string Token { get; } = token;

    public FilterType Type { get; } = type;

    public bool IsNumeric => Type is FilterType.Integer or FilterType.Float;

    /// <summary>True when <see cref="EvaluateNumeric"/> is available (numeric, no JSON inside).</summary>
    public virtual bool IsColumnar => false;

    public virtual NumericVector EvaluateNumeric(EvalContext ctx) => throw new InvalidOperationException($"{GetType().Name} is not column-wise");

    public abstract Scalar GetRow(EvalContext ctx, int row);
}

internal sealed class ConstNode(int position, string token, Scalar value) : ValueNode(position, token, TypeOf(value))
{
    public Scalar Value { get; } = value;

    public override bool IsColumnar => IsNumeric;

    public override NumericVector EvaluateNumeric(EvalContext ctx) => NumericVector.Const(Value);

    public override Scalar GetRow(EvalContext ctx, int row) => Value;

    public static FilterType TypeOf(Scalar s) => s.Kind switch
    {
        ScalarKind.Long => FilterType.Integer,
        ScalarKind.Double => FilterType.Float,
        ScalarKind.String => FilterType.String,
        ScalarKind.Bool => FilterType.Bool,
        ScalarKind.List => FilterType.List,
        _ => FilterType.Json,
    };
}

/// <summary>A declared scalar field (or the whole dynamic field, index -1).</summary>
internal sealed class FieldNode(int position, string token, int index, FieldSchema field) : ValueNode(position, token, TypeOf(field.DataType))
{
    public int Index { get; } = index;

    public FieldSchema Field { get; } = field;

    public string Name => Field.Name;

    public override bool IsColumnar => IsNumeric;

    public override NumericVector EvaluateNumeric(EvalContext ctx)
    {
        // The general path works on 64-bit values: an Int64 or Double column lends its own storage, a narrower one is
        // widened into a pooled array (the common `field op constant` and `field in [...]` read the stored width instead).
        var invalid = ctx.Nulls(Index, Name);
        var column = ctx.Column<NumericColumn>(Index, Name);
        if (Type == FilterType.Integer)
        {
            var longs = column.Longs(ctx.RowCount, out var rented);
            return new NumericVector { IsInteger = true, Longs = longs, RentedLongs = rented, Invalid = invalid };
        }

        var doubles = column.Doubles(ctx.RowCount, out var rentedDoubles);
        return new NumericVector { Doubles = doubles, RentedDoubles = rentedDoubles, Invalid = invalid };
    }

    public override Scalar GetRow(EvalContext ctx, int row)
    {
        var column = ctx.Column(Index, Name);
        if (row >= column.Count || column.IsNull(row))
        {
            return Scalar.Missing;
        }

        return column switch
        {
            NumericColumn { IsInteger: true } c => Scalar.OfLong(c.LongAt(row)),
            NumericColumn c => Scalar.OfDouble(c.DoubleAt(row)),
            BoolColumn c => Scalar.OfBool(c.Values[row]),
            StringColumn c => c.GetString(row) is { } s ? Scalar.OfString(s) : Scalar.Missing,
            JsonColumn c => Scalar.FromJson(c.Get(row)),
            _ => Scalar.Missing,
        };
    }

    public static FilterType TypeOf(DataType t) => t.Storage() switch
    {
        _ when t.IsInteger() => FilterType.Integer,
        _ when t.IsFloatingPoint() => FilterType.Float,
        DataType.Bool => FilterType.Bool,
        DataType.VarChar => FilterType.String,
        DataType.Array => FilterType.Array,
        _ => FilterType.Json,
    };
}

/// <summary>A path into a JSON, Array or dynamic field: <c>meta["a"][0]</c>, <c>tags[2]</c>, or an undeclared name
/// <c>color</c> meaning <c>$meta["color"]</c>. Evaluated per row.</summary>
internal sealed class PathNode(int position, string token, FieldNode field, object[] path, FilterType type)
    : ValueNode(position, token, type)
{
    public FieldNode Field { get; } = field;

    /// <summary>Keys (string) and indexes (long), outermost first.</summary>
    public object[] Path { get; } = path;

    /// <summary>The element at the path, or false when the row is null or the path does not exist.</summary>
    public bool TryGetElement(EvalContext ctx, int row, out JsonElement element)
    {
        element = ctx.Json(Field.Index, Field.Name, row);
        if (element.ValueKind == JsonValueKind.Undefined)
        {
            return false;
        }

        foreach (var key in Path)
        {
            if (key is string s)
            {
                if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(s, out element))
                {
                    return false;
                }
            }
            else
            {
                var i = (long)key;
                if (element.ValueKind != JsonValueKind.Array || i >= element.GetArrayLength())
                {
                    return false;
                }

                element = element[(int)i];
            }
        }

        return element.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined);
    }

    public override Scalar GetRow(EvalContext ctx, int row) =>
        TryGetElement(ctx, row, out var e) ? Scalar.FromJson(e) : Scalar.Missing;
}

/// <summary><c>left op right</c> for + - * / % **. Integer when both sides are integers (except **), with
/// overflow and division by zero making the row's value undefined; double otherwise.</summary>
internal sealed class ArithNode(int position, string token, FilterOp op, ValueNode left, ValueNode right, FilterType type)
    : ValueNode(position, token, type)
{
    public FilterOp Op { get; } = op;

    public ValueNode Left { get; } = left;

    public ValueNode Right { get; } = right;

    public override bool IsColumnar => Left.IsColumnar && Right.IsColumnar;

    // Recursive over operands, at most FilterLimits.MaxDepth deep: optimized frames from the first call keep that
    // within a small stack.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override NumericVector EvaluateNumeric(EvalContext ctx)
    {
        var a = Left.EvaluateNumeric(ctx);
        var b = Right.EvaluateNumeric(ctx);
        var invalid = ctx.NewBitmap();
        if (a.Invalid is { } ai)
        {
            invalid.Or(ai);
        }

        if (b.Invalid is { } bi)
        {
            invalid.Or(bi);
        }

        var n = ctx.RowCount;
        if (Type == FilterType.Integer)
        {
            var rented = ArrayPool<long>.Shared.Rent(n);
            var dst = rented.AsSpan(0, n);
            switch (Op)
            {
                case FilterOp.Add: ArithKernels.Longs<AddOp>(a, b, dst, invalid); break;
                case FilterOp.Sub: ArithKernels.Longs<SubOp>(a, b, dst, invalid); break;
                case FilterOp.Mul: ArithKernels.Longs<MulOp>(a, b, dst, invalid); break;
                case FilterOp.Div: ArithKernels.Longs<DivOp>(a, b, dst, invalid); break;
                default: ArithKernels.Longs<ModOp>(a, b, dst, invalid); break;
            }

            a.Release();
            b.Release();
            return new NumericVector { IsInteger = true, Longs = dst, Invalid = invalid, RentedLongs = rented };
        }

        var rentedDoubles = ArrayPool<double>.Shared.Rent(n);
        var dd = rentedDoubles.AsSpan(0, n);
        switch (Op)
        {
            case FilterOp.Add: ArithKernels.Doubles<AddOp>(a, b, dd, invalid); break;
            case FilterOp.Sub: ArithKernels.Doubles<SubOp>(a, b, dd, invalid); break;
            case FilterOp.Mul: ArithKernels.Doubles<MulOp>(a, b, dd, invalid); break;
            case FilterOp.Div: ArithKernels.Doubles<DivOp>(a, b, dd, invalid); break;
            case FilterOp.Mod: ArithKernels.Doubles<ModOp>(a, b, dd, invalid); break;
            default: ArithKernels.Doubles<PowOp>(a, b, dd, invalid); break;
        }

        a.Release();
        b.Release();
        return new NumericVector { Doubles = dd, Invalid = invalid, RentedDoubles = rentedDoubles };
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override Scalar GetRow(EvalContext ctx, int row) => Apply(Op, Left.GetRow(ctx, row), Right.GetRow(ctx, row));

    /// <summary>The per-row (and constant-folding) form of the arithmetic; the same rules as the kernels.</summary>
    public static Scalar Apply(FilterOp op, Scalar a, Scalar b)
    {
        if (!a.IsNumber || !b.IsNumber)
        {
            return Scalar.Missing;
        }

        if (a.Kind == ScalarKind.Long && b.Kind == ScalarKind.Long && op != FilterOp.Pow)
        {
            long r = 0;
            var ok = op switch
            {
                FilterOp.Add => AddOp.TryApply(a.Long, b.Long, out r),
                FilterOp.Sub => SubOp.TryApply(a.Long, b.Long, out r),
                FilterOp.Mul => MulOp.TryApply(a.Long, b.Long, out r),
                FilterOp.Div => DivOp.TryApply(a.Long, b.Long, out r),
                _ => ModOp.TryApply(a.Long, b.Long, out r),
            };
            return ok ? Scalar.OfLong(r) : Scalar.Missing;
        }

        double x = a.AsDouble(), y = b.AsDouble();
        var d = op switch
        {
            FilterOp.Add => AddOp.Apply(x, y),
            FilterOp.Sub => SubOp.Apply(x, y),
            FilterOp.Mul => MulOp.Apply(x, y),
            FilterOp.Div => DivOp.Apply(x, y),
            FilterOp.Mod => ModOp.Apply(x, y),
            _ => PowOp.Apply(x, y),
        };
        return Scalar.OfDouble(d);
    }
}

/// <summary><c>array_length(x)</c>: the length of an Array field or JSON array per row; undefined when the row is
/// null or the value is not an array.</summary>
internal sealed class ArrayLengthNode(int position, string token, ValueNode target) : ValueNode(position, token, FilterType.Integer)
{
    public ValueNode Target { get; } = target;

    public override bool IsColumnar => true;

    public override NumericVector EvaluateNumeric(EvalContext ctx)
    {
        var n = ctx.RowCount;
        var rented = ArrayPool<long>.Shared.Rent(n);
        var lengths = rented.AsSpan(0, n);
        var invalid = ctx.NewBitmap();
        for (var row = 0; row < n; row++)
        {
            if (TryLength(ctx, row, out var len))
            {
                lengths[row] = len;
            }
            else
            {
                invalid.Set(row);
            }
        }

        return new NumericVector { IsInteger = true, Longs = lengths, Invalid = invalid, RentedLongs = rented };
    }

    public override Scalar GetRow(EvalContext ctx, int row) => TryLength(ctx, row, out var len) ? Scalar.OfLong(len) : Scalar.Missing;

    private bool TryLength(EvalContext ctx, int row, out int length)
    {
        length = 0;
        if (!JsonTargets.TryGet(Target, ctx, row, out var e) || e.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        length = e.GetArrayLength();
        return true;
    }
}

/// <summary>Reads the JSON element behind a whole JSON/Array field or a path.</summary>
internal static class JsonTargets
{
    public static bool TryGet(ValueNode target, EvalContext ctx, int row, out JsonElement element)
    {
        if (target is PathNode p)
        {
            return p.TryGetElement(ctx, row, out element);
        }

        var f = (FieldNode)target;
        element = ctx.Json(f.Index, f.Name, row);
        return element.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null);
    }
}

internal interface IArithOp
{
    static abstract bool TryApply(long a, long b, out long result);

    /// <summary>NaN marks an undefined result (division by zero).</summary>
    static abstract double Apply(double a, double b);
}

internal readonly struct AddOp : IArithOp
{
    public static bool TryApply(long a, long b, out long result)
    {
        result = unchecked(a + b);
        return ((a ^ result) & (b ^ result)) >= 0;
    }

    public static double Apply(double a, double b) => a + b;
}

internal readonly struct SubOp : IArithOp
{
    public static bool TryApply(long a, long b, out long result)
    {
        result = unchecked(a - b);
        return ((a ^ b) & (a ^ result)) >= 0;
    }

    public static double Apply(double a, double b) => a - b;
}

internal readonly struct MulOp : IArithOp
{
    public static bool TryApply(long a, long b, out long result)
    {
        var high = Math.BigMul(a, b, out result);
        return high == (result >> 63);
    }

    public static double Apply(double a, double b) => a * b;
}

internal readonly struct DivOp : IArithOp
{
    public static bool TryApply(long a, long b, out long result)
    {
        if (b == 0 || (b == -1 && a == long.MinValue))
        {
            result = 0;
            return false;
        }

        result = a / b;
        return true;
    }

    public static double Apply(double a, double b) => b == 0 ? double.NaN : a / b;
}

internal readonly struct ModOp : IArithOp
{
    public static bool TryApply(long a, long b, out long result)
    {
        if (b == 0)
        {
            result = 0;
            return false;
        }

        result = b == -1 ? 0 : a % b;
        return true;
    }

    public static double Apply(double a, double b) => b == 0 ? double.NaN : a % b;
}

internal readonly struct PowOp : IArithOp
{
    public static bool TryApply(long a, long b, out long result) => throw new InvalidOperationException("** is evaluated in double");

    public static double Apply(double a, double b) => Math.Pow(a, b);
}

internal static class ArithKernels
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Longs<TOp>(NumericVector a, NumericVector b, Span<long> dst, Bitmap invalid)
        where TOp : struct, IArithOp
    {
        if (a.IsConst)
        {
            var x = a.ConstLong;
            var ys = b.Longs;
            for (var i = 0; i < dst.Length; i++)
            {
                if (!TOp.TryApply(x, ys[i], out dst[i]))
                {
                    invalid.Set(i);
                }
            }
        }
        else if (b.IsConst)
        {
            var xs = a.Longs;
            var y = b.ConstLong;
            for (var i = 0; i < dst.Length; i++)
            {
                if (!TOp.TryApply(xs[i], y, out dst[i]))
                {
                    invalid.Set(i);
                }
            }
        }
        else
        {
            var xs = a.Longs;
            var ys = b.Longs;
            for (var i = 0; i < dst.Length; i++)
            {
                if (!TOp.TryApply(xs[i], ys[i], out dst[i]))
                {
                    invalid.Set(i);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Doubles<TOp>(NumericVector a, NumericVector b, Span<double> dst, Bitmap invalid)
        where TOp : struct, IArithOp
    {
        double[]? rentedA = null, rentedB = null;
        if (a.IsConst)
        {
            var x = a.ConstDouble;
            var ys = b.AsDoubles(ref rentedB);
            for (var i = 0; i < dst.Length; i++)
            {
                dst[i] = TOp.Apply(x, ys[i]);
            }
        }
        else if (b.IsConst)
        {
            var xs = a.AsDoubles(ref rentedA);
            var y = b.ConstDouble;
            for (var i = 0; i < dst.Length; i++)
            {
                dst[i] = TOp.Apply(xs[i], y);
            }
        }
        else
        {
            var xs = a.AsDoubles(ref rentedA);
            var ys = b.AsDoubles(ref rentedB);
            for (var i = 0; i < dst.Length; i++)
            {
                dst[i] = TOp.Apply(xs[i], ys[i]);
            }
        }

        for (var i = 0; i < dst.Length; i++)
        {
            if (double.IsNaN(dst[i]))
            {
                invalid.Set(i);
            }
        }

        if (rentedA is not null)
        {
            ArrayPool<double>.Shared.Return(rentedA);
        }

        if (rentedB is not null)
        {
            ArrayPool<double>.Shared.Return(rentedB);
        }
    }
}
