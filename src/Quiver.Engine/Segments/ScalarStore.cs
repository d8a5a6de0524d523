using System.Text.Json;
using Quiver.Common;
using Quiver.Writes;

namespace Quiver.Segments;

/// <summary>The values of one scalar field in a segment, as growable typed arrays. Growth allocates new arrays and copies,
/// so a <see cref="ScalarColumn"/> view taken earlier keeps reading the old arrays safely. Written by one thread at a time
/// (the shard's apply step); read by any number of snapshot holders.</summary>
internal sealed class ScalarStore
{
    private long[]? _longs;
    private double[]? _doubles;
    private bool[]? _bools;
    private string?[]? _strings;
    private JsonElement[]? _json;
    private Bitmap? _nulls;

    public ScalarStore(FieldSchema field, int capacity)
    {
        Field = field;
        Allocate(capacity);
    }

    public FieldSchema Field { get; }

    public int Capacity { get; private set; }

    public static ScalarStore FromColumn(FieldSchema field, BatchColumn column, int count)
    {
        var s = new ScalarStore(field, 0);
        s._longs = column.Longs;
        s._doubles = column.Doubles;
        s._bools = column.Bools;
        s._strings = column.Strings;
        s._json = column.Json;
        s.Capacity = count;
        if (column.Nulls is { } n)
        {
            s._nulls = new Bitmap(count);
            for (var i = 0; i < count; i++)
            {
                if (n[i])
                {
                    s._nulls.Set(i);
                }
            }
        }

        return s;
    }

    public void Grow(int capacity, int used)
    {
        if (capacity <= Capacity)
        {
            return;
        }

        var old = (_longs, _doubles, _bools, _strings, _json, _nulls);
        Allocate(capacity);
        if (old._longs is not null)
        {
            Array.Copy(old._longs, _longs!, used);
        }

        if (old._doubles is not null)
        {
            Array.Copy(old._doubles, _doubles!, used);
        }

        if (old._bools is not null)
        {
            Array.Copy(old._bools, _bools!, used);
        }

        if (old._strings is not null)
        {
            Array.Copy(old._strings, _strings!, used);
        }

        if (old._json is not null)
        {
            Array.Copy(old._json, _json!, used);
        }

        if (old._nulls is not null)
        {
            _nulls = new Bitmap(capacity);
            old._nulls.Words.CopyTo(_nulls.Words);
        }
    }

    /// <summary>Copies rows [start, start+count) of a batch column to rows [at, at+count).</summary>
    public void Append(BatchColumn c, int start, int count, int at)
    {
        if (c.Longs is { } l)
        {
            Array.Copy(l, start, _longs!, at, count);
        }
        else if (c.Doubles is { } d)
        {
            Array.Copy(d, start, _doubles!, at, count);
        }
        else if (c.Bools is { } b)
        {
            Array.Copy(b, start, _bools!, at, count);
        }
        else if (c.Strings is { } s)
        {
            Array.Copy(s, start, _strings!, at, count);
        }
        else
        {
            Array.Copy(c.Json!, start, _json!, at, count);
        }

        if (c.Nulls is { } nulls)
        {
            for (var i = 0; i < count; i++)
            {
                if (nulls[start + i])
                {
                    _nulls ??= new Bitmap(Capacity);
                    _nulls.Set(at + i);
                }
            }
        }
    }

    public ScalarColumn View(int count) => Field.DataType switch
    {
        DataType.Bool => new BoolColumn(Field, _bools!, count, _nulls),
        DataType.Float or DataType.Double => new DoubleColumn(Field, _doubles!, count, _nulls),
        DataType.VarChar => new StringColumn(Field, _strings!, count, _nulls),
        DataType.Json or DataType.Array => new JsonColumn(Field, _json!, count, _nulls),
        _ => new Int64Column(Field, _longs!, count, _nulls),
    };

    /// <summary>Copies rows out into a batch column (for compaction and sealing).</summary>
    public BatchColumn Extract(ReadOnlySpan<int> rows)
    {
        var c = BatchColumn.Allocate(Field, rows.Length);
        for (var i = 0; i < rows.Length; i++)
        {
            var r = rows[i];
            if (_nulls is { } n && n[r])
            {
                c.SetNull(i, rows.Length);
                continue;
            }

            if (_longs is not null)
            {
                c.Longs![i] = _longs[r];
            }
            else if (_doubles is not null)
            {
                c.Doubles![i] = _doubles[r];
            }
            else if (_bools is not null)
            {
                c.Bools![i] = _bools[r];
            }
            else if (_strings is not null)
            {
                c.Strings![i] = _strings[r];
            }
            else
            {
                c.Json![i] = _json![r];
            }
        }

        return c;
    }

    private void Allocate(int capacity)
    {
        Capacity = capacity;
        var t = Field.DataType;
        if (t.IsInteger())
        {
            _longs = new long[capacity];
        }
        else if (t.IsFloatingPoint())
        {
            _doubles = new double[capacity];
        }
        else if (t == DataType.Bool)
        {
            _bools = new bool[capacity];
        }
        else if (t == DataType.VarChar)
        {
            _strings = new string?[capacity];
        }
        else
        {
            _json = new JsonElement[capacity];
        }

        // Grow copies the old null bitmap over after this; a fresh store has no nulls yet.
        _nulls = null;
    }
}
