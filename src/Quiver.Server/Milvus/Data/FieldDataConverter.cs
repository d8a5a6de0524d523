using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Quiver.Protocol.Schema;
using ProtoDataType = Quiver.Protocol.Schema.DataType;

namespace Quiver.Server.Milvus.Data;

/// <summary>
/// Converts between Milvus's columnar <c>schema.FieldData</c> and the engine's rows. Input columns (insert, upsert)
/// become one dictionary per row; engine rows (query, search) become one column per output field. Nullable columns
/// carry <c>valid_data</c>: on input the values may be row-dense (one per row) or compact (one per valid row), as the
/// Node SDK reads both; on output Quiver sends row-dense values, a type's zero where the row is null. The dynamic field
/// <c>$meta</c> travels as one JSON object per row.
/// </summary>
internal static class FieldDataConverter
{
    /// <summary>Milvus numbers user fields from 100 in declaration order; Quiver reports the same ids.</summary>
    public const long FirstFieldId = 100;

    /// <summary>Turns the columns of an insert or upsert into engine rows. Throws <see cref="MilvusException"/> naming
    /// the field (and row where there is one) when a column does not fit the schema.</summary>
    /// <param name="schema">The collection's schema.</param>
    /// <param name="columns">The request's <c>fields_data</c>.</param>
    /// <param name="numRows">The request's <c>num_rows</c>; 0 means "infer from the columns".</param>
    /// <param name="op">"insert" or "upsert", for messages.</param>
    public static List<Dictionary<string, object?>> ToRows(CollectionSchema schema, IReadOnlyList<FieldData> columns, uint numRows, string op)
    {
        if (columns.Count == 0)
        {
            throw Invalid($"{op}: no fields_data in the request");
        }

        var rowCount = numRows > 0 ? checked((int)numRows) : InferRowCount(schema, columns[0]);
        var rows = new List<Dictionary<string, object?>>(rowCount);
        for (var i = 0; i < rowCount; i++)
        {
            rows.Add(new Dictionary<string, object?>(StringComparer.Ordinal));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var column in columns)
        {
            var name = column.FieldName;
            if (!seen.Add(name))
            {
                throw Invalid($"{op}: field '{name}' appears twice in fields_data");
            }

            if (column.IsDynamic || name == CollectionSchema.DynamicFieldName)
            {
                if (!schema.EnableDynamicField)
                {
                    throw Invalid($"{op}: the collection has no dynamic field, but fields_data carries '{name}'");
                }

                ReadDynamic(schema, column, rows, op);
                continue;
            }

            var field = schema.Find(name) ?? throw new MilvusException(MilvusCode.ParameterInvalid,
                $"{op}: field '{name}' does not exist in the collection schema");
            if ((int)column.Type != (int)field.DataType && !(column.Type == ProtoDataType.String && field.DataType == Quiver.DataType.VarChar))
            {
                throw Invalid($"{op}: field '{name}' is {field.DataType} in the schema, but fields_data sends {column.Type}");
            }

            if (field.IsVector)
            {
                ReadVectors(field, column, rows, op);
            }
            else
            {
                ReadScalars(field, column, rows, op);
            }
        }

        return rows;
    }

    /// <summary>The number of values a column carries (vectors at their stated dimension), without a schema.</summary>
    internal static long ColumnLength(FieldData column) => column.Vectors is { } v
        ? (v.FloatVector is null || v.Dim <= 0 ? 0 : v.FloatVector.Data.Count / v.Dim)
        : column.Scalars is { } scalars ? ScalarCount(scalars) : 0;

    private static int InferRowCount(CollectionSchema schema, FieldData column)
    {
        if (column.ValidData.Count > 0)
        {
            return column.ValidData.Count;
        }

        if (column.Vectors is { } v)
        {
            var dim = v.Dim > 0 ? v.Dim : schema.Find(column.FieldName)?.Dimension ?? 1;
            return v.FloatVector is null ? 0 : (int)(v.FloatVector.Data.Count / dim);
        }

        return column.Scalars is null ? 0 : ScalarCount(column.Scalars);
    }

