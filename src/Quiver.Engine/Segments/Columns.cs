using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Quiver.Writes;

namespace Quiver.Segments;

/// <summary>A read-only view of one field's values for rows [0, Count) of a segment snapshot, over managed arrays (a
/// growing segment, which over-allocates: readers never look past Count) or over a mapped segment file (a sealed
/// segment; the snapshot keeps the mapping alive). Values are held at the field's own width.
/// Concrete types: <see cref="NumericColumn{T}"/> (Int8..Int64 as sbyte..long, Float as float, Double as double),
/// <see cref="BoolColumn"/>, <see cref="StringColumn"/> (VarChar), <see cref="JsonColumn"/> (JSON, Array and the dynamic field).</summary>
internal abstract class ScalarColumn
{
    private readonly ReadOnlyMemory<ulong> _nulls;

    protected ScalarColumn(FieldSchema field, int count, ReadOnlyMemory<ulong> nulls)
    {
        Field = field;
        Count = count;
        _nulls = nulls;
    }

    public FieldSchema Field { get; }

    /// <summary>Rows visible in this view.</summary>
    public int Count { get; }

    /// <summary>True when some row may be null (the column has a null bitmap).</summary>
    public bool HasNulls => !_nulls.IsEmpty;

    /// <summary>The null bitmap as 64-bit words (set bit = null), at least ceil(Count / 64) of them, or empty when no row is
    /// null. Bits at and past <see cref="Count"/> are not part of this view.</summary>
    public ReadOnlySpan<ulong> NullWords => _nulls.Span;

    /// <summary>Whether the row is null; a mapped bitmap verifies only the page of the row's word.</summary>
    public bool IsNull(int row) => !_nulls.IsEmpty && (MappedBlock.At(_nulls, row >> 6) & (1UL << row)) != 0;

    /// <summary>The value of a row as the engine's canonical boxed form (long, double, bool, string, JsonElement) or null.
    /// The value owns its memory (it stays valid after the snapshot is released). For output paths, not for hot loops.</summary>
    public abstract object? GetValue(int row);

    /// <summary>The primary key in a row of a primary-key column (Int64 or VarChar).</summary>
    public PrimaryKey Key(int row) =>
        this is NumericColumn n ? new PrimaryKey(n.LongAt(row)) : new PrimaryKey(((StringColumn)this).GetString(row)!);

    /// <summary>A column of <paramref name="field"/>'s type over managed arrays or mapped memory of its storage type.</summary>
    public static NumericColumn Numeric<T>(FieldSchema field, ReadOnlyMemory<T> values, int count, ReadOnlyMemory<ulong> nulls)
        where T : unmanaged, INumber<T> => new NumericColumn<T>(field, values, count, nulls);
}

/// <summary>An integer or floating-point column, whatever its width. Filters read the typed values through
/// <see cref="NumericColumn{T}.Values"/>; <see cref="Longs"/> and <see cref="Doubles"/> are for the general (arithmetic)
/// path, which works on 64-bit values.</summary>
internal abstract class NumericColumn(FieldSchema field, int count, ReadOnlyMemory<ulong> nulls) : ScalarColumn(field, count, nulls)
{
    /// <summary>True for Int8..Int64, false for Float and Double.</summary>
    public bool IsInteger => Field.DataType.Storage().IsInteger();

    /// <summary>An integer column's value widened to Int64.</summary>
    public abstract long LongAt(int row);

    /// <summary>The value as a double (exact for Float and Double columns).</summary>
    public abstract double DoubleAt(int row);

    /// <summary>The first <paramref name="count"/> values as Int64: the stored values themselves for an Int64 column,
    /// otherwise widened into an array rented from <see cref="ArrayPool{T}.Shared"/> that the caller returns
    /// (<paramref name="rented"/>).</summary>
    public abstract ReadOnlySpan<long> Longs(int count, out long[]? rented);

