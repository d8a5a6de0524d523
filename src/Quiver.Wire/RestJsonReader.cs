using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace Quiver.Wire;

/// <summary>A REST row value that does not fit the schema: the server answers it as Milvus's code 1804
/// (<c>fail to deal with insert data</c>) with <see cref="Exception.Message"/>, which names the row and field
/// (<c>data[3].price must be a number, got string "x"</c>).</summary>
public sealed class RestDataException : QuiverException
{
    /// <summary>A refusal naming <paramref name="problem"/>.</summary>
    public RestDataException(string problem)
        : base(QuiverErrorCode.InvalidArgument, problem)
    {
    }
}

/// <summary>
/// Reads the <c>data</c> array of a REST v2 insert or upsert (one JSON object per row) straight into engine columns
/// (<see cref="ColumnBatch"/>), by Milvus's REST conventions: numbers may be sent as strings, Int64 beyond 2^53 as
/// strings, vectors as number arrays, JSON fields as any JSON value, keys outside the schema into the dynamic field, null
/// or absent values of nullable fields and fields with a default as null rows. Values are then checked by the engine
/// (lengths, NaN, capacities, dimensions) with its messages; what only the JSON shape can tell (a string where a number
/// belongs, an integer out of its type's range, a vector of the wrong length) is refused here with a
/// <see cref="RestDataException"/> naming row and field.
/// </summary>
/// <remarks>The elements are read, never kept: JSON and Array values are handed to the engine, which copies them.</remarks>
public static partial class RestJsonReader
{
    /// <summary>The columns of <paramref name="rows"/> (a JSON array) for <paramref name="schema"/>. The auto-generated
    /// primary key is left out when <paramref name="insert"/> (Milvus's REST insert ignores a key sent for it); an upsert
    /// must carry it.</summary>
    /// <param name="schema">The collection's schema.</param>
    /// <param name="rows">The request's <c>data</c>: an array of objects.</param>
    /// <param name="insert">True for insert, false for upsert.</param>
    public static ColumnBatch Read(CollectionSchema schema, JsonElement rows, bool insert) => Read(schema, rows, insert, null);

