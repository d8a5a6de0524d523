using System.Globalization;
using System.Text.Json;

namespace Quiver.Wire;

/// <summary>
/// Writes engine columns (<see cref="ColumnBatch"/>: query, get and search results) straight as REST v2 rows, one JSON
/// object per row, by Milvus's REST conventions: Int64 values as strings unless the client allows Int64 numbers
/// (<c>Accept-Type-Allow-Int64</c>), a JSON field's value as its JSON text, Array values as JSON arrays, vectors as
/// number arrays, nulls as JSON null, dynamic keys spread into the row (all of them, or only those asked for by name),
/// and for search hits <c>id</c> and <c>distance</c> after the fields (in the field's place when a field has that name).
/// </summary>
public static class RestJsonWriter
{
    /// <summary>The key of a search hit's primary key in a REST row.</summary>
    public const string IdKey = "id";

    /// <summary>The key of a search hit's score in a REST row.</summary>
    public const string DistanceKey = "distance";

    /// <summary>Writes the rows of <paramref name="batch"/> as a JSON array.</summary>
    /// <param name="writer">Where the array goes.</param>
    /// <param name="fields">The declared fields to print, in order; each has a column in the batch.</param>
    /// <param name="batch">The rows; its <see cref="ColumnBatch.Dynamic"/> objects are spread into the rows.</param>
    /// <param name="outputNames">The output field names the call reports; dynamic keys named there limit which keys are
    /// spread (none named: all).</param>
    /// <param name="ids">For search hits, the hits' primary keys; else null.</param>
    /// <param name="scores">For search hits, the hits' scores; else null.</param>
    /// <param name="allowInt64">Whether Int64 values are written as numbers rather than strings.</param>
    public static void WriteRows(Utf8JsonWriter writer, IReadOnlyList<FieldSchema> fields, ColumnBatch batch,
        IReadOnlyList<string> outputNames, FieldColumn? ids, float[]? scores, bool allowInt64)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(outputNames);
        var columns = fields.Select(f => batch.Find(f.Name)
            ?? throw new ArgumentException($"the batch has no column '{f.Name}'", nameof(fields))).ToArray();
        var declared = fields.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        var requested = outputNames
            .Where(f => !declared.Contains(f) && f != "*" && f != CollectionSchema.DynamicFieldName && !f.Contains('(', StringComparison.Ordinal))
            .ToHashSet(StringComparer.Ordinal);
        var spreadAll = requested.Count == 0;
        writer.WriteStartArray();
        for (var r = 0; r < batch.RowCount; r++)
        {
            writer.WriteStartObject();
            var idWritten = false;
            var distanceWritten = false;
            for (var c = 0; c < columns.Length; c++)
            {
                writer.WritePropertyName(fields[c].Name);
                if (!HitValue(writer, fields[c].Name, ids, scores, r, allowInt64, ref idWritten, ref distanceWritten))
                {
                    WriteValue(writer, fields[c], columns[c], r, allowInt64);
                }
            }

            if (batch.Dynamic is { } dynamic && dynamic[r].ValueKind == JsonValueKind.Object)
            {
                foreach (var property in dynamic[r].EnumerateObject())
                {
                    // A dynamic key never shadows a declared field (writes refuse one).
                    if ((!spreadAll && !requested.Contains(property.Name)) || declared.Contains(property.Name))
                    {
                        continue;
                    }

                    writer.WritePropertyName(property.Name);
                    if (!HitValue(writer, property.Name, ids, scores, r, allowInt64, ref idWritten, ref distanceWritten))
                    {
                        property.Value.WriteTo(writer);
                    }
                }
            }

            if (ids is not null && !idWritten)
            {
                writer.WritePropertyName(IdKey);
                WriteKey(writer, ids, r, allowInt64);
            }

            if (scores is not null && !distanceWritten && r < scores.Length)
            {
                writer.WriteNumber(DistanceKey, scores[r]);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    /// <summary>A search hit's id or distance in place of a field of that name (the hit's value wins, where the field
    /// stood).</summary>
    private static bool HitValue(Utf8JsonWriter writer, string name, FieldColumn? ids, float[]? scores, int row, bool allowInt64,
        ref bool idWritten, ref bool distanceWritten)
    {
        if (ids is not null && name == IdKey)
        {
            WriteKey(writer, ids, row, allowInt64);
            idWritten = true;
            return true;
        }

        if (scores is not null && name == DistanceKey && row < scores.Length)
        {
            writer.WriteNumberValue(scores[row]);
            distanceWritten = true;
            return true;
        }

        return false;
    }

    private static void WriteKey(Utf8JsonWriter writer, FieldColumn ids, int row, bool allowInt64)
    {
        if (ids.Longs is { } longs)
        {
            WriteInt64(writer, longs[row], allowInt64);
        }
        else
        {
            writer.WriteStringValue(ids.Strings![row]);
        }
    }

    /// <summary>An Int64 value as Milvus's REST API returns it: a string (JavaScript numbers lose precision past 2^53), or
    /// a number when the client allows.</summary>
    public static void WriteInt64(Utf8JsonWriter writer, long value, bool allowInt64)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (allowInt64)
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            writer.WriteStringValue(value.ToString(CultureInfo.InvariantCulture));
        }
    }

