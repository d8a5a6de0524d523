using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Quiver;

/// <summary>Turns user-supplied values (CLR values, <see cref="JsonElement"/>s or <see cref="JsonNode"/>s) into the engine's
/// canonical forms: long for integers, double for Float/Double (a Float rounded to float32), bool, string, a cloned
/// <see cref="JsonElement"/> for JSON and Array, and float[] for vectors. Never throws for bad input: it returns an error
/// text that the caller puts into a message naming the field and the row.</summary>
internal static class ValueConverter
{
    /// <summary>One scalar value in its canonical form, or null with <paramref name="error"/>; <paramref name="zone"/>
    /// reads TIMESTAMPTZ text without an offset (null: UTC).</summary>
    public static object? ConvertScalar(FieldSchema field, object value, out string? error, TimeZoneInfo? zone = null)
    {
        error = null;
        if (value is JsonNode node)
        {
            try
            {
                value = JsonSerializer.SerializeToElement(node, JsonLimits.Serializer);
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException)
            {
                // A JsonNode tree built deeper than the limit: the writer stops at the limit instead of recursing on.
                error = JsonLimits.DepthError(JsonLimits.MaxDepth);
                return null;
            }
            catch (InvalidStringException ex)
            {
                // A string or member name in it holds an unpaired surrogate, which the node would write as U+FFFD.
                error = $"value cannot be represented as JSON: {ex.Message}";
                return null;
            }
        }

        switch (field.DataType)
        {
            case DataType.Bool:
                if (value is bool b)
                {
                    return b;
                }

                if (value is JsonElement { ValueKind: JsonValueKind.True or JsonValueKind.False } je)
                {
                    return je.GetBoolean();
                }

                break;
            case DataType.Int8:
            case DataType.Int16:
            case DataType.Int32:
            case DataType.Int64:
                if (TryInteger(value, out var l))
                {
                    error = CheckInteger(field, l);
                    return error is null ? l : null;
                }

                break;
            case DataType.Float:
            case DataType.Double:
                if (TryDouble(value, out var d))
                {
                    error = CheckFloatingPoint(field, ref d);
                    return error is null ? d : null;
                }

                break;
            case DataType.VarChar:
                if (value is string s || (value is JsonElement { ValueKind: JsonValueKind.String } js && (s = js.GetString()!) is not null))
                {
                    error = CheckString(field, s);
                    return error is null ? s : null;
                }

                break;
            case DataType.Geometry:
                if (value is string wkt || (value is JsonElement { ValueKind: JsonValueKind.String } jw && (wkt = jw.GetString()!) is not null))
                {
                    return Spatial.Wkt.Normalize(wkt, out error);
                }

                break;
            case DataType.Timestamptz:
                return Timestamptz.TryConvert(value, zone, out var micros, out error) ? micros : null;
            case DataType.Json:
                return ConvertJson(value, out error);
            case DataType.Array:
                return ConvertArray(field, value, out error);
            case DataType.FloatVector or DataType.Float16Vector or DataType.BFloat16Vector or DataType.Int8Vector or DataType.BinaryVector:
                error = "a vector field is not a scalar";
                return null;
            case DataType.SparseFloatVector:
                return SparseValues.Convert(value, out error);
        }

        error = $"expected {field.DataType}, got {Describe(value)}";
        return null;
    }

    /// <summary>Converts and checks a vector: dimension, finite components, and non-zero under cosine.</summary>
    public static float[]? ConvertVector(FieldSchema field, object value, out string? error)
    {
        var v = new float[field.VectorWidth()];
        return CopyVector(field, value, v, out error) ? v : null;
    }

    /// <summary>Checks a vector and copies it into <paramref name="destination"/> (of the field's dimension) without an
    /// intermediate copy for the common float[] / ReadOnlyMemory&lt;float&gt; inputs. False with an error text if invalid.</summary>
    public static bool CopyVector(FieldSchema field, object value, Span<float> destination, out string? error)
    {
        error = null;
        ReadOnlySpan<float> source;
        float[]? converted = null;
        if (field.DataType != DataType.FloatVector && VectorCodec.CopyRaw(field, value, destination, out error) is { } copied)
        {
            return copied;
        }

        switch (value)
        {
            case float[] fa:
                source = fa;
                break;
            case ReadOnlyMemory<float> rm:
                source = rm.Span;
                break;
            case Memory<float> m:
                source = m.Span;
                break;
            default:
                converted = value switch
                {
                    double[] da => Array.ConvertAll(da, x => (float)x),
                    IReadOnlyList<float> fl => [.. fl],
                    JsonElement { ValueKind: JsonValueKind.Array } je => FromJson(je),
                    JsonArray ja => FromJson(JsonSerializer.SerializeToElement(ja)),
                    IEnumerable e and not string => FromEnumerable(e),
                    _ => null,
                };
                if (converted is null)
                {
                    error = $"expected a FloatVector of dimension {field.Dimension}, got {Describe(value)}";
                    return false;
                }

                source = converted;
                break;
        }

        if (field.DataType != DataType.FloatVector)
        {
            error = VectorCodec.FromNumbers(field, source, destination);
            return error is null;
        }

        error = CheckVector(field, source);
        if (error is not null)
        {
            return false;
        }

        source.CopyTo(destination);
        return true;
    }

