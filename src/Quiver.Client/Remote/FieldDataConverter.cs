using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Wire = Quiver.Protocol.Schema;

namespace Quiver.Client.Remote;

/// <summary>
/// Converts rows to Milvus's columnar <c>schema.FieldData</c> and back. Input values obey the embedded engine's rules
/// (the same converter: any integer type for integer fields, JSON text / <see cref="JsonElement"/> / <see cref="JsonNode"/>
/// / objects for JSON, any list for arrays and vectors), so a batch the engine takes is a batch the server gets. Output
/// values are the engine's canonical CLR types (Int8 <c>sbyte</c>, Int16 <c>short</c>, Int32 <c>int</c>, Int64
/// <c>long</c>, Float <c>float</c>, Double <c>double</c>, JSON and Array <see cref="JsonElement"/>, FloatVector
/// <c>float[]</c>, dynamic keys <see cref="JsonElement"/>).
/// </summary>
/// <remarks>Wire form: Int8, Int16 and Int32 travel in <c>int_data</c>; JSON as UTF-8 bytes in <c>json_data</c>; arrays
/// as one <c>ScalarField</c> per row in <c>array_data</c> with the element type; vectors flattened in
/// <c>float_vector</c> with <c>dim</c>. A nullable field carries <c>valid_data</c> (one flag per row) and its data
/// holds only the valid rows (Milvus's compact form; reading accepts the dense form too). A missing value of a field
/// with a default is filled with the default here, so the server receives only concrete values. Undeclared keys go to
/// the <c>$meta</c> JSON column (<c>is_dynamic</c>) when the schema has a dynamic field.</remarks>
internal static class FieldDataConverter
{
    /// <summary>The columns of a batch of rows for Insert (<paramref name="upsert"/> false: an auto-id key is left to
    /// the server) or Upsert. Throws InvalidArgument naming the row and field, as the engine does.</summary>
    public static List<Wire.FieldData> ToColumns(CollectionSchema schema, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, bool upsert)
    {
        var op = upsert ? "upsert" : "insert";
        if (rows.Count == 0)
        {
            throw Invalid($"{op}: the batch has no rows");
        }

        for (var r = 0; r < rows.Count; r++)
        {
            if (rows[r] is null)
            {
                throw Invalid($"{op} rejected, nothing written: row {r} is null");
            }

            foreach (var key in rows[r].Keys)
            {
                if (schema.IndexOf(key) < 0 && !schema.EnableDynamicField)
                {
                    throw Fail(op, r, key, "unknown field, and the collection has no dynamic field");
                }
            }
        }

        var columns = new List<Wire.FieldData>(schema.Fields.Length + 1);
        foreach (var field in schema.Fields)
        {
            if (field.IsPrimaryKey && field.AutoId && !upsert)
            {
                for (var r = 0; r < rows.Count; r++)
                {
                    if (rows[r].TryGetValue(field.Name, out var v) && v is not null)
                    {
                        throw Fail(op, r, field.Name, "the primary key is auto-generated (auto_id); do not supply it");
                    }
                }

                continue;
            }

            columns.Add(Column(field, rows, op));
        }

        if (schema.EnableDynamicField)
        {
            columns.Add(DynamicColumn(schema, rows, op));
        }

        return columns;
    }

    private static Wire.FieldData Column(FieldSchema field, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, string op)
    {
        var data = new Wire.FieldData { FieldName = field.Name, Type = (Wire.DataType)(int)field.DataType };
        if (field.IsVector)
        {
            var dim = field.Dimension!.Value;
            var floats = new Wire.FloatArray();
            var buffer = new float[dim];
            for (var r = 0; r < rows.Count; r++)
            {
                rows[r].TryGetValue(field.Name, out var value);
                if (value is null or JsonElement { ValueKind: JsonValueKind.Null })
                {
                    throw Fail(op, r, field.Name, "missing required field");
                }

                if (!ValueConverter.CopyVector(field, value, buffer, out var error))
                {
                    throw Fail(op, r, field.Name, error!);
                }

                floats.Data.Add(buffer);
            }

            data.Vectors = new Wire.VectorField { Dim = dim, FloatVector = floats };
            return data;
        }

        var scalars = new Wire.ScalarField();
        data.Scalars = scalars;
        var sink = new ScalarSink(field, scalars);
        for (var r = 0; r < rows.Count; r++)
        {
            rows[r].TryGetValue(field.Name, out var value);
            if (value is null or JsonElement { ValueKind: JsonValueKind.Null })
            {
                if (field.DefaultValue is { } dv)
                {
                    value = dv;
                }
                else if (field.Nullable)
                {
                    data.ValidData.Add(false);
                    continue;
                }
                else
                {
                    throw Fail(op, r, field.Name, "missing required field");
                }
            }

            var canonical = ValueConverter.ConvertScalar(field, value, out var error);
            if (error is not null)
            {
                throw Fail(op, r, field.Name, error);
            }

            if (field.Nullable)
            {
                data.ValidData.Add(true);
            }

            sink.Add(canonical!);
        }

        return data;
    }

