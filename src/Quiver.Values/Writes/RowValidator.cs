using System.Text.Json;
using System.Text.Json.Nodes;

namespace Quiver.Writes;

/// <summary>Checks a whole batch of user rows against a schema and builds a <see cref="RowBatch"/>. Throws a
/// <see cref="QuiverException"/> (InvalidArgument, or AlreadyExists is left to the caller) naming the row, the field and the
/// rule on the first problem; nothing is written for a batch that fails.</summary>
internal static class RowValidator
{
    /// <summary>Builds a batch. <paramref name="autoIds"/> supplies ids for an auto-id key on insert (called once with
    /// the row count; null leaves the keys unassigned, for a client that only checks rows); for upsert the key must be
    /// supplied even when auto-id is on, since upsert replaces by key. <paramref name="zone"/> reads TIMESTAMPTZ text
    /// without an offset (the collection's <c>timezone</c>; null for UTC).</summary>
    public static RowBatch Build(
        CollectionSchema schema,
        IReadOnlyList<IReadOnlyDictionary<string, object?>> rows,
        bool upsert,
        Func<int, long>? autoIds,
        TimeZoneInfo? zone = null)
    {
        var op = upsert ? "upsert" : "insert";
        if (rows.Count == 0)
        {
            Throw.Invalid($"{op}: the batch has no rows");
        }

        var count = rows.Count;
        var fields = schema.Fields;
        var columns = new BatchColumn[fields.Length];
        for (var f = 0; f < fields.Length; f++)
        {
            columns[f] = BatchColumn.Allocate(fields[f], count);
        }

        var pk = schema.PrimaryKey;
        var pkIndex = schema.IndexOf(pk.Name);
        var generateKeys = pk.AutoId && !upsert;
        var dynamic = schema.EnableDynamicField ? new JsonElement[count] : null;

        for (var row = 0; row < count; row++)
        {
            var values = rows[row] ?? throw new QuiverException(QuiverErrorCode.InvalidArgument, $"{op} rejected, nothing written: row {row} is null");
            foreach (var key in values.Keys)
            {
                if (schema.IndexOf(key) >= 0)
                {
                    continue;
                }

                if (dynamic is null)
                {
                    Fail(op, row, key, "unknown field, and the collection has no dynamic field");
                }
            }

            for (var f = 0; f < fields.Length; f++)
            {
                var field = fields[f];
                values.TryGetValue(field.Name, out var value);
                if (f == pkIndex && generateKeys)
                {
                    if (value is not null)
                    {
                        Fail(op, row, field.Name, "the primary key is auto-generated (auto_id); do not supply it");
                    }

                    continue;
                }

                if (value is null || value is JsonElement { ValueKind: JsonValueKind.Null })
                {
                    if (field.DefaultValue is { } dv)
                    {
                        value = dv;
                    }
                    else if (field.Nullable)
                    {
                        columns[f].SetNull(row, count);
                        continue;
                    }
                    else
                    {
                        Fail(op, row, field.Name, "missing required field");
                    }
                }

                string? error;
                if (field.IsVector)
                {
                    var dim = field.VectorWidth();
                    ValueConverter.CopyVector(field, value, columns[f].Vectors.AsSpan(row * dim, dim), out error);
                }
                else
                {
                    var v = ValueConverter.ConvertScalar(field, value, out error, zone);
                    if (error is null)
                    {
                        columns[f].Set(row, v!);
                    }
                }

                if (error is not null)
                {
                    Fail(op, row, field.Name, error);
                }
            }

            if (dynamic is not null)
            {
                dynamic[row] = BuildDynamic(schema, values, op, row);
            }
        }

        if (generateKeys)
        {
            if (autoIds is null)
            {
                return new RowBatch { Schema = schema, Count = count, Columns = columns, Dynamic = dynamic };
            }

            var first = autoIds(count);
            var keys = columns[pkIndex].Longs!;
            for (var i = 0; i < count; i++)
            {
                keys[i] = first + i;
            }
        }

        var batch = new RowBatch { Schema = schema, Count = count, Columns = columns, Dynamic = dynamic };
        CheckDuplicateKeys(batch, op);
        return batch;
    }

    private static JsonElement BuildDynamic(CollectionSchema schema, IReadOnlyDictionary<string, object?> values, string op, int row)
    {
        JsonObject? extra = null;
        foreach (var (key, value) in values)
        {
            if (schema.IndexOf(key) >= 0)
            {
                continue;
            }

            if (Utf16Text.Problem(key) is { } keyProblem)
            {
                Fail(op, row, key, $"the dynamic-field key {keyProblem}");
            }

            extra ??= [];
            if (key == CollectionSchema.DynamicFieldName)
            {
                // Milvus clients may send the dynamic keys pre-packed as a JSON object under $meta.
                var packed = ValueConverter.ConvertJson(value!, out var error);
                if (error is not null || packed is not { ValueKind: JsonValueKind.Object } obj)
                {
                    Fail(op, row, key, error ?? "the dynamic field must be a JSON object");
                    return default;
                }

                foreach (var p in obj.EnumerateObject())
                {
                    extra[p.Name] = JsonNode.Parse(p.Value.GetRawText());
                }

                continue;
            }

            // A plain value under an undeclared key is that value (a string stays a string, not JSON text). It sits
            // inside the row's dynamic object, so it may nest one level less than the whole document.
            const int valueDepth = JsonLimits.MaxDepth - 1;
            JsonElement je;
            try
            {
                je = value switch
                {
                    JsonElement e => e,
                    _ => JsonSerializer.SerializeToElement(value, JsonLimits.Serializer),
                };
            }
            catch (NotSupportedException ex)
            {
                Fail(op, row, key, $"value cannot be stored in the dynamic field: {ex.Message}");
                return default;
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException)
            {
                Fail(op, row, key, $"{JsonLimits.DepthError(valueDepth)}, or it contains itself");
                return default;
            }
            catch (InvalidStringException ex)
            {
                Fail(op, row, key, $"value cannot be stored in the dynamic field: {ex.Message}");
                return default;
            }

            if (JsonLimits.Problem(je, valueDepth) is { } problem)
            {
                Fail(op, row, key, problem);
            }

            extra[key] = JsonNode.Parse(je.GetRawText());
        }

        if (extra is null)
        {
            return default;
        }

        // The row's dynamic object is held to the JSON size limit as a whole, as a packed $meta is.
        var dynamic = JsonSerializer.SerializeToElement(extra);
        if (JsonLimits.SizeProblem(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(dynamic).Length) is { } tooLarge)
        {
            Fail(op, row, CollectionSchema.DynamicFieldName, tooLarge);
        }

        return dynamic;
    }

    internal static void CheckDuplicateKeys(RowBatch batch, string op)
    {
        var seen = new Dictionary<PrimaryKey, int>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            var k = batch.Key(i);
            if (!seen.TryAdd(k, i))
            {
                Throw.Invalid($"{op} rejected, nothing written: rows {seen[k]} and {i} have the same primary key {k}");
            }
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    internal static void Fail(string op, int row, string field, string rule) =>
        Throw.Invalid($"{op} rejected, nothing written: row {row}, field '{field}': {rule}");
}
