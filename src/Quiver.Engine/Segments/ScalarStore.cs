using System.Numerics;
using System.Text.Json;
using Quiver.Common;
using Quiver.Writes;

namespace Quiver.Segments;

/// <summary>The values of one scalar field in a segment: growable arrays of the field's own width (a growing segment), or
/// a fixed column over a mapped segment file (a sealed one). Growth allocates new arrays and copies, so a
/// <see cref="ScalarColumn"/> view taken earlier keeps reading the old arrays safely. Written by one thread at a time
/// (the shard's apply step); read by any number of snapshot holders.</summary>
internal sealed class ScalarStore
{
    private readonly ScalarColumn? _mapped;
    private Array _values;
    private ulong[]? _nulls;

    public ScalarStore(FieldSchema field, int capacity)
    {
        Field = field;
        Capacity = capacity;
        _values = NewArray(field.DataType.Storage(), capacity);
    }

    private ScalarStore(ScalarColumn mapped)
    {
        Field = mapped.Field;
        Capacity = mapped.Count;
        _mapped = mapped;
        _values = Array.Empty<byte>();
    }

    public FieldSchema Field { get; }

    public int Capacity { get; private set; }

    /// <summary>A store over a sealed segment's column; it takes no appends.</summary>
    public static ScalarStore Fixed(ScalarColumn column) => new(column);

    public void Grow(int capacity, int used)
    {
        if (capacity <= Capacity)
        {
            return;
        }

        var values = Array.CreateInstanceFromArrayType(_values.GetType(), capacity);
        Array.Copy(_values, values, used);
        if (_nulls is { } old)
        {
            var nulls = new ulong[Bitmap.WordCount(capacity)];
            old.CopyTo(nulls, 0);
            _nulls = nulls;
        }

        _values = values;
        Capacity = capacity;
    }

    /// <summary>Copies rows [start, start+count) of a batch column to rows [at, at+count), narrowing integers and
    /// Float values to the field's width (the validator has checked that they fit).</summary>
    public void Append(BatchColumn c, int start, int count, int at)
    {
        switch (_values)
        {
            case sbyte[] a: Narrow(c.Longs!, start, a, at, count); break;
            case short[] a: Narrow(c.Longs!, start, a, at, count); break;
            case int[] a: Narrow(c.Longs!, start, a, at, count); break;
            case float[] a:
                for (var i = 0; i < count; i++)
                {
                    a[at + i] = (float)c.Doubles![start + i];
                }

                break;
            default:
                Array.Copy((Array?)c.Longs ?? (Array?)c.Doubles ?? (Array?)c.Bools ?? (Array?)c.Strings ?? (Array?)c.Sparse ?? c.Json!, start, _values, at, count);
                break;
        }

        if (c.Nulls is { } nulls)
        {
            for (var i = 0; i < count; i++)
            {
                if (nulls[start + i])
                {
                    _nulls ??= new ulong[Bitmap.WordCount(Capacity)];
                    _nulls[(at + i) >> 6] |= 1UL << (at + i);
                }
            }
        }
    }

    public ScalarColumn View(int count)
    {
        if (_mapped is not null)
        {
            return _mapped;
        }

        var nulls = _nulls is null ? ReadOnlyMemory<ulong>.Empty : _nulls;
        return _values switch
        {
            sbyte[] a => ScalarColumn.Numeric<sbyte>(Field, a, count, nulls),
            short[] a => ScalarColumn.Numeric<short>(Field, a, count, nulls),
            int[] a => ScalarColumn.Numeric<int>(Field, a, count, nulls),
            long[] a => ScalarColumn.Numeric<long>(Field, a, count, nulls),
            float[] a => ScalarColumn.Numeric<float>(Field, a, count, nulls),
            double[] a => ScalarColumn.Numeric<double>(Field, a, count, nulls),
            bool[] a => new BoolColumn(Field, a, count, nulls),
            string?[] a => new StringColumn(Field, a, count, nulls),
            SparseVector?[] a => new SparseColumn(Field, a, count, nulls),
            _ => new JsonColumn(Field, (JsonElement[])_values, count, nulls),
        };
    }

    /// <summary>Copies rows out into a batch column (for compaction and sealing).</summary>
    public BatchColumn Extract(ReadOnlySpan<int> rows) => Extract(View(Capacity), rows);

    /// <summary>Copies rows of a column out into a batch column in the batch's canonical form.</summary>
    public static BatchColumn Extract(ScalarColumn column, ReadOnlySpan<int> rows)
    {
        var c = BatchColumn.Allocate(column.Field, rows.Length);
        for (var i = 0; i < rows.Length; i++)
        {
            if (column.GetValue(rows[i]) is { } v)
            {
                c.Set(i, v);
            }
            else if (column.IsNull(rows[i]))
            {
                c.SetNull(i, rows.Length);
            }
        }

        return c;
    }

    /// <summary>The storage array of a type: integers and Float at their own width.</summary>
    private static Array NewArray(DataType type, int capacity) => type switch
    {
        DataType.Int8 => new sbyte[capacity],
        DataType.Int16 => new short[capacity],
        DataType.Int32 => new int[capacity],
        DataType.Int64 => new long[capacity],
        DataType.Float => new float[capacity],
        DataType.Double => new double[capacity],
        DataType.Bool => new bool[capacity],
        DataType.VarChar => new string?[capacity],
        DataType.SparseFloatVector => new SparseVector?[capacity],
        _ => new JsonElement[capacity],
    };

    private static void Narrow<T>(long[] src, int start, T[] dst, int at, int count)
        where T : INumber<T>
    {
        for (var i = 0; i < count; i++)
        {
            dst[at + i] = T.CreateTruncating(src[start + i]);
        }
    }
}
