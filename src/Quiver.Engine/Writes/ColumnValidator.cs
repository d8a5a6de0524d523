using System.Text.Json;

namespace Quiver.Writes;

/// <summary>Checks a <see cref="ColumnBatch"/> against a schema and builds a <see cref="RowBatch"/>, column by column,
/// by the rules <see cref="RowValidator"/> applies to rows and with its messages (row, field, rule), so a batch is
/// accepted or refused the same whichever form it came in. Every array is copied (a block copy where no value changes):
/// the caller keeps its arrays.</summary>
internal static class ColumnValidator
{
    /// <summary>Builds a batch; <paramref name="autoIds"/> as in <see cref="RowValidator.Build"/>.</summary>
    public static RowBatch Build(CollectionSchema schema, ColumnBatch input, bool upsert, Func<int, long> autoIds, TimeZoneInfo? zone = null) =>
        Build(schema, input, upsert, autoIds, zone, borrowVectors: false);

    /// <summary>Refuses <paramref name="input"/> exactly as <see cref="Build(CollectionSchema, ColumnBatch, bool, Func{int, long}, TimeZoneInfo?)"/>
    /// would (the same rules, messages and row numbers; auto_id keys as zeros) without keeping a batch: the vector columns
    /// are checked in the caller's arrays, not copied (a cluster node checks a whole write before splitting it into
    /// shards, whose engines build their own batches). Changes nothing in <paramref name="input"/>.</summary>
    public static void Check(CollectionSchema schema, ColumnBatch input, bool upsert, TimeZoneInfo? zone = null) =>
        Build(schema, input, upsert, _ => 0, zone, borrowVectors: true);

    private static RowBatch Build(CollectionSchema schema, ColumnBatch input, bool upsert, Func<int, long> autoIds, TimeZoneInfo? zone, bool borrowVectors)
    {
        var op = upsert ? "upsert" : "insert";
        var count = input.RowCount;
        if (count == 0)
        {
            Throw.Invalid($"{op}: the batch has no rows");
        }

        foreach (var column in input.Columns)
        {
            if (schema.IndexOf(column.Name) < 0)
            {
                RowValidator.Fail(op, 0, column.Name, schema.EnableDynamicField
                    ? $"unknown field; undeclared keys go in the dynamic field '{CollectionSchema.DynamicFieldName}'"
                    : "unknown field, and the collection has no dynamic field");
            }
        }

        var fields = schema.Fields;
        var columns = new BatchColumn[fields.Length];
        var pkIndex = schema.IndexOf(schema.PrimaryKey.Name);
        var generateKeys = schema.PrimaryKey.AutoId && !upsert;
        for (var f = 0; f < fields.Length; f++)
        {
            var field = fields[f];
            var given = input.Find(field.Name);
            if (f == pkIndex && generateKeys)
            {
                for (var r = 0; given is not null && r < count; r++)
                {
                    if (!given.IsNull(r))
                    {
                        RowValidator.Fail(op, r, field.Name, "the primary key is auto-generated (auto_id); do not supply it");
                    }
                }

                columns[f] = BatchColumn.Allocate(field, count);
                continue;
            }

            columns[f] = given is null ? Missing(field, count, op) : Column(field, given, count, op, zone, borrowVectors);
        }

        var dynamic = Dynamic(schema, input, op);
        if (generateKeys)
        {
            var first = autoIds(count);
            var keys = columns[pkIndex].Longs!;
            for (var i = 0; i < count; i++)
            {
                keys[i] = first + i;
            }
        }

        var batch = new RowBatch { Schema = schema, Count = count, Columns = columns, Dynamic = dynamic };
        RowValidator.CheckDuplicateKeys(batch, op);
        return batch;
    }

    /// <summary>A field without a column: every row takes the default, or is null, or the batch is refused at row 0.</summary>
    internal static BatchColumn Missing(FieldSchema field, int count, string op)
    {
        var column = BatchColumn.Allocate(field, count);
        if (field.DefaultValue is not { } dv)
        {
            if (!field.Nullable)
            {
                RowValidator.Fail(op, 0, field.Name, "missing required field");
            }

            column.Nulls = new bool[count];
            Array.Fill(column.Nulls, true);
            return column;
        }

        var value = ValueConverter.ConvertScalar(field, dv, out var error);
        if (error is not null)
        {
            RowValidator.Fail(op, 0, field.Name, error);
        }

        for (var r = 0; r < count; r++)
        {
            column.Set(r, value!);
        }

        return column;
    }

