using System.Text.Json;
using Quiver.Segments;

namespace Quiver.Search;

/// <summary>Which fields a read returns, resolved once against the schema: declared fields by index, dynamic keys by
/// name, <c>*</c> for everything. The primary key is always included. A BM25 function's output field is never returned,
/// as in Milvus (whose <c>CanRetrieveRawFieldData</c> is false for it): <c>*</c> leaves it out and naming it is refused
/// with Milvus's message.</summary>
internal sealed class Projection
{
    private readonly List<int> _fields = [];
    /// <summary>The dynamic keys asked for by name: a set, as every row's keys are looked up in it and a request may name
    /// any number of keys (a list made 100,000 names cost minutes of CPU). Made at the first key: most searches name none.</summary>
    private HashSet<string>? _dynamicKeys;
    private bool _allDynamic;

    private Projection(CollectionSchema schema, TimeZoneInfo? zone)
    {
        Schema = schema;
        Zone = zone;
    }

    public CollectionSchema Schema { get; }

    /// <summary>The zone TIMESTAMPTZ values are written in as text; null for UTC.</summary>
    public TimeZoneInfo? Zone { get; }

    /// <summary>Milvus's refusal of an output field whose raw data cannot be read (a BM25 output), before the field name.</summary>
    public const string RawDataRefused = "not allowed to retrieve raw data of field";

    private static bool IsBm25Output(CollectionSchema schema, string field) =>
        !schema.Functions.IsDefaultOrEmpty && Sparse.Bm25Function.Writing(schema, field) is not null;

    public static Projection Resolve(CollectionSchema schema, IReadOnlyList<string> outputFields, bool includeVectorsForStar = true, TimeZoneInfo? zone = null)
    {
        var p = new Projection(schema, zone);
        var pkIndex = schema.IndexOf(schema.PrimaryKey.Name);
        p._fields.Add(pkIndex);
        foreach (var raw in outputFields)
        {
            var name = raw.Trim();
            if (name == "*")
            {
                for (var i = 0; i < schema.Fields.Length; i++)
                {
                    if (!p._fields.Contains(i) && (includeVectorsForStar || !(schema.Fields[i].IsVector || schema.Fields[i].IsSparseVector))
                        && !IsBm25Output(schema, schema.Fields[i].Name))
                    {
                        p._fields.Add(i);
                    }
                }

                p._allDynamic = schema.EnableDynamicField;
                continue;
            }

            var idx = schema.IndexOf(name);
            if (idx >= 0)
            {
                if (IsBm25Output(schema, name))
                {
                    Throw.Invalid($"{RawDataRefused} {name}");
                }

                if (!p._fields.Contains(idx))
                {
                    p._fields.Add(idx);
                }

                continue;
            }

            if (!schema.EnableDynamicField)
            {
                Throw.Invalid($"output field '{name}' does not exist in the schema, and the collection has no dynamic field");
            }

            if (name == CollectionSchema.DynamicFieldName)
            {
                p._allDynamic = true;
            }
            else
            {
                (p._dynamicKeys ??= new HashSet<string>(StringComparer.Ordinal)).Add(name);
            }
        }

        return p;
    }

    /// <summary>Builds the output row for one row of a segment snapshot.</summary>
    public Row Materialize(SegmentSnapshot snap, int row)
    {
        var result = new Row();
        foreach (var f in _fields)
        {
            var field = Schema.Fields[f];
            if (field.IsVector)
            {
                var view = snap.Vectors[f];
                var slots = view.Row(row);
                result[field.Name] = view.IsNull(row) ? null : field.DataType == DataType.BinaryVector ? VectorCodec.Encode(field, slots) : slots.ToArray();
            }
            else
            {
                result[field.Name] = ToApi(field, snap.GetColumn(f).GetValue(row), Zone);
            }
        }

        if ((_allDynamic || _dynamicKeys is not null) && snap.Dynamic is { } dyn && dyn.Get(row) is { ValueKind: JsonValueKind.Object } obj)
        {
            foreach (var p in obj.EnumerateObject())
            {
                if (_allDynamic || _dynamicKeys!.Contains(p.Name))
                {
                    result[p.Name] = p.Value.Clone();
                }
            }
        }

        return result;
    }

