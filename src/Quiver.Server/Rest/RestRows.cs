using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Quiver.Protocol.Schema;
using Quiver.Server.Milvus;
using WireType = Quiver.Protocol.Schema.DataType;
using WireField = Quiver.Protocol.Schema.FieldSchema;
using WireSchema = Quiver.Protocol.Schema.CollectionSchema;

namespace Quiver.Server.Rest;

/// <summary>
/// Converts between REST rows (JSON objects, one per entity) and Milvus's columnar <see cref="FieldData"/>: rows to
/// columns for insert and upsert, columns back to rows for query, get and search. Follows Milvus's REST conventions:
/// vectors as JSON number arrays (float16/bfloat16/binary also as base64 strings), sparse vectors as
/// <c>{"index": value}</c> objects, keys outside the schema into the dynamic field (<c>$meta</c>), null or absent
/// values of nullable fields as invalid rows; on output Int64 values are strings unless the client allows Int64
/// numbers, JSON fields are JSON text, and dynamic keys are spread into the row.
/// </summary>
internal static class RestRows
{
    /// <summary>The name Milvus gives the dynamic field.</summary>
    public const string MetaFieldName = "$meta";

    /// <summary>
    /// Converts <paramref name="rows"/> to one column per schema field (plus the dynamic field when the schema enables
    /// it). The auto-generated primary key is left out when <paramref name="insert"/> (Milvus's REST insert ignores it);
    /// an upsert must carry it. Nullable fields and fields with a default value get <c>valid_data</c>; their values hold
    /// only the valid rows (Milvus's compact form). Throws <see cref="MilvusException"/> with code 1804 naming the row
    /// and field of a bad value.
    /// </summary>
    public static List<FieldData> ToColumns(JsonArray rows, WireSchema schema, bool insert)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(schema);
        var fields = schema.Fields
            .Where(f => !f.IsDynamic && !f.IsFunctionOutput && !(insert && f.IsPrimaryKey && f.AutoID))
            .ToList();
        var known = schema.Fields.Where(f => !f.IsDynamic).Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        var dynamicField = schema.Fields.FirstOrDefault(f => f.IsDynamic);
        var dynamicName = dynamicField?.Name ?? (schema.EnableDynamicField ? MetaFieldName : null);
        var columns = fields.Select(NewColumn).ToList();
        var meta = dynamicName is null ? null : new FieldData
        {
            Type = WireType.Json,
            FieldName = dynamicName,
            FieldId = dynamicField?.FieldID ?? 0,
            IsDynamic = true,
            Scalars = new ScalarField { JsonData = new JSONArray() },
        };