    /// <summary>One column checked and copied; with <paramref name="borrowVectors"/> a vector column is checked in
    /// <paramref name="given"/>'s array and the result holds that array, unchanged (null rows not zeroed).</summary>
    private static BatchColumn Column(FieldSchema field, FieldColumn given, int count, string op, TimeZoneInfo? zone, bool borrowVectors)
    {
        var dim = field.IsVector ? field.VectorWidth() : 1;
        if (given.Length(dim) != count || (field.IsVector && given.Vectors is { } v && v.Length != (long)count * dim))
        {
            Throw.Invalid($"{op} rejected, nothing written: field '{field.Name}' has {given.Length(dim)} values for {count} rows");
        }

        if (given.Nulls is { } n && n.Length != count)
        {
            Throw.Invalid($"{op} rejected, nothing written: field '{field.Name}' has {n.Length} null flags for {count} rows");
        }

        var expected = FieldColumn.Allocate(field, 0).Kind;
        if (given.Kind != expected)
        {
            RowValidator.Fail(op, 0, field.Name, $"expected {field.DataType}, got a {given.Kind} column");
        }

        if (field.IsVector)
        {
            var vectors = borrowVectors ? given.Vectors! : (float[])given.Vectors!.Clone();
            bool[]? nulls = null;
            for (var r = 0; r < count; r++)
            {
                if (given.IsNull(r))
                {
                    if (!field.Nullable)
                    {
                        RowValidator.Fail(op, r, field.Name, "missing required field");
                    }

                    // A null row's slots are stored as zeros, whatever the caller's array holds there.
                    if (!borrowVectors)
                    {
                        vectors.AsSpan(r * dim, dim).Clear();
                    }

                    nulls ??= new bool[count];
                    nulls[r] = true;
                    continue;
                }

                if (ValueConverter.CheckVector(field, vectors.AsSpan(r * dim, dim)) is { } error)
                {
                    RowValidator.Fail(op, r, field.Name, error);
                }
            }

            return new BatchColumn { Vectors = vectors, Nulls = nulls };
        }

        // Values that need rounding (Float), normalising (JSON, Array) or defaults are written into a copy.
        var needsCopy = field.DataType is DataType.Float or DataType.Json or DataType.Array || HasNullWithDefault(field, given, count);
        var result = needsCopy ? BatchColumn.Allocate(field, count) : Copy(given);
        for (var r = 0; r < count; r++)
        {
            if (given.IsNull(r))
            {
                if (field.DefaultValue is { } dv)
                {
                    result.Set(r, ValueConverter.ConvertScalar(field, dv, out _)!);
                }
                else if (field.Nullable)
                {
                    result.SetNull(r, count);
                }
                else
                {
                    RowValidator.Fail(op, r, field.Name, "missing required field");
                }

                continue;
            }

            var error = Check(field, given, result, r, zone);
            if (error is not null)
            {
                RowValidator.Fail(op, r, field.Name, error);
            }
        }

        return result;
    }

    private static bool HasNullWithDefault(FieldSchema field, FieldColumn given, int count)
    {
        if (field.DefaultValue is null)
        {
            return false;
        }

        for (var r = 0; r < count; r++)
        {
            if (given.IsNull(r))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Copies of the given arrays (one block copy each): the batch outlives the call in the growing segment,
    /// and the caller may reuse its arrays.</summary>
    private static BatchColumn Copy(FieldColumn given) => new()
    {
        Longs = (long[]?)given.Longs?.Clone(),
        Doubles = (double[]?)given.Doubles?.Clone(),
        Bools = (bool[]?)given.Bools?.Clone(),
        Strings = (string?[]?)given.Strings?.Clone(),
        Sparse = (SparseVector?[]?)given.Sparse?.Clone(),
        Nulls = (bool[]?)given.Nulls?.Clone(),
    };

    /// <summary>Checks row <paramref name="r"/> (not null) and writes its canonical value into <paramref name="result"/>;
    /// the rule it breaks, or null.</summary>
    private static string? Check(FieldSchema field, FieldColumn given, BatchColumn result, int r, TimeZoneInfo? zone)
    {
        string? error;
        switch (field.DataType)
        {
            case DataType.Geometry:
                result.Strings![r] = Spatial.Wkt.Normalize(given.Strings![r]!, out error);
                return error;
            case DataType.Timestamptz:
                result.Longs![r] = given.Longs![r];
                return Timestamptz.CheckRange(given.Longs[r]);
        }

        switch (field.DataType.Storage())
        {
            case DataType.Bool:
                result.Bools![r] = given.Bools![r];
                return null;
            case DataType.VarChar:
                result.Strings![r] = given.Strings![r];
                return ValueConverter.CheckString(field, given.Strings[r]!);
            case DataType.Float or DataType.Double:
                var d = given.Doubles![r];
                error = ValueConverter.CheckFloatingPoint(field, ref d);
                result.Doubles![r] = d;
                return error;
            case DataType.Json or DataType.Array:
                var converted = ValueConverter.ConvertScalar(field, given.Json![r], out error, zone);
                if (error is null)
                {
                    result.Json![r] = (JsonElement)converted!;
                }

                return error;
            case DataType.SparseFloatVector:
                // A SparseVector is checked when it is made and cannot change.
                result.Sparse![r] = given.Sparse![r];
                return null;
            default:
                result.Longs![r] = given.Longs![r];
                return ValueConverter.CheckInteger(field, given.Longs[r]);
        }
    }

    private static JsonElement[]? Dynamic(CollectionSchema schema, ColumnBatch input, string op)
    {
        if (input.Dynamic is not { } given)
        {
            return schema.EnableDynamicField ? new JsonElement[input.RowCount] : null;
        }

        if (!schema.EnableDynamicField)
        {
            RowValidator.Fail(op, 0, CollectionSchema.DynamicFieldName, "unknown field, and the collection has no dynamic field");
        }

        if (given.Length != input.RowCount)
        {
            Throw.Invalid($"{op} rejected, nothing written: field '{CollectionSchema.DynamicFieldName}' has {given.Length} values for {input.RowCount} rows");
        }

        var result = new JsonElement[given.Length];
        for (var r = 0; r < given.Length; r++)
        {
            var value = given[r];
            if (value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            {
                continue;
            }

            var converted = ValueConverter.ConvertJson(value, out var error);
            if (error is not null || converted is not { ValueKind: JsonValueKind.Object } obj)
            {
                RowValidator.Fail(op, r, CollectionSchema.DynamicFieldName, error ?? "the dynamic field must be a JSON object");
                return null;
            }

            foreach (var p in obj.EnumerateObject())
            {
                if (schema.IndexOf(p.Name) >= 0)
                {
                    RowValidator.Fail(op, r, CollectionSchema.DynamicFieldName, $"key '{p.Name}' is a declared field; send it as its own column");
                }
            }

            // An empty object is no dynamic keys, stored as none (as a row without undeclared keys).
            result[r] = obj.EnumerateObject().Any() ? obj : default;
        }

        return result;
    }
}
