using System.Text.Json;
using Google.Protobuf;
using Quiver.Protocol.Schema;
using ProtoDataType = Quiver.Protocol.Schema.DataType;

namespace Quiver.Wire;

/// <summary>
/// Reads Milvus's columnar <c>schema.FieldData</c> into engine columns (<see cref="ColumnBatch"/>): the request columns of
/// an insert or upsert on the server, the result columns of a query or search on the client. Integers of every width
/// become Int64 values, Float and Double become doubles, JSON and Array values become <see cref="JsonElement"/>s,
/// vectors stay one row-major float block. A nullable column's <c>valid_data</c> is honoured in both forms Milvus
/// clients send: row-dense (one value per row, a placeholder where null) and compact (values of valid rows only).
/// The dynamic field <c>$meta</c> carries one JSON object per row.
/// </summary>
/// <remarks>Refusals are <see cref="QuiverException"/>s with <see cref="QuiverErrorCode.InvalidArgument"/> naming the
/// operation, the field and, where there is one, the row; the server answers them as Milvus code 1100.</remarks>
public static class FieldDataReader
{
    /// <summary>The columns of an insert or upsert, checked against <paramref name="schema"/>. Values are then checked by
    /// the engine (ranges, lengths, dimensions, nulls), which names the row and field as it does for rows.</summary>
    /// <param name="schema">The collection's schema.</param>
    /// <param name="columns">The request's <c>fields_data</c>.</param>
    /// <param name="numRows">The request's <c>num_rows</c>; 0 means "infer from the columns".</param>
    /// <param name="op">"insert" or "upsert", for messages.</param>
    public static ColumnBatch ReadRequest(CollectionSchema schema, IReadOnlyList<FieldData> columns, uint numRows, string op) =>
        ReadRequest(schema, columns, numRows, op, null);

    /// <summary>As <see cref="ReadRequest(CollectionSchema, IReadOnlyList{FieldData}, uint, string)"/>, TIMESTAMPTZ text
    /// without an offset read in <paramref name="zone"/> (the collection's <c>timezone</c>; null for UTC).</summary>
    public static ColumnBatch ReadRequest(CollectionSchema schema, IReadOnlyList<FieldData> columns, uint numRows, string op, TimeZoneInfo? zone)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(columns);
        if (columns.Count == 0)
        {
            throw Invalid($"{op}: no fields_data in the request");
        }

        var rowCount = numRows > 0 ? checked((int)numRows) : InferRowCount(schema, columns[0]);
        var batch = new ColumnBatch(rowCount);
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