    /// <summary>The requested fields of the given rows as columns (declared fields in projection order, the primary key
    /// first; the requested dynamic keys as one JSON object per row), read straight from the segment columns: no
    /// per-row dictionary. <paramref name="rows"/> holds (segment index in <paramref name="segments"/>, row).</summary>
    public ColumnBatch Collect(IReadOnlyList<SegmentSnapshot> segments, IReadOnlyList<(int Segment, int Row)> rows)
    {
        var batch = new ColumnBatch(rows.Count);
        foreach (var f in _fields)
        {
            var field = Schema.Fields[f];
            var column = FieldColumn.Allocate(field, rows.Count);
            if (Zone is not null && field.DataType == DataType.Timestamptz)
            {
                column = new FieldColumn { Name = column.Name, Longs = column.Longs, Nulls = column.Nulls, TimeZone = Zone };
            }

            if (field.IsVector)
            {
                var dim = field.VectorWidth();
                for (var i = 0; i < rows.Count; i++)
                {
                    var (s, r) = rows[i];
                    var view = segments[s].Vectors[f];
                    if (view.IsNull(r))
                    {
                        column.Nulls![i] = true;
                        continue;
                    }

                    view.Row(r).CopyTo(column.Vectors.AsSpan(i * dim, dim));
                }
            }
            else
            {
                CollectScalar(column, f, segments, rows);
            }

            batch.Add(column);
        }

        if (_allDynamic || _dynamicKeys is not null)
        {
            var dynamic = new JsonElement[rows.Count];
            for (var i = 0; i < rows.Count; i++)
            {
                var (s, r) = rows[i];
                if (segments[s].Dynamic is { } dyn && dyn.Get(r) is { ValueKind: JsonValueKind.Object } obj)
                {
                    dynamic[i] = _allDynamic ? obj : SelectKeys(obj);
                }
            }

            batch.Dynamic = dynamic;
        }

        return batch;
    }

    private JsonElement SelectKeys(JsonElement obj)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            foreach (var p in obj.EnumerateObject())
            {
                if (_dynamicKeys!.Contains(p.Name))
                {
                    p.WriteTo(w);
                }
            }

            w.WriteEndObject();
        }

        var reader = new Utf8JsonReader(buffer.WrittenSpan);
        return JsonElement.ParseValue(ref reader);
    }

    /// <summary>Reads one scalar field of the given rows straight into <paramref name="column"/>'s typed array: numbers at
    /// their stored width widened into the Int64 / double array, bools, strings (decoded once from a sealed segment's
    /// UTF-8), JSON elements; nulls into the null array. No value is boxed.</summary>
    private static void CollectScalar(FieldColumn column, int field, IReadOnlyList<SegmentSnapshot> segments, IReadOnlyList<(int Segment, int Row)> rows)
    {
        // Hits arrive ordered by score, not by segment, so the column is looked up per row; the lookup is an array read.
        for (var i = 0; i < rows.Count; i++)
        {
            var (s, r) = rows[i];
            var source = segments[s].GetColumn(field);
            if (source.IsNull(r))
            {
                if (column.Nulls is { } nulls)
                {
                    nulls[i] = true;
                }

                continue; // a string or JSON row without a value reads as null already
            }

            switch (source)
            {
                case NumericColumn n when column.Longs is { } longs: longs[i] = n.LongAt(r); break;
                case NumericColumn n: column.Doubles![i] = n.DoubleAt(r); break;
                case BoolColumn b: column.Bools![i] = b.Values[r]; break;
                case StringColumn t: column.Strings![i] = t.GetString(r); break;
                case JsonColumn j: column.Json![i] = j.Get(r); break;
                case SparseColumn v: column.Sparse![i] = v.Get(r); break;
                default: throw new InvalidOperationException($"unexpected column {source.GetType()} for field {source.Field.Name}");
            }
        }
    }

    /// <summary>The canonical stored value (long, double, bool, string, JsonElement) as the CLR type of the field's type;
    /// a Timestamptz as its RFC 3339 text in <paramref name="zone"/> (UTC when null), as Milvus returns it.</summary>
    public static object? ToApi(FieldSchema field, object? value, TimeZoneInfo? zone = null) => value is null ? null : field.DataType switch
    {
        DataType.Int8 => (sbyte)(long)value,
        DataType.Int16 => (short)(long)value,
        DataType.Int32 => (int)(long)value,
        DataType.Float => (float)(double)value,
        DataType.Timestamptz => Timestamptz.Format((long)value, zone),
        _ => value,
    };
}