    /// <summary>As <see cref="Longs"/>, for doubles: the stored values of a Double column, otherwise widened.</summary>
    public abstract ReadOnlySpan<double> Doubles(int count, out double[]? rented);

    public override object? GetValue(int row) => IsNull(row) ? null : IsInteger ? (object)LongAt(row) : DoubleAt(row);
}

/// <summary>Numeric values at their stored width: sbyte, short, int, long, float or double.</summary>
internal sealed class NumericColumn<T>(FieldSchema field, ReadOnlyMemory<T> values, int count, ReadOnlyMemory<ulong> nulls)
    : NumericColumn(field, count, nulls)
    where T : unmanaged, INumber<T>
{
    public ReadOnlySpan<T> Values => values.Span[..Count];

    // Point reads verify only the page of the value (MappedBlock.At); Values and the widening readers verify the block.
    public override long LongAt(int row) => long.CreateTruncating(MappedBlock.At(values, row));

    public override double DoubleAt(int row) => double.CreateTruncating(MappedBlock.At(values, row));

    public override ReadOnlySpan<long> Longs(int count, out long[]? rented) => Widen(count, out rented);

    public override ReadOnlySpan<double> Doubles(int count, out double[]? rented) => Widen(count, out rented);

    private ReadOnlySpan<TWide> Widen<TWide>(int count, out TWide[]? rented)
        where TWide : unmanaged, INumber<TWide>
    {
        var src = Values[..count];
        if (typeof(T) == typeof(TWide))
        {
            rented = null;
            return MemoryMarshal.Cast<T, TWide>(src);
        }

        rented = ArrayPool<TWide>.Shared.Rent(count);
        var dst = rented.AsSpan(0, count);
        for (var i = 0; i < dst.Length; i++)
        {
            dst[i] = TWide.CreateTruncating(src[i]);
        }

        return dst;
    }
}

internal sealed class BoolColumn(FieldSchema field, ReadOnlyMemory<bool> values, int count, ReadOnlyMemory<ulong> nulls) : ScalarColumn(field, count, nulls)
{
    public ReadOnlySpan<bool> Values => values.Span[..Count];

    public override object? GetValue(int row) => IsNull(row) ? null : MappedBlock.At(values, row);
}

/// <summary>Variable-length values in a mapped file: <c>rowCount + 1</c> Int64 offsets into a block of bytes, row r
/// holding bytes [offsets[r], offsets[r + 1]). Reading a row verifies only the pages its two offsets and its bytes lie in
/// (<see cref="MappedBlock.Range{T}"/>), so a key probe's binary search or a get reads a few pages of a large block.</summary>
internal readonly struct MappedValues(ReadOnlyMemory<long> offsets, ReadOnlyMemory<byte> bytes, string path)
{
    public ReadOnlySpan<byte> this[int row]
    {
        get
        {
            var o = MappedBlock.Range(offsets, row, 2);
            long start = o[0], end = o[1];
            if (start < 0 || start > end || end > bytes.Length)
            {
                Throw.Corrupt(path, $"value offsets of row {row} ({start}..{end}) lie outside the {bytes.Length}-byte value block");
            }

            return MappedBlock.Range(bytes, (int)start, (int)(end - start));
        }
    }
}

/// <summary>VarChar values: strings (growing segments; a null row holds null) or UTF-8 bytes in a mapped file (sealed
/// segments; a null row holds no bytes), decoded only when a row is asked for as text.</summary>
internal sealed class StringColumn : ScalarColumn
{
    private readonly string?[]? _strings;
    private readonly MappedValues _utf8;

    public StringColumn(FieldSchema field, string?[] values, int count, ReadOnlyMemory<ulong> nulls)
        : base(field, count, nulls) => _strings = values;

    public StringColumn(FieldSchema field, MappedValues utf8, int count, ReadOnlyMemory<ulong> nulls)
        : base(field, count, nulls) => _utf8 = utf8;