    /// <summary>Null when <paramref name="value"/> fits the integer field's type, else the rule it breaks.</summary>
    public static string? CheckInteger(FieldSchema field, long value)
    {
        var (min, max) = field.DataType.IntegerRange();
        return value < min || value > max ? $"value {value} is out of range for {field.DataType} ({min}..{max})" : null;
    }

    /// <summary>Null when <paramref name="value"/> fits a Float or Double field (a Float's value is rounded to float32
    /// in place), else the rule it breaks.</summary>
    public static string? CheckFloatingPoint(FieldSchema field, ref double value)
    {
        if (!double.IsFinite(value))
        {
            return $"value {value.ToString(CultureInfo.InvariantCulture)} is not a finite number";
        }

        if (field.DataType == DataType.Float)
        {
            var f = (float)value;
            if (!float.IsFinite(f))
            {
                return $"value {value.ToString(CultureInfo.InvariantCulture)} is out of range for Float";
            }

            value = f;
        }

        return null;
    }

    /// <summary>Null when <paramref name="value"/> fits the VarChar field's max_length, else the rule it breaks.</summary>
    public static string? CheckString(FieldSchema field, string value)
    {
        if (Utf16Text.Problem(value) is { } problem)
        {
            return $"string {problem}";
        }

        var bytes = Encoding.UTF8.GetByteCount(value);
        return bytes > field.MaxLength ? $"string of {bytes} UTF-8 bytes exceeds max_length {field.MaxLength}" : null;
    }

    /// <summary>Null when <paramref name="source"/> is a valid vector of the field (dimension, finite components, not
    /// zero under cosine), else the rule it breaks.</summary>
    public static string? CheckVector(FieldSchema field, ReadOnlySpan<float> source)
    {
        if (field.DataType != DataType.FloatVector)
        {
            return VectorCodec.CheckSlots(field, source);
        }

        if (source.Length != field.Dimension)
        {
            return $"vector has dimension {source.Length}, expected {field.Dimension}";
        }

        var zero = true;
        for (var i = 0; i < source.Length; i++)
        {
            if (!float.IsFinite(source[i]))
            {
                return $"vector component {i} is {source[i].ToString(CultureInfo.InvariantCulture)}; components must be finite";
            }

            zero &= source[i] == 0f;
        }

        return zero && field.Metric == MetricType.Cosine ? "zero vector cannot be compared under COSINE" : null;
    }

    /// <summary>A JSON field's value (or a packed dynamic object): an element, JSON text (string or UTF-8 bytes), or a
    /// CLR value to serialize. Refused past <paramref name="maxDepth"/> levels of nesting (<see cref="JsonLimits"/>).</summary>
    public static JsonElement? ConvertJson(object value, out string? error, int maxDepth = JsonLimits.MaxDepth)
    {
        error = null;
        try
        {
            switch (value)
            {
                case JsonElement je:
                    return Refused(JsonLimits.Problem(je, maxDepth) ?? SizeProblem(je), out error) ? null : je.Clone();
                case string s when Utf16Text.Problem(s) is { } raw:
                    // Its UTF-8 would put U+FFFD in place of the unpaired surrogate.
                    error = $"the JSON text {raw}";
                    return null;
                case string s:
                    // A string is JSON text; Milvus's SDKs send JSON fields that way.
                    return ParseText(Encoding.UTF8.GetBytes(s), maxDepth, out error);
                case byte[] utf8:
                    return ParseText(utf8, maxDepth, out error);
                default:
                    var element = JsonSerializer.SerializeToElement(value, JsonLimits.Serializer);
                    return Refused(JsonLimits.Problem(element, maxDepth) ?? SizeProblem(element), out error) ? null : element;
            }
        }
        catch (JsonException ex) when (value is not (string or byte[]))
        {
            // The serializer stops at JsonLimits.MaxDepth, which is also how it reports a value that contains itself.
            error = $"{JsonLimits.DepthError(maxDepth)}, or it contains itself: {ex.Message}";
            return null;
        }
        catch (JsonException ex)
        {
            error = $"malformed JSON: {ex.Message}";
            return null;
        }
        catch (NotSupportedException ex)
        {
            error = $"value cannot be represented as JSON: {ex.Message}";
            return null;
        }
        catch (InvalidStringException ex)
        {
            error = $"value cannot be represented as JSON: {ex.Message}";
            return null;
        }
    }