    private static Wire.FieldData DynamicColumn(CollectionSchema schema, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, string op)
    {
        var json = new Wire.JSONArray();
        for (var r = 0; r < rows.Count; r++)
        {
            var extra = new JsonObject();
            foreach (var (key, value) in rows[r])
            {
                if (schema.IndexOf(key) >= 0)
                {
                    continue;
                }

                if (key == CollectionSchema.DynamicFieldName)
                {
                    // Keys pre-packed under $meta, as Milvus clients may send them.
                    var packed = value is null ? null : ValueConverter.ConvertJson(value, out _);
                    if (packed is not { ValueKind: JsonValueKind.Object } obj)
                    {
                        throw Fail(op, r, key, "the dynamic field must be a JSON object");
                    }

                    foreach (var p in obj.EnumerateObject())
                    {
                        extra[p.Name] = JsonNode.Parse(p.Value.GetRawText());
                    }

                    continue;
                }

                try
                {
                    var element = value is JsonElement e ? e : JsonSerializer.SerializeToElement(value);
                    extra[key] = JsonNode.Parse(element.GetRawText());
                }
                catch (NotSupportedException ex)
                {
                    throw Fail(op, r, key, $"value cannot be stored in the dynamic field: {ex.Message}");
                }
            }

            json.Data.Add(ByteString.CopyFromUtf8(extra.ToJsonString()));
        }

        return new Wire.FieldData
        {
            FieldName = CollectionSchema.DynamicFieldName,
            Type = Wire.DataType.Json,
            IsDynamic = true,
            Scalars = new Wire.ScalarField { JsonData = json },
        };
    }

    /// <summary>Appends canonical values (long, double, bool, string, JsonElement) to the right array of a ScalarField.</summary>
    private readonly struct ScalarSink
    {
        private readonly FieldSchema _field;
        private readonly Wire.ScalarField _target;

        public ScalarSink(FieldSchema field, Wire.ScalarField target)
        {
            _field = field;
            _target = target;
            switch (field.DataType)
            {
                case DataType.Bool: target.BoolData = new Wire.BoolArray(); break;
                case DataType.Int8 or DataType.Int16 or DataType.Int32: target.IntData = new Wire.IntArray(); break;
                case DataType.Int64: target.LongData = new Wire.LongArray(); break;
                case DataType.Float: target.FloatData = new Wire.FloatArray(); break;
                case DataType.Double: target.DoubleData = new Wire.DoubleArray(); break;
                case DataType.VarChar: target.StringData = new Wire.StringArray(); break;
                case DataType.Json: target.JsonData = new Wire.JSONArray(); break;
                case DataType.Array: target.ArrayData = new Wire.ArrayArray { ElementType = (Wire.DataType)(int)field.ElementType!.Value }; break;
                default: throw Invalid($"field '{field.Name}' has unsupported data type {field.DataType}");
            }
        }

        public void Add(object value)
        {
            switch (_field.DataType)
            {
                case DataType.Bool: _target.BoolData.Data.Add((bool)value); break;
                case DataType.Int8 or DataType.Int16 or DataType.Int32: _target.IntData.Data.Add(checked((int)(long)value)); break;
                case DataType.Int64: _target.LongData.Data.Add((long)value); break;
                case DataType.Float: _target.FloatData.Data.Add((float)(double)value); break;
                case DataType.Double: _target.DoubleData.Data.Add((double)value); break;
                case DataType.VarChar: _target.StringData.Data.Add((string)value); break;
                case DataType.Json: _target.JsonData.Data.Add(ByteString.CopyFromUtf8(((JsonElement)value).GetRawText())); break;
                case DataType.Array: _target.ArrayData.Data.Add(ArrayToMilvus(_field.ElementType!.Value, (JsonElement)value)); break;
                default: throw Invalid($"field '{_field.Name}' has unsupported data type {_field.DataType}");
            }
        }
    }