    /// <summary>As <see cref="Read(CollectionSchema, JsonElement, bool)"/>, TIMESTAMPTZ text without an offset read in
    /// <paramref name="zone"/> (the collection's <c>timezone</c>; null for UTC).</summary>
    public static ColumnBatch Read(CollectionSchema schema, JsonElement rows, bool insert, TimeZoneInfo? zone)
    {
        ArgumentNullException.ThrowIfNull(schema);
        if (rows.ValueKind != JsonValueKind.Array)
        {
            throw new RestDataException($"data must be an array of rows, got {KindOf(rows)}");
        }

        var count = rows.GetArrayLength();
        // A TextEmbedding function's output is computed by the engine from the row's text, so rows leave it out.
        var fields = schema.Fields.Where(f => !(insert && f.IsPrimaryKey && f.AutoId) && SchemaFunctions.FunctionWriting(schema, f.Name) is null).ToArray();
        var names = schema.Fields.Select(f => System.Text.Encoding.UTF8.GetBytes(f.Name)).ToArray();
        var slotOf = fields.Select(f => schema.IndexOf(f.Name)).ToArray();
        var columns = fields.Select(f => Allocate(f, count)).ToArray();
        var dynamic = schema.EnableDynamicField ? new JsonElement[count] : null;
        var values = new JsonElement[schema.Fields.Length];
        var extra = new ArrayBufferWriter<byte>();
        var op = insert ? "insert" : "upsert";
        var r = 0;
        foreach (var row in rows.EnumerateArray())
        {
            if (row.ValueKind != JsonValueKind.Object)
            {
                throw new RestDataException($"data[{r}] must be a JSON object, got {KindOf(row)}");
            }

            Array.Clear(values);
            extra.ResetWrittenCount();
            Utf8JsonWriter? extraWriter = null;
            foreach (var property in row.EnumerateObject())
            {
                var slot = FindSlot(names, property);
                if (slot >= 0 && SchemaFunctions.FunctionWriting(schema, schema.Fields[slot].Name) is { } function)
                {
                    throw new RestDataException($"data[{r}].{schema.Fields[slot].Name}: field '{schema.Fields[slot].Name}' is the output of function '{function.Name}' and is computed from '{function.InputFieldNames[0]}'; leave it out of inserted rows");
                }

                if (slot >= 0)
                {
                    values[slot] = property.Value;
                    continue;
                }

                var key = NameOf(property, r);
                if (dynamic is null)
                {
                    throw new RestDataException($"data[{r}].{key}: field '{key}' is not in the collection's schema and its dynamic field is disabled");
                }

                if (key == CollectionSchema.DynamicFieldName)
                {
                    throw new RestDataException($"data[{r}].{key}: '{CollectionSchema.DynamicFieldName}' is reserved for the dynamic field");
                }

                if (property.Value.ValueKind == JsonValueKind.Null)
                {
                    continue;
                }

                CheckStrings(property.Value, new ValuePath(r, null));
                if (extraWriter is null)
                {
                    extraWriter = new Utf8JsonWriter(extra);
                    extraWriter.WriteStartObject();
                }

                extraWriter.WritePropertyName(key);
                property.Value.WriteTo(extraWriter);
            }

            for (var c = 0; c < fields.Length; c++)
            {
                var field = fields[c];
                var value = values[slotOf[c]];
                if (value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
                {
                    if (columns[c].Nulls is not { } nulls)
                    {
                        throw new RestDataException(
                            $"data[{r}].{field.Name}: missing value for field '{field.Name}' ({field.DataType}), which is not nullable");
                    }

                    nulls[r] = true;
                    continue;
                }

                Append(columns[c], field, value, r, op, zone);
            }

            if (dynamic is not null)
            {
                dynamic[r] = extraWriter is null ? EmptyObject : Finish(extraWriter, extra);
            }

            r++;
        }

        var batch = new ColumnBatch(count) { Dynamic = dynamic };
        foreach (var column in columns)
        {
            batch.Add(column);
        }

        return batch;
    }

    /// <summary>Where a value is in the body (<c>data[3].price</c>, <c>data[3].tags[1]</c>, <c>data[3]</c>), formatted only
    /// when a message names it.</summary>
    private readonly record struct ValuePath(int Row, string? Field, int Index = -1)
    {
        public ValuePath Item(int index) => this with { Index = index };

        public override string ToString() => Field is null ? $"data[{Row}]"
            : Index < 0 ? $"data[{Row}].{Field}" : $"data[{Row}].{Field}[{Index}]";
    }

    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement;

    private static JsonElement Finish(Utf8JsonWriter writer, ArrayBufferWriter<byte> buffer)
    {
        writer.WriteEndObject();
        writer.Flush();
        writer.Dispose();
        var reader = new Utf8JsonReader(buffer.WrittenSpan);
        return JsonElement.ParseValue(ref reader);
    }

    /// <summary>The schema position of a row key, or -1. Compares UTF-8 names without allocating the key.</summary>
    private static int FindSlot(byte[][] names, JsonProperty property)
    {
        for (var i = 0; i < names.Length; i++)
        {
            if (property.NameEquals(names[i]))
            {
                return i;
            }
        }

        return -1;
    }

    private static string NameOf(JsonProperty property, int row)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException)
        {
            throw new RestDataException($"data[{row}] holds a string with an unpaired UTF-16 surrogate escape");
        }
    }

    /// <summary>A column for <paramref name="rows"/> rows, with a null array when the field may be left out (nullable,
    /// or with a default the engine fills in).</summary>
    private static FieldColumn Allocate(FieldSchema field, int rows)
    {
        var column = FieldColumn.Allocate(field, rows);
        return field.DefaultValue is null || field.Nullable || field.IsVector
            ? column
            : new FieldColumn
            {
                Name = column.Name,
                Longs = column.Longs,
                Doubles = column.Doubles,
                Bools = column.Bools,
                Strings = column.Strings,
                Json = column.Json,
                Nulls = new bool[rows],
            };
    }

    private static void Append(FieldColumn column, FieldSchema field, JsonElement value, int row, string op, TimeZoneInfo? zone)
    {
        var path = new ValuePath(row, field.Name);
        switch (field.DataType)
        {
            case DataType.Bool:
                column.Bools![row] = BoolOf(value, path);
                break;
            case DataType.Int8 or DataType.Int16 or DataType.Int32:
                column.Longs![row] = IntegerOf(value, field.DataType, path);
                break;
            case DataType.Int64:
                column.Longs![row] = LongOf(value, path);
                break;
            case DataType.Float:
                column.Doubles![row] = (float)DoubleOf(value, path);
                break;
            case DataType.Double:
                column.Doubles![row] = DoubleOf(value, path);
                break;
            case DataType.VarChar or DataType.Geometry:
                column.Strings![row] = StringOf(value, path);
                break;
            case DataType.Timestamptz:
                column.Longs![row] = value.ValueKind == JsonValueKind.Number
                    ? LongOf(value, path)
                    : Timestamptz.TryParse(StringOf(value, path), zone, out var micros, out var error) ? micros : throw new RestDataException($"{path}: {error}");
                break;
            case DataType.Json:
                CheckStrings(value, path);
                column.Json![row] = value;
                break;
            case DataType.Array:
                column.Json![row] = ArrayOf(value, field, path, row, op);
                break;
            case DataType.FloatVector:
                ReadVector(value, field.Dimension!.Value, column.Vectors.AsSpan(row * field.Dimension!.Value, field.Dimension!.Value), path);
                break;
            case DataType.Float16Vector or DataType.BFloat16Vector or DataType.Int8Vector or DataType.BinaryVector:
                RestVectorJson.Read(value, field, column.Vectors.AsSpan(row * field.VectorWidth(), field.VectorWidth()), path.ToString());
                break;
            case DataType.SparseFloatVector:
                column.Sparse![row] = SparseValues.Convert(value, out var sparseError) ?? throw new RestDataException($"{path}: {sparseError}");
                break;
            default:
                throw new RestDataException($"field '{field.Name}' has type {field.DataType}, which the REST API cannot write");
        }
    }

    private static void ReadVector(JsonElement value, int dim, Span<float> target, ValuePath path)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw new RestDataException($"{path} must be an array of {dim} numbers, got {KindOf(value)}");
        }

        var length = value.GetArrayLength();
        if (length != dim)
        {
            throw new RestDataException($"{path} has {length} numbers, the field's dimension is {dim}");
        }

        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            // The common case first: a plain number.
            target[i] = item.ValueKind == JsonValueKind.Number && item.TryGetDouble(out var number)
                ? (float)number
                : item.ValueKind == JsonValueKind.Null
                    ? throw new RestDataException($"{path}[{i}] is null")
                    : (float)DoubleOf(item, path.Item(i));
            i++;
        }
    }

    /// <summary>An Array value as the engine holds it: a JSON array of elements of the field's element type (integers
    /// range-checked, Float at float32 precision), built from the row's elements read by the same rules as scalars.</summary>
    private static JsonElement ArrayOf(JsonElement value, FieldSchema field, ValuePath path, int row, string op)
    {
        var element = field.ElementType!.Value;
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw new RestDataException($"{path} must be an array of {element}, got {KindOf(value)}");
        }

        // Refused on the count before any element is read (as the engine refuses it, with its code and text): a
        // 5M-element row took 26 s to refuse after converting every element.
        if (value.GetArrayLength() is var count && count > field.MaxCapacity)
        {
            throw new QuiverException(QuiverErrorCode.InvalidArgument,
                $"{op} rejected, nothing written: row {row}, field '{field.Name}': array has {count} elements, exceeding max_capacity {field.MaxCapacity}");
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            var i = 0;
            foreach (var item in value.EnumerateArray())
            {
                var itemPath = path.Item(i);
                if (item.ValueKind == JsonValueKind.Null)
                {
                    throw new RestDataException($"{itemPath}: arrays cannot hold null");
                }

                switch (element)
                {
                    case DataType.Bool:
                        w.WriteBooleanValue(BoolOf(item, itemPath));
                        break;
                    case DataType.Int8 or DataType.Int16 or DataType.Int32:
                        w.WriteNumberValue(IntegerOf(item, element, itemPath));
                        break;
                    case DataType.Int64:
                        w.WriteNumberValue(LongOf(item, itemPath));
                        break;
                    case DataType.Float:
                        var single = (float)DoubleOf(item, itemPath);
                        w.WriteNumberValue(float.IsFinite(single) ? single : throw NotFinite(single, i, row, field, op));
                        break;
                    case DataType.Double:
                        var number = DoubleOf(item, itemPath);
                        w.WriteNumberValue(double.IsFinite(number) ? number : throw NotFinite(number, i, row, field, op));
                        break;
                    default:
                        w.WriteStringValue(StringOf(item, itemPath));
                        break;
                }

                i++;
            }

            w.WriteEndArray();
        }

        var reader = new Utf8JsonReader(buffer.WrittenSpan);
        return JsonElement.ParseValue(ref reader);
    }

    /// <summary>JSON has no NaN or infinity, so an array element given as the string "NaN" is refused as the engine
    /// refuses it in a row.</summary>
    private static QuiverException NotFinite(double value, int index, int row, FieldSchema field, string op) =>
        new(QuiverErrorCode.InvalidArgument,
            $"{op} rejected, nothing written: row {row}, field '{field.Name}': array element {index} is {value.ToString(CultureInfo.InvariantCulture)}, not a finite number");

    private static long IntegerOf(JsonElement value, DataType type, ValuePath path)
    {
        var number = LongOf(value, path);
        var (min, max) = type.IntegerRange();
        return number >= min && number <= max ? number : throw new RestDataException($"{path}: {number} is out of range for {type}");
    }

    /// <summary>An integer: a JSON integer, a string holding one, or an integral number below 2^53 written with a
    /// fraction or exponent.</summary>
    private static long LongOf(JsonElement value, ValuePath path)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Number when value.TryGetInt64(out var number):
                return number;
            case JsonValueKind.String when long.TryParse(TextOf(value, path), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed):
                return parsed;
            case JsonValueKind.Number when value.TryGetDouble(out var real) && real == Math.Floor(real) && Math.Abs(real) < 9.007199254740992e15:
                return (long)real;
            default:
                throw new RestDataException($"{path} must be an integer, got {Describe(value)}");
        }
    }

    /// <summary>A number: a JSON number or a string holding one.</summary>
    private static double DoubleOf(JsonElement value, ValuePath path) => value.ValueKind switch
    {
        JsonValueKind.Number when value.TryGetDouble(out var number) => number,
        JsonValueKind.String when double.TryParse(TextOf(value, path), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
        _ => throw new RestDataException($"{path} must be a number, got {Describe(value)}"),
    };

    /// <summary>A boolean: JSON true/false or the strings "true"/"false".</summary>
    private static bool BoolOf(JsonElement value, ValuePath path) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String when bool.TryParse(TextOf(value, path), out var b) => b,
        _ => throw new RestDataException($"{path} must be a boolean, got {Describe(value)}"),
    };

    /// <summary>A string value.</summary>
    private static string StringOf(JsonElement value, ValuePath path) => value.ValueKind == JsonValueKind.String
        ? TextOf(value, path)
        : throw new RestDataException($"{path} must be a string, got {KindOf(value)}");

    /// <summary>The text of a JSON string. JSON's grammar allows an escaped lone surrogate (<c>"\uD800"</c>), which no
    /// .NET string can hold as text: refused naming <paramref name="path"/>.</summary>
    private static string TextOf(JsonElement value, ValuePath path)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw new RestDataException($"{path} is not a valid string: it holds an unpaired UTF-16 surrogate escape");
        }
    }

    /// <summary>Refuses a JSON value holding a string or member name that could not be stored as UTF-8 (an escaped lone
    /// surrogate, bytes that are not UTF-8): <see cref="JsonLimits.Problem(JsonElement, int)"/>, one pass over its raw text.</summary>
    private static void CheckStrings(JsonElement value, ValuePath path)
    {
        if (JsonLimits.Problem(value) is { } problem)
        {
            throw new RestDataException($"{path}: {problem}");
        }
    }

    /// <summary>The JSON kind of a value, for messages (<c>string</c>, <c>number</c>, <c>object</c>...).</summary>
    public static string KindOf(JsonElement value) => value.ValueKind.ToString().ToLowerInvariant();

    private static string Describe(JsonElement value)
    {
        string text;
        try
        {
            text = JsonSerializer.Serialize(value);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            text = value.GetRawText();
        }

        return $"{KindOf(value)} {Utf16Text.Clip(text, 40)}";
    }
}