    /// <summary>The number of values a scalar column carries, whatever its type.</summary>
    internal static int ScalarCount(ScalarField s) => s.DataCase switch
    {
        ScalarField.DataOneofCase.BoolData => s.BoolData.Data.Count,
        ScalarField.DataOneofCase.IntData => s.IntData.Data.Count,
        ScalarField.DataOneofCase.LongData => s.LongData.Data.Count,
        ScalarField.DataOneofCase.FloatData => s.FloatData.Data.Count,
        ScalarField.DataOneofCase.DoubleData => s.DoubleData.Data.Count,
        ScalarField.DataOneofCase.StringData => s.StringData.Data.Count,
        ScalarField.DataOneofCase.JsonData => s.JsonData.Data.Count,
        ScalarField.DataOneofCase.ArrayData => s.ArrayData.Data.Count,
        ScalarField.DataOneofCase.BytesData => s.BytesData.Data.Count,
        _ => 0,
    };

    private static void ReadVectors(FieldSchema field, FieldData column, List<Dictionary<string, object?>> rows, string op)
    {
        var dim = field.Dimension!.Value;
        if (column.Vectors?.FloatVector is not { } data)
        {
            throw Invalid($"{op}: field '{field.Name}' is a FloatVector field, but fields_data carries no float_vector data");
        }

        if (column.Vectors.Dim != 0 && column.Vectors.Dim != dim)
        {
            throw Invalid($"{op}: the dim ({column.Vectors.Dim}) of field data ({field.Name}) is not equal to schema dim ({dim})");
        }

        if (data.Data.Count != (long)dim * rows.Count)
        {
            throw Invalid($"{op}: field '{field.Name}' carries {data.Data.Count} floats for {rows.Count} rows of dimension {dim}; expected {(long)dim * rows.Count}");
        }

        for (var r = 0; r < rows.Count; r++)
        {
            var v = new float[dim];
            for (var j = 0; j < dim; j++)
            {
                v[j] = data.Data[(r * dim) + j];
            }

            rows[r][field.Name] = v;
        }
    }

    private static void ReadScalars(FieldSchema field, FieldData column, List<Dictionary<string, object?>> rows, string op)
    {
        var s = column.Scalars ?? throw Invalid($"{op}: field '{field.Name}' carries no scalar data");
        var count = ScalarCount(s);
        var valid = column.ValidData;
        if (valid.Count > 0 && valid.Count != rows.Count)
        {
            throw Invalid($"{op}: field '{field.Name}' has {valid.Count} valid_data entries for {rows.Count} rows");
        }

        var validRows = valid.Count == 0 ? rows.Count : valid.Count(v => v);
        var dense = count == rows.Count;
        if (!dense && count != validRows)
        {
            throw Invalid($"{op}: field '{field.Name}' carries {count} values for {rows.Count} rows");
        }

        var physical = 0;
        for (var r = 0; r < rows.Count; r++)
        {
            var isValid = valid.Count == 0 || valid[r];
            var index = dense ? r : physical;
            if (!isValid)
            {
                rows[r][field.Name] = null;
                continue;
            }

            physical++;
            rows[r][field.Name] = ScalarValue(field, s, index, r, op);
        }
    }

    private static object? ScalarValue(FieldSchema field, ScalarField s, int index, int row, string op)
    {
        object? value = s.DataCase switch
        {
            ScalarField.DataOneofCase.BoolData => s.BoolData.Data[index],
            ScalarField.DataOneofCase.IntData => s.IntData.Data[index],
            ScalarField.DataOneofCase.LongData => s.LongData.Data[index],
            ScalarField.DataOneofCase.FloatData => (double)s.FloatData.Data[index],
            ScalarField.DataOneofCase.DoubleData => s.DoubleData.Data[index],
            ScalarField.DataOneofCase.StringData => s.StringData.Data[index],
            // JSON arrives as UTF-8 bytes; an empty value is a null (the SDK's encoding of a missing JSON).
            ScalarField.DataOneofCase.JsonData => JsonBytes(s.JsonData.Data[index], row, field.Name, op),
            ScalarField.DataOneofCase.BytesData when field.DataType == Quiver.DataType.Json => JsonBytes(s.BytesData.Data[index], row, field.Name, op),
            ScalarField.DataOneofCase.ArrayData => ArrayElements(s.ArrayData.Data[index]),
            _ => throw Invalid($"{op}: row {row}, field '{field.Name}': {s.DataCase} data does not fit a {field.DataType} field"),
        };
        return value;
    }