    /// <summary>One array value (a JSON array already checked against the element type) as a ScalarField.</summary>
    public static Wire.ScalarField ArrayToMilvus(DataType elementType, JsonElement array)
    {
        var s = new Wire.ScalarField();
        switch (elementType)
        {
            case DataType.Bool:
                s.BoolData = new Wire.BoolArray();
                s.BoolData.Data.AddRange(array.EnumerateArray().Select(e => e.GetBoolean()));
                break;
            case DataType.Int8 or DataType.Int16 or DataType.Int32:
                s.IntData = new Wire.IntArray();
                s.IntData.Data.AddRange(array.EnumerateArray().Select(e => e.GetInt32()));
                break;
            case DataType.Int64:
                s.LongData = new Wire.LongArray();
                s.LongData.Data.AddRange(array.EnumerateArray().Select(e => e.GetInt64()));
                break;
            case DataType.Float:
                s.FloatData = new Wire.FloatArray();
                s.FloatData.Data.AddRange(array.EnumerateArray().Select(e => e.GetSingle()));
                break;
            case DataType.Double:
                s.DoubleData = new Wire.DoubleArray();
                s.DoubleData.Data.AddRange(array.EnumerateArray().Select(e => e.GetDouble()));
                break;
            case DataType.VarChar:
                s.StringData = new Wire.StringArray();
                s.StringData.Data.AddRange(array.EnumerateArray().Select(e => e.GetString()!));
                break;
            default:
                throw Invalid($"array element type {elementType} is not supported");
        }

        return s;
    }

    /// <summary>Rows of a QueryResults' or a SearchResultData's columns: <paramref name="rowCount"/> rows, each with the
    /// values of every column, dynamic keys spread into the row. A column of a type Quiver does not know is refused.</summary>
    public static Row[] FromColumns(IEnumerable<Wire.FieldData> columns, int rowCount)
    {
        var rows = new Row[rowCount];
        for (var r = 0; r < rowCount; r++)
        {
            rows[r] = [];
        }

        foreach (var column in columns)
        {
            var dynamic = column.IsDynamic || column.FieldName == CollectionSchema.DynamicFieldName;
            var reader = new ColumnReader(column);
            for (var r = 0; r < rowCount; r++)
            {
                var value = reader.Read(r);
                if (!dynamic)
                {
                    rows[r][column.FieldName] = value;
                }
                else if (value is JsonElement { ValueKind: JsonValueKind.Object } obj)
                {
                    foreach (var p in obj.EnumerateObject())
                    {
                        rows[r][p.Name] = p.Value.Clone();
                    }
                }
            }
        }

        return rows;
    }

    /// <summary>Reads one column row by row, honouring valid_data in both compact (data holds valid rows only) and dense
    /// (data holds every row) forms.</summary>
    private sealed class ColumnReader
    {
        private readonly Wire.FieldData _column;
        private readonly int _physicalCount;
        private readonly bool _compact;
        private int _nextPhysical;
        private int _lastRow = -1;

        public ColumnReader(Wire.FieldData column)
        {
            _column = column;
            _physicalCount = PhysicalCount(column);
            _compact = column.ValidData.Count > 0 && _physicalCount != column.ValidData.Count;
        }

        public object? Read(int row)
        {
            var valid = _column.ValidData;
            if (valid.Count > 0)
            {
                if (row >= valid.Count)
                {
                    throw Malformed($"column '{_column.FieldName}' has {valid.Count} valid_data flags; row {row} asked");
                }

                if (!valid[row])
                {
                    return null;
                }
            }

            int physical;
            if (_compact)
            {
                // Rows are read in order, so the physical position is the count of valid rows before this one.
                if (row != _lastRow + 1)
                {
                    _nextPhysical = valid.Take(row).Count(v => v);
                }

                physical = _nextPhysical++;
                _lastRow = row;
            }
            else
            {
                physical = row;
            }

            if (physical >= _physicalCount)
            {
                throw Malformed($"column '{_column.FieldName}' has {_physicalCount} values; row {row} asked");
            }

            return Value(physical);
        }

        private object Value(int i)
        {
            var c = _column;
            if (c.FieldCase == Wire.FieldData.FieldOneofCase.Vectors)
            {
                if (c.Vectors.DataCase != Wire.VectorField.DataOneofCase.FloatVector)
                {
                    throw Malformed($"column '{c.FieldName}' holds {c.Vectors.DataCase}, which Quiver does not support");
                }

                var dim = (int)c.Vectors.Dim;
                var v = new float[dim];
                for (var d = 0; d < dim; d++)
                {
                    v[d] = c.Vectors.FloatVector.Data[(i * dim) + d];
                }

                return v;
            }