        for (var r = 0; r < rows.Count; r++)
        {
            if (rows[r] is not JsonObject row)
            {
                throw Invalid($"data[{r}] must be a JSON object, got {RestRequest.KindOf(rows[r])}");
            }
            for (var c = 0; c < fields.Count; c++)
            {
                var field = fields[c];
                var path = $"data[{r}].{field.Name}";
                row.TryGetPropertyValue(field.Name, out var value);
                var optional = field.Nullable || field.DefaultValue is not null;
                if (optional)
                {
                    columns[c].ValidData.Add(value is not null);
                }
                if (value is null)
                {
                    if (!optional)
                    {
                        throw Invalid($"{path}: missing value for field '{field.Name}' ({field.DataType}), which is not nullable");
                    }
                    continue;
                }
                Append(columns[c], field, value, path);
            }
            var extra = new JsonObject();
            foreach (var (key, value) in row)
            {
                if (known.Contains(key))
                {
                    continue;
                }
                if (meta is null)
                {
                    throw Invalid($"data[{r}].{key}: field '{key}' is not in the collection's schema and its dynamic field is disabled");
                }
                if (key == MetaFieldName)
                {
                    throw Invalid($"data[{r}].{key}: '{MetaFieldName}' is reserved for the dynamic field");
                }
                if (value is not null)
                {
                    extra[key] = value.DeepClone();
                }
            }
            meta?.Scalars.JsonData.Data.Add(JsonBytes(extra, $"data[{r}]"));
        }
        if (meta is not null)
        {
            columns.Add(meta);
        }
        return columns;
    }

    private static FieldData NewColumn(WireField field)
    {
        var column = new FieldData { Type = field.DataType, FieldName = field.Name, FieldId = field.FieldID };
        switch (field.DataType)
        {
            case WireType.Bool:
                column.Scalars = new ScalarField { BoolData = new BoolArray() };
                break;
            case WireType.Int8 or WireType.Int16 or WireType.Int32:
                column.Scalars = new ScalarField { IntData = new IntArray() };
                break;
            case WireType.Int64:
                column.Scalars = new ScalarField { LongData = new LongArray() };
                break;
            case WireType.Float:
                column.Scalars = new ScalarField { FloatData = new FloatArray() };
                break;
            case WireType.Double:
                column.Scalars = new ScalarField { DoubleData = new DoubleArray() };
                break;
            case WireType.String or WireType.VarChar or WireType.Text:
                column.Scalars = new ScalarField { StringData = new StringArray() };
                break;
            case WireType.Json:
                column.Scalars = new ScalarField { JsonData = new JSONArray() };
                break;
            case WireType.Array:
                column.Scalars = new ScalarField { ArrayData = new ArrayArray { ElementType = field.ElementType } };
                break;
            case WireType.FloatVector:
                column.Vectors = new VectorField { Dim = Dim(field), FloatVector = new FloatArray() };
                break;
            case WireType.Float16Vector:
                column.Vectors = new VectorField { Dim = Dim(field), Float16Vector = ByteString.Empty };
                break;
            case WireType.Bfloat16Vector:
                column.Vectors = new VectorField { Dim = Dim(field), Bfloat16Vector = ByteString.Empty };
                break;
            case WireType.BinaryVector:
                column.Vectors = new VectorField { Dim = Dim(field), BinaryVector = ByteString.Empty };
                break;
            case WireType.Int8Vector:
                column.Vectors = new VectorField { Dim = Dim(field), Int8Vector = ByteString.Empty };
                break;
            case WireType.SparseFloatVector:
                column.Vectors = new VectorField { SparseFloatVector = new SparseFloatArray() };
                break;
            default:
                throw Invalid($"field '{field.Name}' has type {field.DataType}, which the REST API cannot write");
        }
        return column;
    }

    private static void Append(FieldData column, WireField field, JsonNode value, string path)
    {
        switch (field.DataType)
        {
            case WireType.Bool:
                column.Scalars.BoolData.Data.Add(Wrap(() => RestRequest.BoolOf(value, path)));
                break;
            case WireType.Int8 or WireType.Int16 or WireType.Int32:
                column.Scalars.IntData.Data.Add(IntOf(value, field.DataType, path));
                break;
            case WireType.Int64:
                column.Scalars.LongData.Data.Add(Wrap(() => RestRequest.LongOf(value, path)));
                break;
            case WireType.Float:
                column.Scalars.FloatData.Data.Add((float)Wrap(() => RestRequest.DoubleOf(value, path)));
                break;
            case WireType.Double:
                column.Scalars.DoubleData.Data.Add(Wrap(() => RestRequest.DoubleOf(value, path)));
                break;
            case WireType.String or WireType.VarChar or WireType.Text:
                column.Scalars.StringData.Data.Add(Wrap(() => RestRequest.StringOf(value, path))!);
                break;
            case WireType.Json:
                column.Scalars.JsonData.Data.Add(JsonBytes(value, path));
                break;
            case WireType.Array:
                column.Scalars.ArrayData.Data.Add(ArrayOf(value, field.ElementType, path));
                break;
            case WireType.FloatVector:
                column.Vectors.FloatVector.Data.Add(FloatsOf(value, column.Vectors.Dim, path));
                break;
            case WireType.Float16Vector:
                column.Vectors.Float16Vector = Concat(column.Vectors.Float16Vector, HalfBytes(value, column.Vectors.Dim, bfloat: false, path));
                break;
            case WireType.Bfloat16Vector:
                column.Vectors.Bfloat16Vector = Concat(column.Vectors.Bfloat16Vector, HalfBytes(value, column.Vectors.Dim, bfloat: true, path));
                break;
            case WireType.BinaryVector:
                column.Vectors.BinaryVector = Concat(column.Vectors.BinaryVector, BytesOf(value, column.Vectors.Dim / 8, signed: false, path));
                break;
            case WireType.Int8Vector:
                column.Vectors.Int8Vector = Concat(column.Vectors.Int8Vector, BytesOf(value, column.Vectors.Dim, signed: true, path));
                break;
            case WireType.SparseFloatVector:
                var (bytes, dim) = SparseOf(value, path);
                column.Vectors.SparseFloatVector.Contents.Add(bytes);
                column.Vectors.SparseFloatVector.Dim = Math.Max(column.Vectors.SparseFloatVector.Dim, dim);
                column.Vectors.Dim = column.Vectors.SparseFloatVector.Dim;
                break;
        }
    }

    // Appending to a ByteString copies; vectors columns are built row by row, so this is O(n^2) in bytes only for
    // the float16/binary/int8 kinds, whose rows are small. Requests are bounded by the server's size limit.
    private static ByteString Concat(ByteString left, byte[] right)
    {
        var all = new byte[left.Length + right.Length];
        left.Span.CopyTo(all);
        right.CopyTo(all, left.Length);
        return UnsafeByteOperations.UnsafeWrap(all);
    }

    /// <summary>The dimension in a vector field's type parameters.</summary>
    public static long Dim(WireField field)
    {
        var text = field.TypeParams.FirstOrDefault(p => p.Key == "dim")?.Value;
        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var dim) ? dim : 0;
    }

    private static int IntOf(JsonNode value, WireType type, string path)
    {
        var number = Wrap(() => RestRequest.LongOf(value, path));
        var (min, max) = type switch
        {
            WireType.Int8 => (sbyte.MinValue, sbyte.MaxValue),
            WireType.Int16 => (short.MinValue, short.MaxValue),
            _ => ((long)int.MinValue, (long)int.MaxValue),
        };
        return number >= min && number <= max ? (int)number : throw Invalid($"{path}: {number} is out of range for {type}");
    }

    private static ScalarField ArrayOf(JsonNode value, WireType element, string path)
    {
        if (value is not JsonArray items)
        {
            throw Invalid($"{path} must be an array of {element}, got {RestRequest.KindOf(value)}");
        }
        var field = new WireField { Name = path, DataType = element };
        var column = NewColumn(field);
        for (var i = 0; i < items.Count; i++)
        {
            Append(column, field, items[i] ?? throw Invalid($"{path}[{i}]: arrays cannot hold null"), $"{path}[{i}]");
        }
        return column.Scalars;
    }

    private static IEnumerable<float> FloatsOf(JsonNode value, long dim, string path)
    {
        if (value is not JsonArray items)
        {
            throw Invalid($"{path} must be an array of {dim} numbers, got {RestRequest.KindOf(value)}");
        }
        if (dim > 0 && items.Count != dim)
        {
            throw Invalid($"{path} has {items.Count} numbers, the field's dimension is {dim}");
        }
        var floats = new float[items.Count];
        for (var i = 0; i < floats.Length; i++)
        {
            var item = items[i] ?? throw Invalid($"{path}[{i}] is null");
            floats[i] = (float)Wrap(() => RestRequest.DoubleOf(item, $"{path}[{i}]"));
        }
        return floats;
    }

    private static byte[] HalfBytes(JsonNode value, long dim, bool bfloat, string path)
    {
        if (value.GetValueKind() == JsonValueKind.String)
        {
            var raw = Base64(value, path);
            return raw.Length == dim * 2 ? raw : throw Invalid($"{path} holds {raw.Length} bytes, expected {dim * 2} (dimension {dim})");
        }
        var floats = FloatsOf(value, dim, path).ToArray();
        var bytes = new byte[floats.Length * 2];
        for (var i = 0; i < floats.Length; i++)
        {
            var bits = bfloat
                ? (ushort)(BitConverter.SingleToUInt32Bits(floats[i]) >> 16)
                : BitConverter.HalfToUInt16Bits((Half)floats[i]);
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), bits);
        }
        return bytes;
    }

    private static byte[] BytesOf(JsonNode value, long count, bool signed, string path)
    {
        byte[] bytes;
        if (value.GetValueKind() == JsonValueKind.String && !signed)
        {
            bytes = Base64(value, path);
        }
        else if (value is JsonArray items)
        {
            bytes = new byte[items.Count];
            for (var i = 0; i < items.Count; i++)
            {
                var item = items[i] ?? throw Invalid($"{path}[{i}] is null");
                var number = Wrap(() => RestRequest.LongOf(item, $"{path}[{i}]"));
                var (min, max) = signed ? (sbyte.MinValue, sbyte.MaxValue) : (0L, (long)byte.MaxValue);
                bytes[i] = number >= min && number <= max
                    ? unchecked((byte)number)
                    : throw Invalid($"{path}[{i}]: {number} is out of range [{min}, {max}]");
            }
        }
        else
        {
            throw Invalid($"{path} must be an array of bytes{(signed ? "" : " or a base64 string")}, got {RestRequest.KindOf(value)}");
        }
        return bytes.Length == count ? bytes : throw Invalid($"{path} holds {bytes.Length} bytes, expected {count}");
    }

    private static byte[] Base64(JsonNode value, string path)
    {
        try
        {
            return Convert.FromBase64String(RestRequest.TextOf(value, path));
        }
        catch (FormatException)
        {
            throw Invalid($"{path} is not valid base64");
        }
    }

    /// <summary>A sparse vector in Milvus's row format (little-endian uint32 index and float32 value pairs, indexes
    /// ascending) and its dimension (largest index + 1). Accepts <c>{"index": value}</c> or
    /// <c>{"indices": [...], "values": [...]}</c>.</summary>
    public static (ByteString Bytes, long Dim) SparseOf(JsonNode value, string path)
    {
        if (value is not JsonObject map)
        {
            throw Invalid($"{path} must be a sparse vector object {{\"index\": value}}, got {RestRequest.KindOf(value)}");
        }
        var pairs = new SortedDictionary<uint, float>();
        if (map["indices"] is JsonArray indices && map["values"] is JsonArray values)
        {
            if (indices.Count != values.Count)
            {
                throw Invalid($"{path}: {indices.Count} indices but {values.Count} values");
            }
            for (var i = 0; i < indices.Count; i++)
            {
                var index = Wrap(() => RestRequest.LongOf(indices[i] ?? throw Invalid($"{path}.indices[{i}] is null"), $"{path}.indices[{i}]"));
                Add(index, values[i], $"{path}.values[{i}]");
            }
        }
        else
        {
            foreach (var (key, item) in map)
            {
                if (!long.TryParse(key, NumberStyles.Integer, CultureInfo.InvariantCulture, out var index))
                {
                    throw Invalid($"{path}: sparse index '{key}' is not an integer");
                }
                Add(index, item, $"{path}.{key}");
            }
        }
        var bytes = new byte[pairs.Count * 8];
        var at = 0;
        foreach (var (index, weight) in pairs)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), index);
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(at + 4), weight);
            at += 8;
        }
        return (UnsafeByteOperations.UnsafeWrap(bytes), pairs.Count == 0 ? 0 : pairs.Keys.Max() + 1L);

        void Add(long index, JsonNode? item, string itemPath)
        {
            if (index is < 0 or >= uint.MaxValue)
            {
                throw Invalid($"{itemPath}: sparse index {index} is out of range [0, {uint.MaxValue - 1}]");
            }
            pairs[(uint)index] = (float)Wrap(() => RestRequest.DoubleOf(item ?? throw Invalid($"{itemPath} is null"), itemPath));
        }
    }

    /// <summary>
    /// Encodes search vectors (the body's <c>data</c>) as a <c>common.PlaceholderGroup</c> with one placeholder tagged
    /// <c>$0</c>, in the form the vector field <paramref name="field"/> takes: float32, float16, bfloat16, binary, int8
    /// or sparse vectors, or texts for a function-output (BM25) field. Throws <see cref="MilvusException"/> with code
    /// 1801 naming the bad vector.
    /// </summary>
    public static ByteString ToPlaceholderGroup(JsonArray data, WireField field, bool textInput, string path)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(field);
        try
        {
            var dim = Dim(field);
            var values = new List<byte[]>(data.Count);
            int type;
            if (textInput)
            {
                type = (int)WireType.VarChar;
                for (var i = 0; i < data.Count; i++)
                {
                    var text = RestRequest.StringOf(data[i], $"{path}[{i}]") ?? throw Invalid($"{path}[{i}] is null");
                    values.Add(System.Text.Encoding.UTF8.GetBytes(text));
                }
            }
            else
            {
                type = (int)field.DataType;
                for (var i = 0; i < data.Count; i++)
                {
                    var item = data[i] ?? throw Invalid($"{path}[{i}] is null");
                    var itemPath = $"{path}[{i}]";
                    values.Add(field.DataType switch
                    {
                        WireType.FloatVector => FloatBytes(FloatsOf(item, dim, itemPath)),
                        WireType.Float16Vector => HalfBytes(item, dim, bfloat: false, itemPath),
                        WireType.Bfloat16Vector => HalfBytes(item, dim, bfloat: true, itemPath),
                        WireType.BinaryVector => BytesOf(item, dim / 8, signed: false, itemPath),
                        WireType.Int8Vector => BytesOf(item, dim, signed: true, itemPath),
                        WireType.SparseFloatVector => SparseOf(item, itemPath).Bytes.ToByteArray(),
                        _ => throw Invalid($"field '{field.Name}' ({field.DataType}) is not a vector field"),
                    });
                }
            }
            // PlaceholderType numbers equal DataType's for vectors (and VarChar for texts).
            var placeholder = new Quiver.Protocol.Common.PlaceholderValue { Tag = "$0", Type = (Quiver.Protocol.Common.PlaceholderType)type };
            foreach (var bytes in values)
            {
                placeholder.Values.Add(UnsafeByteOperations.UnsafeWrap(bytes));
            }
            return new Quiver.Protocol.Common.PlaceholderGroup { Placeholders = { placeholder } }.ToByteString();
        }
        catch (MilvusException e) when (e.Code == MilvusCode.InvalidInsertData)
        {
            throw new MilvusException(MilvusCode.IncorrectParameterFormat,
                e.Message.Replace("fail to deal with insert data", "invalid search vectors", StringComparison.Ordinal));
        }
    }

    private static byte[] FloatBytes(IEnumerable<float> floats)
    {
        var array = floats.ToArray();
        var bytes = new byte[array.Length * 4];
        for (var i = 0; i < array.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), array[i]);
        }
        return bytes;
    }

    /// <summary>
    /// Converts result columns to rows: one JSON object per row with every column (nulls for invalid rows), dynamic
    /// keys spread into the row (all of them, or only the requested ones when <paramref name="outputFields"/> names
    /// some), <c>id</c> from <paramref name="ids"/> and <c>distance</c> from <paramref name="scores"/> when given.
    /// </summary>
    public static JsonArray ToRows(IList<FieldData> columns, IList<string> outputFields, IDs? ids, IList<float>? scores,
        bool allowInt64)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(outputFields);
        var count = columns.Count > 0 ? RowCount(columns[0]) : ids is null ? 0 : IdCount(ids);
        var nonDynamic = columns.Where(c => !c.IsDynamic).Select(c => c.FieldName).ToHashSet(StringComparer.Ordinal);
        var requestedDynamic = outputFields
            .Where(f => !nonDynamic.Contains(f) && f != "*" && f != MetaFieldName && !f.Contains('(', StringComparison.Ordinal))
            .ToHashSet(StringComparer.Ordinal);
        var spreadAll = requestedDynamic.Count == 0;
        var rows = new JsonArray();
        var physical = columns.Select(c => PhysicalIndexes(c, count)).ToArray();
        for (var i = 0; i < count; i++)
        {
            var row = new JsonObject();
            for (var c = 0; c < columns.Count; c++)
            {
                var column = columns[c];
                var at = physical[c]?[i] ?? i;
                if (at < 0)
                {
                    row[column.FieldName] = null;
                    continue;
                }
                if (column.IsDynamic)
                {
                    var json = column.Scalars.JsonData.Data[at];
                    if (json.Length > 0 && JsonNode.Parse(json.Span) is JsonObject extra)
                    {
                        foreach (var (key, value) in extra)
                        {
                            if (spreadAll || requestedDynamic.Contains(key))
                            {
                                row[key] = value?.DeepClone();
                            }
                        }
                    }
                    continue;
                }
                row[column.FieldName] = ValueAt(column, at, allowInt64);
            }
            if (ids is not null)
            {
                row["id"] = ids.IdFieldCase == IDs.IdFieldOneofCase.StrId
                    ? JsonValue.Create(ids.StrId.Data[i])
                    : Int64Node(ids.IntId.Data[i], allowInt64);
            }
            if (scores is not null && i < scores.Count)
            {
                row["distance"] = JsonValue.Create(scores[i]);
            }
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>An Int64 value as Milvus's REST API returns it: a string, or a number when the client allows.</summary>
    public static JsonNode Int64Node(long value, bool allowInt64) =>
        allowInt64 ? JsonValue.Create(value) : JsonValue.Create(value.ToString(CultureInfo.InvariantCulture));

    private static int IdCount(IDs ids) =>
        ids.IdFieldCase == IDs.IdFieldOneofCase.StrId ? ids.StrId.Data.Count : ids.IntId?.Data.Count ?? 0;

    /// <summary>For a column with valid_data, the physical index of each row (-1 for null rows); null when the
    /// column's data is dense. Accepts both the compact form (values for valid rows only) and the dense one.</summary>
    private static int[]? PhysicalIndexes(FieldData column, int count)
    {
        if (column.ValidData.Count == 0)
        {
            return null;
        }
        var dense = PhysicalCount(column) == column.ValidData.Count;
        var map = new int[count];
        var next = 0;
        for (var i = 0; i < count; i++)
        {
            var valid = i < column.ValidData.Count && column.ValidData[i];
            map[i] = !valid ? -1 : dense ? i : next++;
        }
        return map;
    }

    /// <summary>The number of rows a column holds (its valid_data length when it has one).</summary>
    public static int RowCount(FieldData column)
    {
        ArgumentNullException.ThrowIfNull(column);
        return column.ValidData.Count > 0 ? column.ValidData.Count : PhysicalCount(column);
    }

    private static int PhysicalCount(FieldData column)
    {
        if (column.FieldCase == FieldData.FieldOneofCase.Vectors)
        {
            var v = column.Vectors;
            var dim = (int)Math.Max(v.Dim, 1);
            return v.DataCase switch
            {
                VectorField.DataOneofCase.FloatVector => v.FloatVector.Data.Count / dim,
                VectorField.DataOneofCase.Float16Vector => v.Float16Vector.Length / (2 * dim),
                VectorField.DataOneofCase.Bfloat16Vector => v.Bfloat16Vector.Length / (2 * dim),
                VectorField.DataOneofCase.BinaryVector => v.BinaryVector.Length / Math.Max(dim / 8, 1),
                VectorField.DataOneofCase.Int8Vector => v.Int8Vector.Length / dim,
                VectorField.DataOneofCase.SparseFloatVector => v.SparseFloatVector.Contents.Count,
                _ => 0,
            };
        }
        return column.Scalars is { } s ? Wire.FieldDataReader.ScalarCount(s) : 0;
    }

    private static JsonNode? ValueAt(FieldData column, int at, bool allowInt64)
    {
        if (column.FieldCase == FieldData.FieldOneofCase.Vectors)
        {
            var v = column.Vectors;
            var dim = (int)v.Dim;
            return v.DataCase switch
            {
                VectorField.DataOneofCase.FloatVector => new JsonArray(v.FloatVector.Data.Skip(at * dim).Take(dim)
                    .Select(f => (JsonNode?)JsonValue.Create(f)).ToArray()),
                // Milvus returns byte vectors as Go []byte, i.e. base64 strings.
                VectorField.DataOneofCase.Float16Vector => Convert.ToBase64String(v.Float16Vector.Span.Slice(at * dim * 2, dim * 2)),
                VectorField.DataOneofCase.Bfloat16Vector => Convert.ToBase64String(v.Bfloat16Vector.Span.Slice(at * dim * 2, dim * 2)),
                VectorField.DataOneofCase.BinaryVector => Convert.ToBase64String(v.BinaryVector.Span.Slice(at * (dim / 8), dim / 8)),
                VectorField.DataOneofCase.Int8Vector => new JsonArray(v.Int8Vector.Span.Slice(at * dim, dim).ToArray()
                    .Select(b => (JsonNode?)JsonValue.Create(unchecked((sbyte)b))).ToArray()),
                VectorField.DataOneofCase.SparseFloatVector => SparseToJson(v.SparseFloatVector.Contents[at].Span),
                _ => null,
            };
        }
        var s = column.Scalars;
        return s.DataCase switch
        {
            ScalarField.DataOneofCase.BoolData => JsonValue.Create(s.BoolData.Data[at]),
            ScalarField.DataOneofCase.IntData => JsonValue.Create(s.IntData.Data[at]),
            ScalarField.DataOneofCase.LongData => Int64Node(s.LongData.Data[at], allowInt64),
            ScalarField.DataOneofCase.FloatData => JsonValue.Create(s.FloatData.Data[at]),
            ScalarField.DataOneofCase.DoubleData => JsonValue.Create(s.DoubleData.Data[at]),
            ScalarField.DataOneofCase.StringData => JsonValue.Create(s.StringData.Data[at]),
            // Milvus returns a JSON field's value as its JSON text.
            ScalarField.DataOneofCase.JsonData => JsonValue.Create(s.JsonData.Data[at].ToStringUtf8()),
            ScalarField.DataOneofCase.ArrayData => ArrayToJson(s.ArrayData.Data[at], allowInt64),
            _ => null,
        };
    }

    private static JsonArray ArrayToJson(ScalarField array, bool allowInt64)
    {
        var column = new FieldData { Scalars = array };
        var result = new JsonArray();
        for (var i = 0; i < PhysicalCount(column); i++)
        {
            result.Add(ValueAt(column, i, allowInt64));
        }
        return result;
    }

    private static JsonObject SparseToJson(ReadOnlySpan<byte> row)
    {
        var result = new JsonObject();
        for (var at = 0; at + 8 <= row.Length; at += 8)
        {
            var index = BinaryPrimitives.ReadUInt32LittleEndian(row[at..]);
            result[index.ToString(CultureInfo.InvariantCulture)] = JsonValue.Create(BinaryPrimitives.ReadSingleLittleEndian(row[(at + 4)..]));
        }
        return result;
    }

    /// <summary>A JSON value as the UTF-8 text a JSON column stores. A string in it that is not valid UTF-16 (an escaped
    /// lone surrogate) cannot be written as UTF-8 and is refused naming <paramref name="path"/>.</summary>
    private static ByteString JsonBytes(JsonNode value, string path)
    {
        try
        {
            return ByteString.CopyFromUtf8(value.ToJsonString());
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            throw Invalid($"{path} holds a string with an unpaired UTF-16 surrogate escape");
        }
    }

    private static T Wrap<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (MilvusException e) when (e.Code == MilvusCode.IncorrectParameterFormat)
        {
            throw Invalid(e.Message.Replace("invalid parameter format, error: ", "", StringComparison.Ordinal));
        }
    }

    private static MilvusException Invalid(string problem) =>
        new(MilvusCode.InvalidInsertData, $"fail to deal with insert data, error: {problem}");
}