    /// <summary>A JSON value as the engine takes it (null for empty, the SDK's encoding of a missing JSON).</summary>
    private static byte[]? JsonBytes(ByteString value, int row, string field, string op)
    {
        if (value.Length == 0)
        {
            return null;
        }

        RequireUtf8(value, row, field, op);
        return value.ToByteArray();
    }

    /// <summary>JSON text must be UTF-8 (RFC 8259); the JSON reader checks values but not member names, whose first use
    /// would fail later.</summary>
    private static void RequireUtf8(ByteString value, int row, string field, string op)
    {
        if (!System.Text.Unicode.Utf8.IsValid(value.Span))
        {
            throw Invalid($"{op}: row {row}, field '{field}': the JSON value is not valid UTF-8");
        }
    }

    /// <summary>The elements of one Array row as a list the engine converts by the field's element type.</summary>
    private static object?[] ArrayElements(ScalarField element) => element.DataCase switch
    {
        ScalarField.DataOneofCase.BoolData => [.. element.BoolData.Data.Select(v => (object?)v)],
        ScalarField.DataOneofCase.IntData => [.. element.IntData.Data.Select(v => (object?)v)],
        ScalarField.DataOneofCase.LongData => [.. element.LongData.Data.Select(v => (object?)v)],
        ScalarField.DataOneofCase.FloatData => [.. element.FloatData.Data.Select(v => (object?)(double)v)],
        ScalarField.DataOneofCase.DoubleData => [.. element.DoubleData.Data.Select(v => (object?)v)],
        ScalarField.DataOneofCase.StringData => [.. element.StringData.Data.Select(v => (object?)v)],
        _ => [],
    };

    private static void ReadDynamic(CollectionSchema schema, FieldData column, List<Dictionary<string, object?>> rows, string op)
    {
        var data = column.Scalars?.JsonData?.Data;
        if (data is null || data.Count != rows.Count)
        {
            throw Invalid($"{op}: the dynamic field '{CollectionSchema.DynamicFieldName}' carries {data?.Count ?? 0} JSON values for {rows.Count} rows");
        }

        for (var r = 0; r < rows.Count; r++)
        {
            if (data[r].Length == 0)
            {
                continue;
            }

            RequireUtf8(data[r], r, CollectionSchema.DynamicFieldName, op);
            JsonElement doc;
            try
            {
                doc = JsonDocument.Parse(data[r].Memory).RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw Invalid($"{op}: row {r}, field '{CollectionSchema.DynamicFieldName}': malformed JSON: {e.Message}");
            }

            if (doc.ValueKind != JsonValueKind.Object)
            {
                throw Invalid($"{op}: row {r}, field '{CollectionSchema.DynamicFieldName}': the dynamic field must be a JSON object, got {doc.ValueKind}");
            }

            foreach (var p in doc.EnumerateObject())
            {
                if (schema.Find(p.Name) is not null)
                {
                    throw Invalid($"{op}: row {r}, field '{CollectionSchema.DynamicFieldName}': key '{p.Name}' is a declared field; send it as its own column");
                }

                rows[r][p.Name] = p.Value;
            }
        }
    }

    /// <summary>Builds one output column per declared field of <paramref name="output"/>, plus a <c>$meta</c> column
    /// when dynamic keys are requested, from engine rows (query rows or search hits' fields).</summary>
    public static List<FieldData> ToColumns(CollectionSchema schema, OutputFields output, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows)
    {
        var columns = new List<FieldData>(output.Declared.Count + 1);
        foreach (var field in output.Declared)
        {
            columns.Add(Column(schema, field, rows));
        }

        if (output.AllDynamic || output.DynamicKeys.Count > 0)
        {
            columns.Add(DynamicColumn(schema, output, rows));
        }

        return columns;
    }