            var s = c.Scalars;
            return s.DataCase switch
            {
                Wire.ScalarField.DataOneofCase.BoolData => s.BoolData.Data[i],
                Wire.ScalarField.DataOneofCase.IntData => c.Type switch
                {
                    // Boxed per arm: a switch of numeric arms would widen every arm to int.
                    Wire.DataType.Int8 => (object)(sbyte)s.IntData.Data[i],
                    Wire.DataType.Int16 => (object)(short)s.IntData.Data[i],
                    _ => (object)s.IntData.Data[i],
                },
                Wire.ScalarField.DataOneofCase.LongData => s.LongData.Data[i],
                Wire.ScalarField.DataOneofCase.FloatData => s.FloatData.Data[i],
                Wire.ScalarField.DataOneofCase.DoubleData => s.DoubleData.Data[i],
                Wire.ScalarField.DataOneofCase.StringData => s.StringData.Data[i],
                Wire.ScalarField.DataOneofCase.JsonData => ParseJson(s.JsonData.Data[i].Span),
                Wire.ScalarField.DataOneofCase.ArrayData => ArrayFromMilvus(s.ArrayData.Data[i]),
                _ => throw Malformed($"column '{c.FieldName}' holds {s.DataCase}, which Quiver does not support"),
            };
        }

    }

    /// <summary>Values physically present in a column (rows, unless compact nullable data leaves invalid rows out).</summary>
    public static int PhysicalCount(Wire.FieldData c)
    {
        if (c.FieldCase == Wire.FieldData.FieldOneofCase.Vectors)
        {
            return c.Vectors.Dim == 0 || c.Vectors.FloatVector is null ? 0 : c.Vectors.FloatVector.Data.Count / (int)c.Vectors.Dim;
        }

        var s = c.Scalars;
        return s?.DataCase switch
        {
            Wire.ScalarField.DataOneofCase.BoolData => s.BoolData.Data.Count,
            Wire.ScalarField.DataOneofCase.IntData => s.IntData.Data.Count,
            Wire.ScalarField.DataOneofCase.LongData => s.LongData.Data.Count,
            Wire.ScalarField.DataOneofCase.FloatData => s.FloatData.Data.Count,
            Wire.ScalarField.DataOneofCase.DoubleData => s.DoubleData.Data.Count,
            Wire.ScalarField.DataOneofCase.StringData => s.StringData.Data.Count,
            Wire.ScalarField.DataOneofCase.JsonData => s.JsonData.Data.Count,
            Wire.ScalarField.DataOneofCase.ArrayData => s.ArrayData.Data.Count,
            _ => 0,
        };
    }

    /// <summary>One array value of an <c>array_data</c> column as a JSON array.</summary>
    public static JsonElement ArrayFromMilvus(Wire.ScalarField value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            switch (value.DataCase)
            {
                case Wire.ScalarField.DataOneofCase.BoolData:
                    foreach (var b in value.BoolData.Data)
                    {
                        w.WriteBooleanValue(b);
                    }

                    break;
                case Wire.ScalarField.DataOneofCase.IntData:
                    foreach (var n in value.IntData.Data)
                    {
                        w.WriteNumberValue(n);
                    }

                    break;
                case Wire.ScalarField.DataOneofCase.LongData:
                    foreach (var n in value.LongData.Data)
                    {
                        w.WriteNumberValue(n);
                    }

                    break;
                case Wire.ScalarField.DataOneofCase.FloatData:
                    foreach (var n in value.FloatData.Data)
                    {
                        w.WriteNumberValue(n);
                    }

                    break;
                case Wire.ScalarField.DataOneofCase.DoubleData:
                    foreach (var n in value.DoubleData.Data)
                    {
                        w.WriteNumberValue(n);
                    }

                    break;
                case Wire.ScalarField.DataOneofCase.StringData:
                    foreach (var t in value.StringData.Data)
                    {
                        w.WriteStringValue(t);
                    }

                    break;
                case Wire.ScalarField.DataOneofCase.None:
                    break;
                default:
                    throw Malformed($"array element kind {value.DataCase} is not supported");
            }

            w.WriteEndArray();
        }

        return ParseJson(buffer.WrittenSpan);
    }

    private static JsonElement ParseJson(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8);
            return JsonElement.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            throw Malformed($"JSON value does not parse: {e.Message} ({Encoding.UTF8.GetString(utf8[..Math.Min(utf8.Length, 64)])})");
        }
    }

    private static QuiverException Invalid(string message) => new(QuiverErrorCode.InvalidArgument, message);

    private static QuiverException Fail(string op, int row, string field, string rule) =>
        Invalid($"{op} rejected, nothing written: row {row}, field '{field}': {rule}");

    private static QuiverException Malformed(string message) => new(QuiverErrorCode.Unavailable, $"malformed server answer: {message}");
}
