using Google.Protobuf;
using Google.Protobuf.Collections;
using Quiver.Protocol.Schema;

namespace Quiver.Server.Milvus.Data;

/// <summary>Reads the request values that are not field data: filter template values, query key-value parameters and
/// the serialized <c>common.PlaceholderGroup</c> of a search.</summary>
internal static class RequestValues
{
    /// <summary>PlaceholderType.FloatVector.</summary>
    private const int PlaceholderFloatVector = 101;

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
                TemplateValue.ValOneofCase.ArrayVal => Array(value.ArrayVal),
                _ => throw new MilvusException(MilvusCode.ParameterInvalid,
                    $"expr_template_values: template '{name}' has a {value.ValCase} value, which Quiver does not support"),
            };
        }

        return result;
    }

    private static List<object?> Array(TemplateArrayValue array) => array.DataCase switch
    {
        TemplateArrayValue.DataOneofCase.BoolData => [.. array.BoolData.Data.Select(v => (object?)v)],
        TemplateArrayValue.DataOneofCase.LongData => [.. array.LongData.Data.Select(v => (object?)v)],
        TemplateArrayValue.DataOneofCase.DoubleData => [.. array.DoubleData.Data.Select(v => (object?)v)],
        TemplateArrayValue.DataOneofCase.StringData => [.. array.StringData.Data.Select(v => (object?)v)],
        TemplateArrayValue.DataOneofCase.ArrayData => [.. array.ArrayData.Data.Select(v => (object?)Array(v))],
        TemplateArrayValue.DataOneofCase.JsonData => [.. array.JsonData.Data.Select(v => (object?)System.Text.Json.JsonDocument.Parse(v.Memory).RootElement.Clone())],
        _ => [],
    };

    /// <summary>The query vectors of a serialized <c>common.PlaceholderGroup</c> (field 1: repeated PlaceholderValue
    /// {1: tag, 2: type, 3: repeated bytes values}). Each FloatVector value is little-endian float32 of the field's
    /// dimension. Read by hand because Quiver's generated protocol has no PlaceholderGroup message (no RPC names it).</summary>
    public static List<float[]> Placeholders(ByteString group, int dimension)
    {
        var vectors = new List<float[]>();
        var input = new CodedInputStream(group.ToByteArray());
        try
        {
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                if (WireFormat.GetTagFieldNumber(tag) != 1 || WireFormat.GetTagWireType(tag) != WireFormat.WireType.LengthDelimited)
                {
                    input.SkipLastField();
                    continue;
                }

                ReadValue(input.ReadBytes(), dimension, vectors);
            }
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, $"placeholder_group is not a valid PlaceholderGroup: {e.Message}");
        }

        return vectors;
    }

    private static void ReadValue(ByteString value, int dimension, List<float[]> vectors)
    {
        var input = new CodedInputStream(value.ToByteArray());
        var type = 0;
        var raw = new List<ByteString>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 2:
                    type = input.ReadEnum();
                    break;
                case 3:
                    raw.Add(input.ReadBytes());
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        if (type != PlaceholderFloatVector)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid,
                $"placeholder type {type} is not supported: Quiver searches FloatVector fields (placeholder type {PlaceholderFloatVector})");
        }

        for (var i = 0; i < raw.Count; i++)
        {
            var bytes = raw[i].Span;
            if (bytes.Length != dimension * sizeof(float))
            {
                throw new MilvusException(MilvusCode.ParameterInvalid,
                    $"the dimension of query vector {vectors.Count} ({bytes.Length / sizeof(float)}) is not equal to the field's dimension ({dimension})");
            }

            var v = new float[dimension];
            for (var j = 0; j < dimension; j++)
            {
                v[j] = BitConverter.ToSingle(bytes.Slice(j * sizeof(float), sizeof(float)));
            }

            vectors.Add(v);
        }
    }

    /// <summary>Writes a <c>common.PlaceholderGroup</c> of FloatVector queries (tag <c>$0</c>), as the SDKs do. For
    /// tests and the C# client.</summary>
    public static ByteString PlaceholderGroup(IEnumerable<float[]> vectors)
    {
        using var valueStream = new MemoryStream();
        var value = new CodedOutputStream(valueStream);
        value.WriteTag(1, WireFormat.WireType.LengthDelimited);
        value.WriteString("$0");
        value.WriteTag(2, WireFormat.WireType.Varint);
        value.WriteEnum(PlaceholderFloatVector);
        foreach (var v in vectors)
        {
            var bytes = new byte[v.Length * sizeof(float)];
            for (var j = 0; j < v.Length; j++)
            {
                BitConverter.TryWriteBytes(bytes.AsSpan(j * sizeof(float)), v[j]);
            }

            value.WriteTag(3, WireFormat.WireType.LengthDelimited);
            value.WriteBytes(ByteString.CopyFrom(bytes));
        }

        value.Flush();
        using var groupStream = new MemoryStream();
        var group = new CodedOutputStream(groupStream);
        group.WriteTag(1, WireFormat.WireType.LengthDelimited);
        group.WriteBytes(ByteString.CopyFrom(valueStream.ToArray()));
        group.Flush();
        return ByteString.CopyFrom(groupStream.ToArray());
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

            if (!long.TryParse(pair.Value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var v)
                || v < 0 || v > int.MaxValue)
            {
                throw new MilvusException(MilvusCode.ParameterInvalid, $"query_params: {pair.Key} must be a non-negative integer, got '{pair.Value}'");
            }

            if (pair.Key == "limit")
            {
                limit = (int)v;
            }
            else
            {
                offset = (int)v;
            }
        }

        return (limit, offset);
    }
}