    /// <summary>One output column for a declared field.</summary>
    public static FieldData Column(CollectionSchema schema, FieldSchema field, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows)
    {
        var column = new FieldData
        {
            Type = (ProtoDataType)(int)field.DataType,
            FieldName = field.Name,
            FieldId = FirstFieldId + schema.IndexOf(field.Name),
        };
        if (field.IsVector)
        {
            var dim = field.Dimension!.Value;
            var floats = new FloatArray();
            foreach (var row in rows)
            {
                if (row.TryGetValue(field.Name, out var v) && v is float[] vector)
                {
                    floats.Data.AddRange(vector);
                }
            }

            column.Vectors = new VectorField { Dim = dim, FloatVector = floats };
            return column;
        }

        var scalars = new ScalarField();
        column.Scalars = scalars;
        switch (field.DataType)
        {
            case Quiver.DataType.Bool:
                scalars.BoolData = new BoolArray();
                break;
            case Quiver.DataType.Int8 or Quiver.DataType.Int16 or Quiver.DataType.Int32:
                scalars.IntData = new IntArray();
                break;
            case Quiver.DataType.Int64:
                scalars.LongData = new LongArray();
                break;
            case Quiver.DataType.Float:
                scalars.FloatData = new FloatArray();
                break;
            case Quiver.DataType.Double:
                scalars.DoubleData = new DoubleArray();
                break;
            case Quiver.DataType.VarChar:
                scalars.StringData = new StringArray();
                break;
            case Quiver.DataType.Json:
                scalars.JsonData = new JSONArray();
                break;
            case Quiver.DataType.Array:
                scalars.ArrayData = new ArrayArray { ElementType = (ProtoDataType)(int)field.ElementType!.Value };
                break;
        }

        foreach (var row in rows)
        {
            row.TryGetValue(field.Name, out var value);
            if (field.Nullable)
            {
                column.ValidData.Add(value is not null);
            }

            AppendScalar(field, scalars, value);
        }

        return column;
    }

