using System.Buffers;
using System.Text.Json;

namespace Quiver.Wire;

public static partial class RestJsonReader
{
    /// <summary>
    /// The columns of the rows in <paramref name="rows"/>, the UTF-8 text of a REST <c>data</c> array, read in one pass
    /// with a <see cref="Utf8JsonReader"/> and no document built. Accepts and refuses exactly what
    /// <see cref="Read(CollectionSchema, JsonElement, bool)"/> does, with the same messages: the common values (numbers,
    /// booleans, plain strings, float vectors of numbers) are read straight from the text into the columns, and any other
    /// value is handed, as a <see cref="JsonElement"/> of just that value, to the same code the element reader uses.
    /// </summary>
    /// <param name="schema">The collection's schema.</param>
    /// <param name="rows">A well-formed JSON array (the caller has checked the body) of <paramref name="count"/> items.</param>
    /// <param name="count">The number of items in the array.</param>
    /// <param name="insert">True for insert (an auto-generated key is left out), false for upsert.</param>
    /// <exception cref="ArgumentException">The array does not hold <paramref name="count"/> items.</exception>
    /// <exception cref="JsonException">The text is not well-formed JSON.</exception>
    public static ColumnBatch Read(CollectionSchema schema, ReadOnlySpan<byte> rows, int count, bool insert) =>
        Read(schema, rows, count, insert, null);

