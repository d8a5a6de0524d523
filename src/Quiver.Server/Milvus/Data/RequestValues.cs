using System.Buffers.Binary;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Quiver.Protocol.Common;
using Quiver.Protocol.Schema;

namespace Quiver.Server.Milvus.Data;

/// <summary>Reads the request values that are not field data: filter template values, query key-value parameters and
/// the serialized <c>common.PlaceholderGroup</c> of a search.</summary>
internal static class RequestValues
{
    /// <summary><c>expr_template_values</c> as the engine's filter parameters: bool, long, double, string, or a list of
    /// those (nested for arrays of arrays, JSON text for json arrays). Null when there are none.</summary>
    public static Dictionary<string, object?>? Templates(MapField<string, TemplateValue> values)
    {
        if (values.Count == 0)
        {
            return null;
        }

        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, value) in values)
        {
            result[name] = value.ValCase switch
            {
                TemplateValue.ValOneofCase.BoolVal => value.BoolVal,
                TemplateValue.ValOneofCase.Int64Val => value.Int64Val,
                TemplateValue.ValOneofCase.FloatVal => value.FloatVal,
                TemplateValue.ValOneofCase.StringVal => value.StringVal,
                TemplateValue.ValOneofCase.ArrayVal => Array(value.ArrayVal, name),
                _ => throw new MilvusException(MilvusCode.ParameterInvalid,
                    $"expr_template_values: template '{name}' has a {value.ValCase} value, which Quiver does not support"),
            };
        }

        return result;
    }

    /// <summary>Recursive over array_data, which protobuf's own recursion limit (100 message levels) bounds; the
    /// binder then refuses lists nested past FilterLimits.MaxTemplateValueDepth. A json_data item that is malformed, or
    /// nested past System.Text.Json's default depth (64), is the client's mistake, named by <see cref="Json"/>.</summary>
    private static List<object?> Array(TemplateArrayValue array, string name) => array.DataCase switch
    {
        TemplateArrayValue.DataOneofCase.BoolData => [.. array.BoolData.Data.Select(v => (object?)v)],
        TemplateArrayValue.DataOneofCase.LongData => [.. array.LongData.Data.Select(v => (object?)v)],
        TemplateArrayValue.DataOneofCase.DoubleData => [.. array.DoubleData.Data.Select(v => (object?)v)],
        TemplateArrayValue.DataOneofCase.StringData => [.. array.StringData.Data.Select(v => (object?)v)],
        TemplateArrayValue.DataOneofCase.ArrayData => [.. array.ArrayData.Data.Select(v => (object?)Array(v, name))],
        TemplateArrayValue.DataOneofCase.JsonData => [.. array.JsonData.Data.Select(v => (object?)Json(v, name))],
        _ => [],
    };

    private static System.Text.Json.JsonElement Json(ByteString value, string name)
    {
        try
        {
            using var document = JsonLimits.ParseText(value.Memory);
            return document.RootElement.Clone();
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, $"expr_template_values: template '{name}' holds a JSON value that is not valid JSON: {e.Message}");
        }
    }

    /// <summary>A serialized <c>common.PlaceholderGroup</c> (SearchRequest.placeholder_group), parsed once per search;
    /// ParameterInvalid when it is not one.</summary>
    public static Quiver.Protocol.Common.PlaceholderGroup ParseGroup(ByteString group)
    {
        try
        {
            return Quiver.Protocol.Common.PlaceholderGroup.Parser.ParseFrom(group);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, $"placeholder_group is not a valid PlaceholderGroup: {e.Message}");
        }
    }

    /// <summary>The query vectors of a placeholder group for <paramref name="field"/>: FloatVector placeholders whose
    /// values are little-endian float32 of the field's dimension for a FLOAT field, else placeholders of the field's own
    /// type whose values are its wire bytes (<see cref="Wire.WireVectors.ReadQueries"/>). Throws ParameterInvalid naming
    /// the vector whose dimension is wrong, or a placeholder type that does not fit the field.</summary>
    public static List<float[]> Placeholders(Quiver.Protocol.Common.PlaceholderGroup parsed, FieldSchema field)
    {
        var dimension = field.Dimension!.Value;
        var vectors = new List<float[]>();
        foreach (var placeholder in parsed.Placeholders)
        {
            if (field.DataType != Quiver.DataType.FloatVector)
            {
                TypedPlaceholder(placeholder, field, vectors);
                continue;
            }

            if (placeholder.Type != PlaceholderType.FloatVector)
            {
                throw NotFloat(placeholder.Type);
            }

            foreach (var raw in placeholder.Values)
            {
                CheckDimension(raw.Length, vectors.Count, dimension);

                var v = new float[dimension];
                for (var d = 0; d < dimension; d++)
                {
                    v[d] = BinaryPrimitives.ReadSingleLittleEndian(raw.Span[(d * sizeof(float))..]);
                }

                vectors.Add(v);
            }
        }

        return vectors;
    }

    private static void TypedPlaceholder(Quiver.Protocol.Common.PlaceholderValue placeholder, FieldSchema field, List<float[]> vectors)
    {
        if ((int)placeholder.Type != (int)field.DataType)
        {
            throw NotOfField(field, placeholder.Type);
        }

        if (Wire.WireVectors.ReadQueries(field, placeholder.Values, vectors) is { } error)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, error);
        }
    }


    // The refusals of query placeholders that do not fit the searched field, in one place: a gRPC placeholder group and a
    // REST body read for its field are checked in the same words.

    /// <summary>A FLOAT field searched with placeholders of another type.</summary>
    internal static MilvusException NotFloat(PlaceholderType type) =>
        new(MilvusCode.ParameterInvalid, $"placeholder type {type} is not supported: Quiver searches FloatVector fields");

    /// <summary>A FLOAT16, BFLOAT16, INT8 or BINARY field searched with placeholders of another type.</summary>
    internal static MilvusException NotOfField(FieldSchema field, PlaceholderType type) =>
        new(MilvusCode.ParameterInvalid, $"placeholder type {type} does not match field '{field.Name}' of type {field.DataType}");

    /// <summary>A sparse field searched with placeholders of another type.</summary>
    internal static MilvusException NotSparse(FieldSchema field, PlaceholderType type) =>
        new(MilvusCode.ParameterInvalid,
            $"placeholder type {type} does not fit field '{field.Name}', a SparseFloatVector field: send sparse query vectors");

    /// <summary>A BM25 function's output field searched with placeholders other than texts.</summary>
    internal static MilvusException NotText(FieldSchema field, IEnumerable<PlaceholderType> types) =>
        new(MilvusCode.ParameterInvalid,
            $"field '{field.Name}' is the output of a BM25 function and is searched with text: send the queries as strings " +
            $"(got {string.Join(", ", types.Distinct())} placeholders)");

    /// <summary>Sparse query <paramref name="index"/> from its row bytes, checked.</summary>
    internal static SparseVector SparseQuery(ReadOnlySpan<byte> row, int index) =>
        Wire.SparseVectors.Parse(row, out var error) ?? throw new MilvusException(MilvusCode.ParameterInvalid,
            $"sparse query vector {index}: {error}");

    /// <summary>Refuses FLOAT query <paramref name="index"/> unless its <paramref name="bytes"/> (as float32) are
    /// <paramref name="dimension"/> components, the field's.</summary>
    internal static void CheckDimension(int bytes, int index, int dimension)
    {
        if (bytes != dimension * sizeof(float))
        {
            throw new MilvusException(MilvusCode.ParameterInvalid,
                $"the dimension of query vector {index} ({bytes / sizeof(float)}) is not equal to the field's dimension ({dimension})");
        }
    }

    /// <summary>Milvus's per-read <c>timezone</c> (in query_params or search_params), checked: null when absent, 1100
    /// with Milvus's message when it names no IANA zone.</summary>
    public static string? Timezone(RepeatedField<Quiver.Protocol.Common.KeyValuePair> pairs)
    {
        foreach (var pair in pairs)
        {
            if (pair.Key == Quiver.Timestamptz.TimezoneProperty)
            {
                return Timezone(pair.Value);
            }
        }

        return null;
    }

    /// <summary>A read's own <c>timezone</c> as a transport read it (null: none), checked as <see cref="Timezone(RepeatedField{Quiver.Protocol.Common.KeyValuePair})"/> checks it.</summary>
    public static string? Timezone(string? zone)
    {
        if (zone is not null)
        {
            _ = Quiver.Timestamptz.RequireZone(zone);
        }

        return zone;
    }

    /// <summary>A query's <c>query_params</c>: <c>limit</c> and <c>offset</c>. Throws ParameterInvalid naming a value
    /// that is not a non-negative integer.</summary>
    public static (int? Limit, int Offset) QueryWindow(RepeatedField<Quiver.Protocol.Common.KeyValuePair> pairs)
    {
        int? limit = null;
        var offset = 0;
        foreach (var pair in pairs)
        {
            if (pair.Key is not ("limit" or "offset"))
            {
                continue;
            }

            var v = long.TryParse(pair.Value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var parsed)
                ? WindowValue(pair.Key, parsed, pair.Value)
                : throw NotAWindowValue(pair.Key, pair.Value);
            if (pair.Key == "limit")
            {
                limit = v;
            }
            else
            {
                offset = v;
            }
        }

        return (limit, offset);
    }

    /// <summary>A query's <c>limit</c> or <c>offset</c> (<paramref name="key"/>) of <paramref name="value"/>, sent as
    /// <paramref name="text"/>: refused with ParameterInvalid unless it is in [0, 2^31 - 1], in the words of
    /// <see cref="QueryWindow"/> whichever transport sent it.</summary>
    public static int WindowValue(string key, long value, string text) =>
        value is >= 0 and <= int.MaxValue ? (int)value : throw NotAWindowValue(key, text);

    private static MilvusException NotAWindowValue(string key, string text) =>
        new(MilvusCode.ParameterInvalid, $"query_params: {key} must be a non-negative integer, got '{text}'");
}