                batch.Dynamic = ReadDynamic(schema, column, rowCount, op);
                continue;
            }

            var field = schema.Find(name) ?? throw Invalid($"{op}: field '{name}' does not exist in the collection schema");
            if ((int)column.Type != (int)field.DataType && !(column.Type == ProtoDataType.String && field.DataType == Quiver.DataType.VarChar))
            {
                throw Invalid($"{op}: field '{name}' is {field.DataType} in the schema, but fields_data sends {column.Type}");
            }

            batch.Add(ReadColumn(field, column, rowCount, op, zone));
        }

        return batch;
    }

    /// <summary>The result columns of a query or search (<paramref name="rowCount"/> rows) with the field each column
    /// describes (taken from the column itself: type, dimension, element type). The dynamic column, if any, goes to
    /// <see cref="ColumnBatch.Dynamic"/>.</summary>
    public static (ColumnBatch Batch, CollectionSchema Fields) ReadResult(IReadOnlyList<FieldData> columns, int rowCount)
    {
        ArgumentNullException.ThrowIfNull(columns);
        var batch = new ColumnBatch(rowCount);
        var fields = new List<FieldSchema>(columns.Count);
        foreach (var column in columns)
        {
            if (column.IsDynamic || column.FieldName == CollectionSchema.DynamicFieldName)
            {
                batch.Dynamic = ReadJsonColumn(column, rowCount, "result", CollectionSchema.DynamicFieldName);
                continue;
            }

            var field = FieldOf(column);
            fields.Add(field);
            batch.Add(ReadColumn(field, column, rowCount, "result", keepTimestamptzText: true));
        }

        return (batch, new CollectionSchema { Fields = [.. fields] });
    }

    /// <summary>A field described by a result column alone.</summary>
    private static FieldSchema FieldOf(FieldData column)
    {
        var type = (Quiver.DataType)(int)column.Type;
        if (column.Type == ProtoDataType.String)
        {
            type = Quiver.DataType.VarChar;
        }

        if (!Enum.IsDefined(type) || (column.FieldCase == FieldData.FieldOneofCase.Vectors) != (type.IsDenseVector() || type == Quiver.DataType.SparseFloatVector))
        {
            throw Invalid($"result: column '{column.FieldName}' is of type {column.Type}, which Quiver does not support");
        }

        return new FieldSchema
        {
            Name = column.FieldName,
            DataType = type,
            Dimension = type.IsDenseVector() ? checked((int)column.Vectors.Dim) : null,
            Metric = type == Quiver.DataType.BinaryVector ? MetricType.Hamming : MetricType.L2,
            ElementType = type == Quiver.DataType.Array ? (Quiver.DataType)(int)column.Scalars.ArrayData.ElementType : null,
            Nullable = column.ValidData.Count > 0,
        };
    }

    /// <summary>The number of values a column carries (vectors at their stated dimension), without a schema.</summary>
    public static long ColumnLength(FieldData column)
    {
        ArgumentNullException.ThrowIfNull(column);
        return column.Vectors is { } v
            ? v.SparseFloatVector is not null ? SparseVectors.RowCount(v) : WireVectors.RowCount(v, v.Dim)
            : column.Scalars is { } scalars ? ScalarCount(scalars) : 0;
    }

    /// <summary>Rows a result column stands for: its <c>valid_data</c> length when it has one, else its values.</summary>
    public static int RowCount(FieldData column)
    {
        ArgumentNullException.ThrowIfNull(column);
        return column.ValidData.Count > 0 ? column.ValidData.Count : (int)ColumnLength(column);
    }

    /// <summary>The number of values a scalar column carries, whatever its type.</summary>
    public static int ScalarCount(ScalarField scalars)
    {
        ArgumentNullException.ThrowIfNull(scalars);
        return scalars.DataCase switch
        {
            ScalarField.DataOneofCase.BoolData => scalars.BoolData.Data.Count,
            ScalarField.DataOneofCase.IntData => scalars.IntData.Data.Count,
            ScalarField.DataOneofCase.LongData => scalars.LongData.Data.Count,
            ScalarField.DataOneofCase.FloatData => scalars.FloatData.Data.Count,
            ScalarField.DataOneofCase.DoubleData => scalars.DoubleData.Data.Count,
            ScalarField.DataOneofCase.StringData => scalars.StringData.Data.Count,
            ScalarField.DataOneofCase.JsonData => scalars.JsonData.Data.Count,
            ScalarField.DataOneofCase.ArrayData => scalars.ArrayData.Data.Count,
            ScalarField.DataOneofCase.BytesData => scalars.BytesData.Data.Count,
            ScalarField.DataOneofCase.GeometryWktData => scalars.GeometryWktData.Data.Count,
            ScalarField.DataOneofCase.GeometryData => scalars.GeometryData.Data.Count,
            ScalarField.DataOneofCase.TimestamptzData => scalars.TimestamptzData.Data.Count,
            _ => 0,
        };
    }

    private static int InferRowCount(CollectionSchema schema, FieldData column)
    {
        if (column.ValidData.Count > 0)
        {
            return column.ValidData.Count;
        }

        if (column.Vectors is { SparseFloatVector: not null } sparse)
        {
            return SparseVectors.RowCount(sparse);
        }

        if (column.Vectors is { } v)
        {
            var dim = v.Dim > 0 ? v.Dim : schema.Find(column.FieldName)?.Dimension ?? 1;
            return (int)WireVectors.RowCount(v, dim);
        }

        return column.Scalars is null ? 0 : ScalarCount(column.Scalars);
    }

    private static FieldColumn ReadColumn(FieldSchema field, FieldData column, int rows, string op, TimeZoneInfo? zone = null, bool keepTimestamptzText = false)
    {
        if (!(field.IsVector || field.IsSparseVector))
        {
            return ReadScalars(field, column, rows, op, zone, keepTimestamptzText);
        }

        if (column.ValidData.Count == 0)
        {
            return ReadVectorRows(field, column, rows, op);
        }

        // valid_data: the vectors of the valid rows (compact, as the SDKs send them) or of every row (dense).
        var carried = column.Vectors is not { } v ? 0
            : field.IsSparseVector ? SparseVectors.RowCount(v) : checked((int)WireVectors.RowCount(v, field.Dimension!.Value));
        var positions = Positions(field.Name, column, carried, rows, op)!;
        var physical = carried == 0 ? null : ReadVectorRows(field, column, carried, op);
        return NullableVectors.Spread(field, physical, positions);
    }

    private static FieldColumn ReadVectorRows(FieldSchema field, FieldData column, int rows, string op) =>
        field.IsVector ? ReadVectors(field, column, rows, op) : SparseVectors.Read(field, column, rows, op);

    private static FieldColumn ReadVectors(FieldSchema field, FieldData column, int rows, string op)
    {
        if (field.DataType != Quiver.DataType.FloatVector)
        {
            return new FieldColumn { Name = field.Name, Vectors = WireVectors.Read(field, column.Vectors ?? new VectorField(), rows, op) };
        }

        var dim = field.Dimension!.Value;
        if (column.Vectors?.FloatVector is not { } data)
        {
            throw Invalid($"{op}: field '{field.Name}' is a FloatVector field, but fields_data carries no float_vector data");
        }

        // Milvus's proxy (CheckAligned) requires the data's dim to equal the schema's; 0 is no exception.
        if (column.Vectors.Dim != dim)
        {
            throw Invalid($"{op}: the dim ({column.Vectors.Dim}) of field data ({field.Name}) is not equal to schema dim ({dim})");
        }

        if (data.Data.Count != (long)dim * rows)
        {
            throw Invalid($"{op}: field '{field.Name}' carries {data.Data.Count} floats for {rows} rows of dimension {dim}; expected {(long)dim * rows}");
        }

        var vectors = new float[data.Data.Count];
        data.Data.CopyTo(vectors, 0);
        return new FieldColumn { Name = field.Name, Vectors = vectors };
    }

    /// <summary>A scalar column. With <paramref name="keepTimestamptzText"/> (a result's columns), TIMESTAMPTZ text is kept
    /// as the server wrote it, in the read's time zone, once each value is known to parse: whoever passes the result on
    /// (a REST answer, a cluster node merging shards, a client) then answers in that zone, which the instants alone
    /// would not tell (a zone's offset changes over the year).</summary>
    private static FieldColumn ReadScalars(FieldSchema field, FieldData column, int rows, string op, TimeZoneInfo? zone = null, bool keepTimestamptzText = false)
    {
        var s = column.Scalars ?? throw Invalid($"{op}: field '{field.Name}' carries no scalar data");
        var positions = Positions(field.Name, column, ScalarCount(s), rows, op);
        bool[]? nulls = null;
        if (positions is not null)
        {
            nulls = new bool[rows];
            for (var r = 0; r < rows; r++)
            {
                nulls[r] = positions[r] < 0;
            }
        }

        // Row r's value is at positions[r] (compact data), or at r (dense data); a null row's slot keeps the zero.
        int At(int r) => positions is null ? r : positions[r];
        switch (s.DataCase)
        {
            case ScalarField.DataOneofCase.BoolData when field.DataType == Quiver.DataType.Bool:
                return new FieldColumn { Name = field.Name, Bools = Gather(rows, At, (_, i) => s.BoolData.Data[i]), Nulls = nulls };
            case ScalarField.DataOneofCase.IntData when field.DataType.IsInteger():
                return new FieldColumn { Name = field.Name, Longs = Gather(rows, At, (_, i) => (long)s.IntData.Data[i]), Nulls = nulls };
            case ScalarField.DataOneofCase.LongData when field.DataType.IsInteger():
                return new FieldColumn { Name = field.Name, Longs = Gather(rows, At, (_, i) => s.LongData.Data[i]), Nulls = nulls };
            case ScalarField.DataOneofCase.FloatData when field.DataType.IsFloatingPoint():
                return new FieldColumn { Name = field.Name, Doubles = Gather(rows, At, (_, i) => (double)s.FloatData.Data[i]), Nulls = nulls };
            case ScalarField.DataOneofCase.DoubleData when field.DataType.IsFloatingPoint():
                return new FieldColumn { Name = field.Name, Doubles = Gather(rows, At, (_, i) => s.DoubleData.Data[i]), Nulls = nulls };
            case ScalarField.DataOneofCase.StringData when field.DataType == Quiver.DataType.Timestamptz && keepTimestamptzText:
                _ = ScalarValues.TimestamptzColumn(s, rows, At, nulls, field.Name, op, zone);
                return new FieldColumn { Name = field.Name, Strings = Gather(rows, At, (_, i) => (string?)s.StringData.Data[i]), Nulls = nulls };
            case ScalarField.DataOneofCase.StringData or ScalarField.DataOneofCase.TimestamptzData when field.DataType == Quiver.DataType.Timestamptz:
                return new FieldColumn { Name = field.Name, Longs = ScalarValues.TimestamptzColumn(s, rows, At, nulls, field.Name, op, zone), Nulls = nulls };
            case ScalarField.DataOneofCase.GeometryWktData when field.DataType == Quiver.DataType.Geometry:
                return new FieldColumn { Name = field.Name, Strings = Gather(rows, At, (_, i) => (string?)s.GeometryWktData.Data[i]), Nulls = nulls };
            case ScalarField.DataOneofCase.GeometryData when field.DataType == Quiver.DataType.Geometry:
                return new FieldColumn { Name = field.Name, Strings = ScalarValues.WkbColumn(s.GeometryData.Data, rows, At, nulls, field.Name, op), Nulls = nulls };
            case ScalarField.DataOneofCase.StringData when field.DataType is Quiver.DataType.VarChar or Quiver.DataType.Geometry:
                return new FieldColumn { Name = field.Name, Strings = Gather(rows, At, (_, i) => (string?)s.StringData.Data[i]), Nulls = nulls };
            case ScalarField.DataOneofCase.JsonData when field.DataType == Quiver.DataType.Json:
                return new FieldColumn { Name = field.Name, Json = ReadJson(s.JsonData.Data, rows, At, nulls, field.Name, op), Nulls = nulls };
            case ScalarField.DataOneofCase.BytesData when field.DataType == Quiver.DataType.Json:
                return new FieldColumn { Name = field.Name, Json = ReadJson(s.BytesData.Data, rows, At, nulls, field.Name, op), Nulls = nulls };
            case ScalarField.DataOneofCase.ArrayData when field.DataType == Quiver.DataType.Array:
                return new FieldColumn { Name = field.Name, Json = Gather(rows, At, (r, i) => ArrayRow(s.ArrayData.Data[i], r, field, op)), Nulls = nulls };
            default:
                var first = nulls is null ? 0 : Math.Max(0, Array.IndexOf(nulls, false));
                throw Invalid($"{op}: row {first}, field '{field.Name}': {s.DataCase} data does not fit a {field.DataType} field");
        }
    }

    /// <summary>For a column with <c>valid_data</c>, per row the index of its value (-1 when null), in the dense or the
    /// compact form; null for a column without it (every row has its value at its own index).</summary>
    private static int[]? Positions(string name, FieldData column, int count, int rows, string op)
    {
        var valid = column.ValidData;
        if (valid.Count == 0)
        {
            if (count != rows)
            {
                throw Invalid($"{op}: field '{name}' carries {count} values for {rows} rows");
            }

            return null;
        }

        if (valid.Count != rows)
        {
            throw Invalid($"{op}: field '{name}' has {valid.Count} valid_data entries for {rows} rows");
        }

        var validRows = 0;
        foreach (var v in valid)
        {
            validRows += v ? 1 : 0;
        }

        var dense = count == rows;
        if (!dense && count != validRows)
        {
            throw Invalid($"{op}: field '{name}' carries {count} values for {rows} rows");
        }

        var positions = new int[rows];
        var physical = 0;
        for (var r = 0; r < rows; r++)
        {
            positions[r] = !valid[r] ? -1 : dense ? r : physical;
            physical += valid[r] ? 1 : 0;
        }

        return positions;
    }

    /// <summary>Per row, <paramref name="value"/>(row, index of its value), or the default for a null row.</summary>
    private static T[] Gather<T>(int rows, Func<int, int> at, Func<int, int, T> value)
    {
        var result = new T[rows];
        for (var r = 0; r < rows; r++)
        {
            var i = at(r);
            if (i >= 0)
            {
                result[r] = value(r, i);
            }
        }

        return result;
    }

    /// <summary>One row of an Array column. A row over the field's <c>max_capacity</c> is refused on its count, before
    /// its elements are turned into JSON (a 5M-element row took 26 s to refuse after converting); a row with no data at
    /// all (no element kind set: not even an empty list) says nothing of its elements and is refused, where it was read
    /// as an empty array. A null row of a nullable field is never read here (valid_data marks it).</summary>
    private static System.Text.Json.JsonElement ArrayRow(ScalarField value, int row, FieldSchema field, string op)
    {
        if (value.DataCase == ScalarField.DataOneofCase.None)
        {
            throw Invalid($"{op} rejected, nothing written: row {row}, field '{field.Name}': the array row holds no data (no element kind is set); an empty array is an empty {field.ElementType} list");
        }

        if (ScalarCount(value) is var count && count > field.MaxCapacity)
        {
            throw Invalid($"{op} rejected, nothing written: row {row}, field '{field.Name}': array has {count} elements, exceeding max_capacity {field.MaxCapacity}");
        }

        try
        {
            return ArrayValues.ToJson(value);
        }
        catch (QuiverException e)
        {
            throw Invalid($"{op} rejected, nothing written: row {row}, field '{field.Name}': {e.Message}");
        }
    }

    private static JsonElement[] ReadJson(IReadOnlyList<ByteString> data, int rows, Func<int, int> at, bool[]? nulls, string field, string op)
    {
        var result = new JsonElement[rows];
        for (var r = 0; r < rows; r++)
        {
            var i = at(r);
            // An empty value is a null (the SDK's encoding of a missing JSON).
            if (i < 0 || data[i].Length == 0)
            {
                if (nulls is not null)
                {
                    nulls[r] = true;
                }

                continue;
            }

            result[r] = ParseJson(data[i], r, field, op);
        }

        return result;
    }

    /// <summary>A JSON value, parsed and checked by the engine's rules (UTF-8, well-formed, nesting within
    /// <see cref="JsonLimits.MaxDepth"/>), refused with the engine's message for the row and field.</summary>
    private static JsonElement ParseJson(ByteString value, int row, string field, string op)
    {
        // The JSON reader checks values but not member names, whose first use would fail later.
        if (!System.Text.Unicode.Utf8.IsValid(value.Span))
        {
            throw Invalid($"{op}: row {row}, field '{field}': the JSON value is not valid UTF-8");
        }

        var parsed = ValueConverter.ConvertJson(value.ToByteArray(), out var error);
        return error is null ? parsed!.Value : throw Invalid($"{op} rejected, nothing written: row {row}, field '{field}': {error}");
    }

    /// <summary>A JSON column read without a schema (results' <c>$meta</c>).</summary>
    private static JsonElement[] ReadJsonColumn(FieldData column, int rows, string op, string field)
    {
        var data = column.Scalars?.JsonData?.Data;
        if (data is null || data.Count != rows)
        {
            throw Invalid($"{op}: the dynamic field '{field}' carries {data?.Count ?? 0} JSON values for {rows} rows");
        }

        return ReadJson(data, rows, r => r, null, field, op);
    }

    private static JsonElement[] ReadDynamic(CollectionSchema schema, FieldData column, int rows, string op)
    {
        var data = column.Scalars?.JsonData?.Data;
        if (data is null || data.Count != rows)
        {
            throw Invalid($"{op}: the dynamic field '{CollectionSchema.DynamicFieldName}' carries {data?.Count ?? 0} JSON values for {rows} rows");
        }

        var result = new JsonElement[rows];
        for (var r = 0; r < rows; r++)
        {
            if (data[r].Length == 0)
            {
                continue;
            }

            var doc = ParseJson(data[r], r, CollectionSchema.DynamicFieldName, op);
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
            }

            result[r] = doc;
        }

        return result;
    }

    private static QuiverException Invalid(string reason) => new(QuiverErrorCode.InvalidArgument, reason);
}