    private static void WriteValue(Utf8JsonWriter writer, FieldSchema field, FieldColumn column, int row, bool allowInt64)
    {
        if (column.IsNull(row))
        {
            writer.WriteNullValue();
            return;
        }

        if (field.IsVector && field.DataType != DataType.FloatVector)
        {
            RestVectorJson.Write(writer, field, column.Vectors.AsSpan(row * field.VectorWidth(), field.VectorWidth()));
            return;
        }

        if (field.IsVector)
        {
            var dim = field.Dimension!.Value;
            writer.WriteStartArray();
            foreach (var x in column.Vectors.AsSpan(row * dim, dim))
            {
                writer.WriteNumberValue(x);
            }

            writer.WriteEndArray();
            return;
        }

        if (field.IsSparseVector)
        {
            column.Sparse![row]!.WriteJson(writer);
            return;
        }

        switch (field.DataType)
        {
            case DataType.Bool:
                writer.WriteBooleanValue(column.Bools![row]);
                break;
            case DataType.Int8 or DataType.Int16 or DataType.Int32:
                writer.WriteNumberValue(checked((int)column.Longs![row]));
                break;
            case DataType.Int64:
                WriteInt64(writer, column.Longs![row], allowInt64);
                break;
            case DataType.Float:
                writer.WriteNumberValue((float)column.Doubles![row]);
                break;
            case DataType.Double:
                writer.WriteNumberValue(column.Doubles![row]);
                break;
            case DataType.VarChar or DataType.Geometry:
                writer.WriteStringValue(column.Strings![row]);
                break;
            case DataType.Timestamptz:
                // A search result read back from the gRPC answer keeps its text (FieldDataReader.ReadResult), in the read's zone.
                writer.WriteStringValue(column.Strings?[row] ?? Timestamptz.Format(column.Longs![row], column.TimeZone));
                break;
            case DataType.Json:
                // Milvus's REST API returns a JSON field's value as its JSON text.
                writer.WriteStringValue(JsonSerializer.SerializeToUtf8Bytes(column.Json![row]));
                break;
            default:
                WriteArray(writer, field.ElementType!.Value, column.Json![row], allowInt64);
                break;
        }
    }

    private static void WriteArray(Utf8JsonWriter writer, DataType element, JsonElement array, bool allowInt64)
    {
        writer.WriteStartArray();
        if (array.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in array.EnumerateArray())
            {
                switch (element)
                {
                    case DataType.Bool:
                        writer.WriteBooleanValue(item.GetBoolean());
                        break;
                    case DataType.Int8 or DataType.Int16 or DataType.Int32:
                        writer.WriteNumberValue(item.GetInt32());
                        break;
                    case DataType.Int64:
                        WriteInt64(writer, item.GetInt64(), allowInt64);
                        break;
                    case DataType.Float:
                        writer.WriteNumberValue(item.GetSingle());
                        break;
                    case DataType.Double:
                        writer.WriteNumberValue(item.GetDouble());
                        break;
                    default:
                        writer.WriteStringValue(item.GetString());
                        break;
                }
            }
        }

        writer.WriteEndArray();
    }
}