    /// <summary>As <see cref="Read(CollectionSchema, ReadOnlySpan{byte}, int, bool)"/>, TIMESTAMPTZ text without an offset
    /// read in <paramref name="zone"/> (the collection's <c>timezone</c>; null for UTC).</summary>
    public static ColumnBatch Read(CollectionSchema schema, ReadOnlySpan<byte> rows, int count, bool insert, TimeZoneInfo? zone)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        // The hand-read subset first; anything it declines is read again, whole, by System.Text.Json.
        return System.Text.Unicode.Utf8.IsValid(rows) && TryReadText(schema, rows, count, insert, zone) is { } batch
            ? batch
            : ReadParsed(schema, rows, count, insert, zone);
    }

    private static ColumnBatch ReadParsed(CollectionSchema schema, ReadOnlySpan<byte> rows, int count, bool insert, TimeZoneInfo? zone)
    {
        var element = Element(rows);
        if (element.ValueKind == JsonValueKind.Array && element.GetArrayLength() != count)
        {
            throw new ArgumentException($"the array holds {element.GetArrayLength()} rows, {count} were announced", nameof(count));
        }

        return Read(schema, element, insert, zone);
    }

    /// <summary>The rows read by <see cref="StrictJsonText"/>, or null when the text leaves its subset (or does not hold
    /// <paramref name="count"/> rows). A value that does not fit its field is refused as the element reader refuses it.</summary>
    private static ColumnBatch? TryReadText(CollectionSchema schema, ReadOnlySpan<byte> rows, int count, bool insert, TimeZoneInfo? zone)
    {
        var text = new StrictJsonText(rows);
        if (!text.Take((byte)'['))
        {
            return null;
        }

        var all = schema.Fields;
        var fields = all.Where(f => !(insert && f.IsPrimaryKey && f.AutoId) && SchemaFunctions.FunctionWriting(schema, f.Name) is null).ToArray();
        var names = all.Select(f => System.Text.Encoding.UTF8.GetBytes(f.Name)).ToArray();
        var writers = all.Select(f => SchemaFunctions.FunctionWriting(schema, f.Name)).ToArray();
        var slotOf = fields.Select(f => schema.IndexOf(f.Name)).ToArray();
        // The column each schema slot writes, or -1 (a key sent for an auto id on insert, a function's output).
        var columnOf = new int[all.Length];
        Array.Fill(columnOf, -1);
        for (var c = 0; c < slotOf.Length; c++)
        {
            columnOf[slotOf[c]] = c;
        }

        var columns = fields.Select(f => Allocate(f, count)).ToArray();
        var dynamic = schema.EnableDynamicField ? new JsonElement[count] : null;
        // Per slot, for the row being read: where its value is in the text (start < 0: absent), whether it was null, and
        // whether it was already read into its column.
        var starts = new int[all.Length];
        var ends = new int[all.Length];
        var nulls = new bool[all.Length];
        var done = new bool[all.Length];
        Span<(int, int)> keys = stackalloc (int, int)[StrictJsonText.MaxKeys];
        var extra = new ArrayBufferWriter<byte>();
        var op = insert ? "insert" : "upsert";
        var r = 0;
        if (text.Peek() == (byte)']')
        {
            return null;
        }

        do
        {
            if (r == count)
            {
                return null;
            }

            if (!text.Take((byte)'{'))
            {
                var start = text.Position;
                if (!text.SkipValue(2))
                {
                    return null;
                }

                throw new RestDataException($"data[{r}] must be a JSON object, got {KindOf(Element(rows[start..text.Position]))}");
            }

            Array.Fill(starts, -1);
            Array.Clear(done);
            extra.ResetWrittenCount();
            Utf8JsonWriter? extraWriter = null;
            var keyCount = 0;
            if (!text.Take((byte)'}'))
            {
                do
                {
                    if (!text.Key(keys, ref keyCount, out var key))
                    {
                        return null;
                    }

                    var slot = FindSlot(names, key);
                    if (slot >= 0 && writers[slot] is { } function)
                    {
                        throw new RestDataException($"data[{r}].{all[slot].Name}: field '{all[slot].Name}' is the output of function '{function.Name}' and is computed from '{function.InputFieldNames[0]}'; leave it out of inserted rows");
                    }

                    text.SkipSpace();
                    var valueStart = text.Position;
                    if (slot >= 0)
                    {
                        starts[slot] = valueStart;
                        nulls[slot] = text.Peek() == (byte)'n' && text.Literal("null"u8);
                        var c = columnOf[slot];
                        done[slot] = !nulls[slot] && c >= 0 && TryAppend(ref text, columns[c], fields[c], r);
                        if (!done[slot] && !nulls[slot])
                        {
                            text.Position = valueStart;
                            if (!text.SkipValue(3))
                            {
                                return null;
                            }
                        }

                        ends[slot] = text.Position;
                        continue;
                    }

                    var name = System.Text.Encoding.UTF8.GetString(key);
                    if (dynamic is null)
                    {
                        throw new RestDataException($"data[{r}].{name}: field '{name}' is not in the collection's schema and its dynamic field is disabled");
                    }

                    if (name == CollectionSchema.DynamicFieldName)
                    {
                        throw new RestDataException($"data[{r}].{name}: '{CollectionSchema.DynamicFieldName}' is reserved for the dynamic field");
                    }

                    if (!text.SkipValue(3))
                    {
                        return null;
                    }

                    var value = Element(rows[valueStart..text.Position]);
                    if (value.ValueKind == JsonValueKind.Null)
                    {
                        continue;
                    }

                    CheckStrings(value, new ValuePath(r, null));
                    if (extraWriter is null)
                    {
                        extraWriter = new Utf8JsonWriter(extra);
                        extraWriter.WriteStartObject();
                    }

                    extraWriter.WritePropertyName(name);
                    value.WriteTo(extraWriter);
                }
                while (text.Take((byte)','));

                if (!text.Take((byte)'}'))
                {
                    return null;
                }
            }

            for (var c = 0; c < fields.Length; c++)
            {
                var slot = slotOf[c];
                if (done[slot])
                {
                    continue;
                }

                var field = fields[c];
                if (starts[slot] < 0 || nulls[slot])
                {
                    if (columns[c].Nulls is not { } columnNulls)
                    {
                        throw new RestDataException(
                            $"data[{r}].{field.Name}: missing value for field '{field.Name}' ({field.DataType}), which is not nullable");
                    }

                    columnNulls[r] = true;
                    continue;
                }

                Append(columns[c], field, Element(rows[starts[slot]..ends[slot]]), r, op, zone);
            }

            if (dynamic is not null)
            {
                dynamic[r] = extraWriter is null ? EmptyObject : Finish(extraWriter, extra);
            }

            r++;
        }
        while (text.Take((byte)','));

        if (!text.Take((byte)']') || r != count)
        {
            return null;
        }

        text.SkipSpace();
        if (text.Position != rows.Length)
        {
            return null;
        }

        var batch = new ColumnBatch(count) { Dynamic = dynamic };
        foreach (var column in columns)
        {
            batch.Add(column);
        }

        return batch;
    }

    /// <summary>Reads the value at <paramref name="text"/> into row <paramref name="row"/> of <paramref name="column"/>
    /// when it has the form nearly every client sends (a number, a boolean, a string without escapes, an array of
    /// numbers for a float vector), converted exactly as the element reader converts it; returns false for anything
    /// else (the caller then reads the value over and hands it to the element reader, which refuses it with its
    /// message).</summary>
    private static bool TryAppend(ref StrictJsonText text, FieldColumn column, FieldSchema field, int row)
    {
        switch (field.DataType)
        {
            case DataType.Bool:
                if (text.Literal("true"u8))
                {
                    column.Bools![row] = true;
                    return true;
                }

                return text.Literal("false"u8);
            case DataType.Int64:
                if (text.Number(out var number) && StrictJsonText.TryInt64(number, out var value))
                {
                    column.Longs![row] = value;
                    return true;
                }

                return false;
            case DataType.Int8 or DataType.Int16 or DataType.Int32:
                if (text.Number(out var small) && StrictJsonText.TryInt64(small, out var integer))
                {
                    var (min, max) = field.DataType.IntegerRange();
                    column.Longs![row] = integer;
                    return integer >= min && integer <= max;
                }

                return false;
            case DataType.Float or DataType.Double:
                if (text.Number(out var real) && StrictJsonText.TryDouble(real, out var d))
                {
                    column.Doubles![row] = field.DataType == DataType.Float ? (float)d : d;
                    return true;
                }

                return false;
            case DataType.VarChar:
                if (text.String(out var content, out var escaped) && !escaped)
                {
                    column.Strings![row] = System.Text.Encoding.UTF8.GetString(content);
                    return true;
                }

                return false;
            case DataType.FloatVector:
                return TryReadVector(ref text, column.Vectors.AsSpan(row * field.Dimension!.Value, field.Dimension!.Value));
            default:
                return false;
        }
    }

    /// <summary>A float vector given as an array of exactly <c>target.Length</c> JSON numbers, each read as a double and
    /// narrowed (as the element reader does); false for any other value.</summary>
    private static bool TryReadVector(ref StrictJsonText text, Span<float> target)
    {
        if (!text.Take((byte)'['))
        {
            return false;
        }

        for (var i = 0; i < target.Length; i++)
        {
            if ((i > 0 && !text.Take((byte)',')) || !text.Number(out var number) || !StrictJsonText.TryDouble(number, out var value))
            {
                return false;
            }

            target[i] = (float)value;
        }

        return text.Take((byte)']');
    }

    /// <summary>The schema position of <paramref name="key"/> (a key without escapes), or -1.</summary>
    private static int FindSlot(byte[][] names, ReadOnlySpan<byte> key)
    {
        for (var i = 0; i < names.Length; i++)
        {
            if (key.SequenceEqual(names[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>One JSON value's text as an element (for the values the fast path leaves to the element reader).</summary>
    private static JsonElement Element(ReadOnlySpan<byte> value)
    {
        var reader = new Utf8JsonReader(value);
        return JsonElement.ParseValue(ref reader);
    }
}