    /// <summary>Appends one value (a type's zero when null) to a scalar column.</summary>
    private static void AppendScalar(FieldSchema field, ScalarField scalars, object? value)
    {
        switch (field.DataType)
        {
            case Quiver.DataType.Bool:
                scalars.BoolData.Data.Add(value is true);
                break;
            case Quiver.DataType.Int8 or Quiver.DataType.Int16 or Quiver.DataType.Int32:
                scalars.IntData.Data.Add(value is null ? 0 : Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case Quiver.DataType.Int64:
                scalars.LongData.Data.Add(value is null ? 0 : Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case Quiver.DataType.Float:
                scalars.FloatData.Data.Add(value is null ? 0 : Convert.ToSingle(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case Quiver.DataType.Double:
                scalars.DoubleData.Data.Add(value is null ? 0 : Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case Quiver.DataType.VarChar:
                scalars.StringData.Data.Add(value as string ?? "");
                break;
            case Quiver.DataType.Json:
                scalars.JsonData.Data.Add(value is JsonElement je ? ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(je)) : ByteString.Empty);
                break;
            case Quiver.DataType.Array:
                scalars.ArrayData.Data.Add(ArrayRow(field.ElementType!.Value, value as JsonElement?));
                break;
        }
    }

    private static ScalarField ArrayRow(Quiver.DataType elementType, JsonElement? value)
    {
        var items = value is { ValueKind: JsonValueKind.Array } a ? a.EnumerateArray().ToList() : [];
        var row = new ScalarField();
        switch (elementType)
        {
            case Quiver.DataType.Bool:
                row.BoolData = new BoolArray();
                row.BoolData.Data.AddRange(items.Select(e => e.GetBoolean()));
                break;
            case Quiver.DataType.Int8 or Quiver.DataType.Int16 or Quiver.DataType.Int32:
                row.IntData = new IntArray();
                row.IntData.Data.AddRange(items.Select(e => e.GetInt32()));
                break;
            case Quiver.DataType.Int64:
                row.LongData = new LongArray();
                row.LongData.Data.AddRange(items.Select(e => e.GetInt64()));
                break;
            case Quiver.DataType.Float:
                row.FloatData = new FloatArray();
                row.FloatData.Data.AddRange(items.Select(e => e.GetSingle()));
                break;
            case Quiver.DataType.Double:
                row.DoubleData = new DoubleArray();
                row.DoubleData.Data.AddRange(items.Select(e => e.GetDouble()));
                break;
            default:
                row.StringData = new StringArray();
                row.StringData.Data.AddRange(items.Select(e => e.GetString() ?? ""));
                break;
        }

        return row;
    }

    private static FieldData DynamicColumn(CollectionSchema schema, OutputFields output, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows)
    {
        var json = new JSONArray();
        using var buffer = new MemoryStream();
        foreach (var row in rows)
        {
            buffer.SetLength(0);
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                foreach (var (key, value) in row)
                {
                    if (schema.Find(key) is null && value is JsonElement je && (output.AllDynamic || output.DynamicKeys.Contains(key)))
                    {
                        writer.WritePropertyName(key);
                        je.WriteTo(writer);
                    }
                }

                writer.WriteEndObject();
            }

            json.Data.Add(ByteString.CopyFrom(buffer.GetBuffer(), 0, (int)buffer.Length));
        }

        return new FieldData
        {
            Type = ProtoDataType.Json,
            FieldName = CollectionSchema.DynamicFieldName,
            FieldId = FirstFieldId + schema.Fields.Length,
            IsDynamic = true,
            Scalars = new ScalarField { JsonData = json },
        };
    }

    private static MilvusException Invalid(string reason) => new(MilvusCode.ParameterInvalid, reason);
}

/// <summary>The output fields of a query or search resolved against a schema the way Milvus does: <c>*</c> means every
/// declared field (vectors included) and every dynamic key; a declared name is that field; <c>$meta</c> is every dynamic
/// key; any other name is a dynamic key when the collection has the dynamic field, else an error. The primary key is
/// always returned, first.</summary>
internal sealed class OutputFields
{
    private OutputFields(List<FieldSchema> declared, List<string> dynamicKeys, bool allDynamic, List<string> names)
    {
        Declared = declared;
        DynamicKeys = dynamicKeys;
        AllDynamic = allDynamic;
        Names = names;
    }

    /// <summary>Declared fields to return, in output order (primary key first).</summary>
    public IReadOnlyList<FieldSchema> Declared { get; }

    /// <summary>Dynamic keys requested by name.</summary>
    public IReadOnlyList<string> DynamicKeys { get; }

    /// <summary>True when every dynamic key is requested (<c>*</c> or <c>$meta</c>).</summary>
    public bool AllDynamic { get; }

    /// <summary>The names to report in the response's <c>output_fields</c>: declared fields and dynamic key names, as
    /// the SDKs look values up by them.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The names to ask the engine for.</summary>
    public IReadOnlyList<string> EngineNames =>
        [.. Declared.Select(f => f.Name), .. AllDynamic ? [CollectionSchema.DynamicFieldName] : DynamicKeys];

    /// <summary>Resolves <paramref name="requested"/> against <paramref name="schema"/>.</summary>
    public static OutputFields Resolve(CollectionSchema schema, IEnumerable<string> requested)
    {
        var declared = new List<FieldSchema> { schema.PrimaryKey };
        var dynamicKeys = new List<string>();
        var names = new List<string> { schema.PrimaryKey.Name };
        var allDynamic = false;
        foreach (var raw in requested)
        {
            var name = raw.Trim();
            if (name.Length == 0)
            {
                continue;
            }

            if (name == "*")
            {
                foreach (var f in schema.Fields)
                {
                    if (!declared.Contains(f))
                    {
                        declared.Add(f);
                        names.Add(f.Name);
                    }
                }

                if (schema.EnableDynamicField && !allDynamic)
                {
                    allDynamic = true;
                    names.Add(CollectionSchema.DynamicFieldName);
                }

                continue;
            }

            if (schema.Find(name) is { } field)
            {
                if (!declared.Contains(field))
                {
                    declared.Add(field);
                    names.Add(field.Name);
                }

                continue;
            }

            if (!schema.EnableDynamicField)
            {
                throw new MilvusException(MilvusCode.ParameterInvalid,
                    $"field {name} not exist: output field '{name}' is not in the schema and the collection has no dynamic field");
            }

            if (name == CollectionSchema.DynamicFieldName)
            {
                if (!allDynamic)
                {
                    allDynamic = true;
                    names.Add(name);
                }
            }
            else if (!dynamicKeys.Contains(name))
            {
                dynamicKeys.Add(name);
                names.Add(name);
            }
        }

        return new OutputFields(declared, dynamicKeys, allDynamic, names);
    }

    /// <summary>Text for messages.</summary>
    public override string ToString() => new StringBuilder().AppendJoin(", ", Names).ToString();
}