    /// <summary>True when the values are UTF-8 bytes (<see cref="Utf8"/>), false when they are strings.</summary>
    public bool IsUtf8 => _strings is null;

    /// <summary>The UTF-8 bytes of a row of a UTF-8 column, borrowed from the mapping (only the pages they lie in are
    /// verified).</summary>
    public ReadOnlySpan<byte> Utf8(int row) => _utf8[row];

    /// <summary>The row's value, null for a null row; a UTF-8 column decodes (and allocates) a string.</summary>
    public string? GetString(int row) =>
        IsNull(row) ? null : _strings is { } s ? s[row] : Encoding.UTF8.GetString(_utf8[row]);

    /// <summary>The row's value as UTF-16 without allocating: the string itself, or the UTF-8 bytes decoded into
    /// <paramref name="scratch"/>, a pooled buffer the caller returns with <see cref="ReturnScratch"/>. Empty for a null row.</summary>
    public ReadOnlySpan<char> Chars(int row, ref char[]? scratch)
    {
        if (_strings is { } s)
        {
            return s[row];
        }

        var bytes = _utf8[row];
        var max = Encoding.UTF8.GetMaxCharCount(bytes.Length);
        if (scratch is null || scratch.Length < max)
        {
            ReturnScratch(ref scratch);
            scratch = ArrayPool<char>.Shared.Rent(Math.Max(max, 256));
        }

        return scratch.AsSpan(0, Encoding.UTF8.GetChars(bytes, scratch));
    }

    public static void ReturnScratch(ref char[]? scratch)
    {
        if (scratch is not null)
        {
            ArrayPool<char>.Shared.Return(scratch);
            scratch = null;
        }
    }

    public override object? GetValue(int row) => GetString(row);
}

/// <summary>JSON documents, arrays (as JSON arrays whose elements obey the field's element type) and the dynamic field:
/// parsed elements (growing segments; a null row holds <c>default(JsonElement)</c>, ValueKind Undefined) or UTF-8 JSON
/// text in a mapped file (sealed segments), parsed when a row is read.</summary>
internal sealed class JsonColumn : ScalarColumn
{
    private readonly JsonElement[]? _elements;
    private readonly MappedValues _text;

    public JsonColumn(FieldSchema field, JsonElement[] values, int count, ReadOnlyMemory<ulong> nulls)
        : base(field, count, nulls) => _elements = values;

    public JsonColumn(FieldSchema field, MappedValues text, int count, ReadOnlyMemory<ulong> nulls)
        : base(field, count, nulls) => _text = text;

    /// <summary>The row's value, Undefined for a null row. The element owns its memory.</summary>
    public JsonElement Get(int row)
    {
        if (IsNull(row))
        {
            return default;
        }

        if (_elements is { } e)
        {
            return e[row];
        }

        var text = _text[row];
        return text.IsEmpty ? default : JsonElement.Parse(text);
    }

    public override object? GetValue(int row) => Get(row) is { ValueKind: not JsonValueKind.Undefined } j ? j : null;
}

/// <summary>Everything a filter needs from one segment snapshot: the schema, the row count, and a column per scalar field.</summary>
internal interface IRowSource
{
    CollectionSchema Schema { get; }

    /// <summary>Rows in this snapshot. Filter results are bitmaps of this length.</summary>
    int RowCount { get; }

    /// <summary>The column of a scalar (non-vector) field, by index in <see cref="CollectionSchema.Fields"/>.</summary>
    ScalarColumn GetColumn(int fieldIndex);

    /// <summary>The dynamic field's column (<see cref="CollectionSchema.DynamicFieldName"/>), or null when the schema has none.</summary>
    JsonColumn? Dynamic { get; }

    /// <summary>Scalar indexes over these rows, for sources that do not change (sealed segments); null otherwise.</summary>
    Filtering.ScalarIndexes? Indexes => null;
}