    private static JsonElement? ParseText(byte[] utf8, int maxDepth, out string? error)
    {
        return Refused(JsonLimits.Problem(utf8, maxDepth) ?? JsonLimits.SizeProblem(utf8.Length), out error)
            ? null
            : JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = JsonLimits.MaxDepth }).RootElement.Clone();
    }

    /// <summary>The size check of <see cref="JsonLimits.MaxBytes"/> on an element's text as it was read (no copy).</summary>
    private static string? SizeProblem(JsonElement element) =>
        element.ValueKind == JsonValueKind.Undefined ? null : JsonLimits.SizeProblem(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(element).Length);

    private static bool Refused(string? problem, out string? error)
    {
        error = problem;
        return problem is not null;
    }

    private static JsonElement? ConvertArray(FieldSchema field, object value, out string? error)
    {
        error = null;
        JsonElement arr;
        if (value is JsonElement je)
        {
            arr = je;
        }
        else if (value is IEnumerable e and not string)
        {
            var list = new List<object?>();
            foreach (var x in e)
            {
                if ((x is double d && !double.IsFinite(d)) || (x is float f && !float.IsFinite(f)))
                {
                    error = $"array element {list.Count} is {Describe(x)}, not a finite number";
                    return null;
                }

                list.Add(x);
            }

            try
            {
                arr = JsonSerializer.SerializeToElement(list, JsonLimits.Serializer);
            }
            catch (InvalidStringException ex)
            {
                error = $"array element: {ex.Message}";
                return null;
            }
            catch (JsonException)
            {
                // Nested lists as elements: elements must be scalars; the serializer stopped at the depth limit.
                error = $"expected an Array of {field.ElementType} (scalar elements), got nested lists deeper than {JsonLimits.MaxDepth} levels";
                return null;
            }
        }
        else
        {
            error = $"expected an Array of {field.ElementType}, got {Describe(value)}";
            return null;
        }

        if (arr.ValueKind != JsonValueKind.Array)
        {
            error = $"expected an Array of {field.ElementType}, got JSON {arr.ValueKind}";
            return null;
        }

        var n = arr.GetArrayLength();
        if (n > field.MaxCapacity)
        {
            error = $"array has {n} elements, exceeding max_capacity {field.MaxCapacity}";
            return null;
        }

        var elementField = new FieldSchema { Name = field.Name, DataType = field.ElementType!.Value, MaxLength = field.MaxLength };
        var i = 0;
        var normalized = new List<object?>(n);
        foreach (var item in arr.EnumerateArray())
        {
            var converted = ConvertScalar(elementField, item, out var inner);
            if (inner is not null)
            {
                error = $"array element {i}: {inner}";
                return null;
            }

            normalized.Add(converted);
            i++;
        }

        return JsonSerializer.SerializeToElement(normalized);
    }

    private static bool TryInteger(object value, out long result)
    {
        switch (value)
        {
            case long l: result = l; return true;
            case int i: result = i; return true;
            case short s: result = s; return true;
            case sbyte sb: result = sb; return true;
            case byte by: result = by; return true;
            case ushort us: result = us; return true;
            case uint ui: result = ui; return true;
            case ulong ul when ul <= long.MaxValue: result = (long)ul; return true;
            case JsonElement { ValueKind: JsonValueKind.Number } je when je.TryGetInt64(out result): return true;
            default: result = 0; return false;
        }
    }

    private static bool TryDouble(object value, out double result)
    {
        switch (value)
        {
            case double d: result = d; return true;
            case float f: result = f; return true;
            case decimal m: result = (double)m; return true;
            case JsonElement { ValueKind: JsonValueKind.Number } je: result = je.GetDouble(); return true;
            default:
                if (TryInteger(value, out var l))
                {
                    result = l;
                    return true;
                }

                result = 0;
                return false;
        }
    }

    private static float[]? FromJson(JsonElement je)
    {
        var v = new float[je.GetArrayLength()];
        var i = 0;
        foreach (var x in je.EnumerateArray())
        {
            if (x.ValueKind != JsonValueKind.Number)
            {
                return null;
            }

            v[i++] = (float)x.GetDouble();
        }

        return v;
    }

    private static float[]? FromEnumerable(IEnumerable e)
    {
        var list = new List<float>();
        foreach (var x in e)
        {
            if (x is null || !TryDouble(x, out var d))
            {
                return null;
            }

            list.Add((float)d);
        }

        return [.. list];
    }

    public static string Describe(object? value) => value switch
    {
        null => "null",
        JsonElement je => $"JSON {je.ValueKind}",
        string => "a string",
        _ => value.GetType().Name,
    };
}
