using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Quiver.Server.Milvus;
using WireField = Quiver.Protocol.Schema.FieldSchema;

namespace Quiver.Server.Rest;

/// <summary>
/// Search vectors of a REST v2 search body (<c>data</c>) in the form Milvus's REST API takes them: float vectors as
/// number arrays, float16/bfloat16/binary also as base64 strings, int8 vectors as byte arrays, sparse vectors as
/// <c>{"index": value}</c> or <c>{"indices": [...], "values": [...]}</c> objects, texts for a function-output field;
/// read into the engine's query forms (<see cref="RestQueries"/>), with no Milvus message between. (Rows of inserts and results are converted by Quiver.Wire's
/// <see cref="Wire.RestJsonReader"/> and <see cref="Wire.RestJsonWriter"/>.)
/// </summary>
internal static class RestVectors
{
    /// <summary>The dimension in a vector field's type parameters.</summary>
    public static long Dim(WireField field)
    {
        var text = field.TypeParams.FirstOrDefault(p => p.Key == "dim")?.Value;
        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var dim) ? dim : 0;
    }

    private static float[] FloatsOf(JsonNode value, long dim, string path)
    {
        if (value is not JsonArray items)
        {
            throw Invalid($"{path} must be an array of {(dim > 0 ? $"{dim} " : "")}numbers, got {RestRequest.KindOf(value)}");
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
        var floats = FloatsOf(value, dim, path);
        var bytes = new byte[floats.Length * 2];
        for (var i = 0; i < floats.Length; i++)
        {
            var bits = bfloat
                ? (ushort)(BitConverter.SingleToUInt32Bits(float.IsFinite(floats[i]) ? VectorCodec.RoundToBFloat16(floats[i]) : floats[i]) >> 16)
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
    public static (byte[] Bytes, long Dim) SparseOf(JsonNode value, string path)
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
        return (bytes, pairs.Count == 0 ? 0 : pairs.Keys.Max() + 1L);

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
    /// Reads search vectors (the body's <c>data</c>) in the form a vector field of <paramref name="type"/> and
    /// <paramref name="dim"/> takes (0: any length, before the schema is known): float32 vectors as numbers, float16,
    /// bfloat16, binary, int8 or sparse vectors as their wire bytes, or texts (<paramref name="textInput"/>) for a
    /// function-output field. Throws <see cref="MilvusException"/> with code 1801 naming the bad vector.
    /// </summary>
    public static RestQueries Read(JsonArray data, Quiver.DataType type, long dim, bool textInput, string path)
    {
        ArgumentNullException.ThrowIfNull(data);
        try
        {
            OneForm(data, path);
            if (textInput)
            {
                var texts = new List<string>(data.Count);
                for (var i = 0; i < data.Count; i++)
                {
                    texts.Add(AsUtf8Carries(RestRequest.StringOf(data[i], $"{path}[{i}]") ?? throw Invalid($"{path}[{i}] is null")));
                }
                return new RestQueries(Protocol.Common.PlaceholderType.VarChar, Texts: texts);
            }
            if (type == Quiver.DataType.FloatVector)
            {
                var floats = new List<float[]>(data.Count);
                for (var i = 0; i < data.Count; i++)
                {
                    floats.Add(FloatsOf(data[i] ?? throw Invalid($"{path}[{i}] is null"), dim, $"{path}[{i}]"));
                }
                return new RestQueries(Protocol.Common.PlaceholderType.FloatVector, Floats: floats);
            }
            var rows = new List<byte[]>(data.Count);
            for (var i = 0; i < data.Count; i++)
            {
                var item = data[i] ?? throw Invalid($"{path}[{i}] is null");
                var itemPath = $"{path}[{i}]";
                rows.Add(type switch
                {
                    Quiver.DataType.Float16Vector => HalfBytes(item, dim, bfloat: false, itemPath),
                    Quiver.DataType.BFloat16Vector => HalfBytes(item, dim, bfloat: true, itemPath),
                    Quiver.DataType.BinaryVector => BytesOf(item, dim / 8, signed: false, itemPath),
                    Quiver.DataType.Int8Vector => BytesOf(item, dim, signed: true, itemPath),
                    Quiver.DataType.SparseFloatVector => SparseOf(item, itemPath).Bytes,
                    _ => throw new InvalidOperationException($"{type} is not a vector type"),
                });
            }
            // PlaceholderType numbers equal DataType's for vectors.
            return new RestQueries((Protocol.Common.PlaceholderType)(int)type, Rows: rows);
        }
        catch (MilvusException e) when (e.Code == MilvusCode.InvalidInsertData)
        {
            throw new MilvusException(MilvusCode.IncorrectParameterFormat,
                e.Message.Replace("fail to deal with insert data", "invalid search vectors", StringComparison.Ordinal));
        }
    }

    /// <summary>
    /// Search vectors as a <c>common.PlaceholderGroup</c> with one placeholder tagged <c>$0</c> (<see cref="Read"/>'s
    /// queries in the wire form), for a caller that sends them on as a gRPC search (a cluster node asking its shards).
    /// </summary>
    public static ByteString ToPlaceholderGroup(JsonArray data, WireField field, bool textInput, string path)
    {
        ArgumentNullException.ThrowIfNull(field);
        var queries = Read(data, (Quiver.DataType)(int)field.DataType, Dim(field), textInput, path);
        var placeholder = new Quiver.Protocol.Common.PlaceholderValue { Tag = "$0", Type = queries.Type };
        foreach (var bytes in queries.Texts?.Select(System.Text.Encoding.UTF8.GetBytes) ?? queries.Floats?.Select(FloatBytes) ?? queries.Rows!)
        {
            placeholder.Values.Add(UnsafeByteOperations.UnsafeWrap(bytes));
        }
        return new Quiver.Protocol.Common.PlaceholderGroup { Placeholders = { placeholder } }.ToByteString();
    }

    /// <summary>A text as it reads back from its UTF-8 bytes (what a placeholder carries): a lone surrogate becomes
    /// U+FFFD, as it would have on the wire.</summary>
    private static string AsUtf8Carries(string text) => text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') < 0
        ? text
        : System.Text.Encoding.UTF8.GetString(System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>
    /// The common case of <see cref="Read"/> read straight from the parsed body, without building a node per number:
    /// <paramref name="data"/> an array of arrays of JSON numbers, all of one non-zero length, each number finite as a
    /// double. Returns the vectors (the floats <see cref="Read"/> gives for a FloatVector field) and that length, or null
    /// for anything else, which the caller reads the general way (that way also names the problem of a bad vector).
    /// </summary>
    public static (List<float[]> Vectors, int Dimension)? TryFloats(JsonElement data)
    {
        if (data.ValueKind != JsonValueKind.Array || data.GetArrayLength() == 0
            || data[0] is not { ValueKind: JsonValueKind.Array } first || first.GetArrayLength() == 0)
        {
            return null;
        }
        var dim = first.GetArrayLength();
        var vectors = new List<float[]>(data.GetArrayLength());
        foreach (var query in data.EnumerateArray())
        {
            if (query.ValueKind != JsonValueKind.Array || query.GetArrayLength() != dim)
            {
                return null;
            }
            var vector = new float[dim];
            var at = 0;
            foreach (var number in query.EnumerateArray())
            {
                // As the general way reads a number: a double, narrowed to float.
                if (number.ValueKind != JsonValueKind.Number || !number.TryGetDouble(out var value) || !double.IsFinite(value))
                {
                    return null;
                }
                vector[at++] = (float)value;
            }
            vectors.Add(vector);
        }
        return (vectors, dim);
    }

    /// <summary>Refuses a <c>data</c> that mixes strings (base64 vectors or texts) with arrays or objects: Milvus's REST
    /// reads the form of every query from the first, so a mix is a client mistake, named here rather than as the
    /// first misread item.</summary>
    private static void OneForm(JsonArray data, string path)
    {
        if (data.Count < 2 || data[0] is not { } first)
        {
            return;
        }
        var strings = first.GetValueKind() == JsonValueKind.String;
        for (var i = 1; i < data.Count; i++)
        {
            if (data[i] is { } item && (item.GetValueKind() == JsonValueKind.String) != strings)
            {
                throw Invalid($"{path}[{i}] is {A(RestRequest.KindOf(item))} but {path}[0] is {A(RestRequest.KindOf(first))}: "
                    + "the query vectors of one request take one form (all number arrays, or all base64 strings)");
            }
        }
    }

    private static string A(string kind) => ("aeiou".Contains(kind[0], StringComparison.Ordinal) ? "an " : "a ") + kind;

    private static byte[] FloatBytes(float[] array)
    {
        var bytes = new byte[array.Length * 4];
        for (var i = 0; i < array.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), array[i]);
        }
        return bytes;
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

/// <summary>The queries of a REST search body as one placeholder of <paramref name="Type"/> would carry them, in the
/// engine's forms: <paramref name="Floats"/> for FloatVector, <paramref name="Rows"/> (each in its type's wire form) for
/// the other vector types, <paramref name="Texts"/> for VarChar.</summary>
internal sealed record RestQueries(Quiver.Protocol.Common.PlaceholderType Type, List<float[]>? Floats = null, List<byte[]>? Rows = null,
    List<string>? Texts = null)
{
    /// <summary>The dimension the security gate counts, as it counts a placeholder group's: the first float vector's
    /// length (0 for sparse vectors and texts).</summary>
    public int Dimension => Floats is [var first, ..] ? first.Length : 0;

    /// <summary>The number of queries.</summary>
    public int Count => Floats?.Count ?? Rows?.Count ?? Texts!.Count;
}
