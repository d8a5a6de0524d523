using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Quiver.Server.Milvus;
using WireType = Quiver.Protocol.Schema.DataType;
using WireField = Quiver.Protocol.Schema.FieldSchema;

namespace Quiver.Server.Rest;

/// <summary>
/// Search vectors of a REST v2 search body (<c>data</c>) in the form Milvus's REST API takes them: float vectors as
/// number arrays, float16/bfloat16/binary also as base64 strings, int8 vectors as byte arrays, sparse vectors as
/// <c>{"index": value}</c> or <c>{"indices": [...], "values": [...]}</c> objects, texts for a function-output field;
/// encoded as a <c>common.PlaceholderGroup</c>. (Rows of inserts and results are converted by Quiver.Wire's
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

    private static IEnumerable<float> FloatsOf(JsonNode value, long dim, string path)
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
        var floats = FloatsOf(value, dim, path).ToArray();
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
            OneForm(data, path);
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

    /// <summary>
    /// The common case of <see cref="ToPlaceholderGroup"/> read straight from the parsed body, without building a node
    /// per number: <paramref name="data"/> an array of arrays of JSON numbers, all of one non-zero length, each number
    /// finite as a double. Returns the group (the same bytes <see cref="ToPlaceholderGroup"/> writes for a FloatVector
    /// field) and that length, or null for anything else, which the caller reads the general way (that way also names
    /// the problem of a bad vector).
    /// </summary>
    public static (ByteString Group, int Dimension)? TryFloatPlaceholderGroup(JsonElement data)
    {
        if (data.ValueKind != JsonValueKind.Array || data.GetArrayLength() == 0
            || data[0] is not { ValueKind: JsonValueKind.Array } first || first.GetArrayLength() == 0)
        {
            return null;
        }
        var dim = first.GetArrayLength();
        var floats = new float[data.GetArrayLength() * dim];
        var at = 0;
        foreach (var query in data.EnumerateArray())
        {
            if (query.ValueKind != JsonValueKind.Array || query.GetArrayLength() != dim)
            {
                return null;
            }
            foreach (var number in query.EnumerateArray())
            {
                // As the general way reads a number: a double, narrowed to float.
                if (number.ValueKind != JsonValueKind.Number || !number.TryGetDouble(out var value) || !double.IsFinite(value))
                {
                    return null;
                }
                floats[at++] = (float)value;
            }
        }
        return (Clients.MilvusRequests.FloatPlaceholderGroup(floats, dim), dim);
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
