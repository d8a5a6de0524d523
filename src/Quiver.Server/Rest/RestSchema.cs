using System.Globalization;
using System.Text.Json.Nodes;
using Google.Protobuf.Reflection;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using Quiver.Server.Milvus;
using WireType = Quiver.Protocol.Schema.DataType;
using WireConsistency = Quiver.Protocol.Common.ConsistencyLevel;
using WireField = Quiver.Protocol.Schema.FieldSchema;
using WireSchema = Quiver.Protocol.Schema.CollectionSchema;

namespace Quiver.Server.Rest;

/// <summary>
/// Schema conversions for the REST API: the <c>collections/create</c> body (quick setup or a full <c>schema</c>) to a
/// <see cref="WireSchema"/>, index parameters to <c>CreateIndex</c> key-value pairs, and a
/// <c>DescribeCollection</c> response to Milvus's REST <c>describe</c> shape. Type names are Milvus's proto enum names,
/// case-sensitive (<c>Int64</c>, <c>VarChar</c>, <c>FloatVector</c>, <c>JSON</c>...).
/// </summary>
internal static class RestSchema
{
    /// <summary>Milvus's default metric for quick setup.</summary>
    public const string DefaultMetricType = "COSINE";

    /// <summary>The wire data type named <paramref name="name"/> (proto enum name, case-sensitive).</summary>
    public static WireType ParseDataType(string name, string path) =>
        DataTypeDescriptor.FindValueByName(name) is { } value
            ? (WireType)value.Number
            : throw new MilvusException(MilvusCode.ParameterInvalid,
                $"invalid parameter, data type {name} at {path} is invalid (case sensitive)");

    /// <summary>The Milvus name of a data type (<c>JSON</c>, <c>BFloat16Vector</c>...).</summary>
    public static string DataTypeName(WireType type) => DataTypeDescriptor.FindValueByNumber((int)type)?.Name ?? type.ToString();

    private static EnumDescriptor DataTypeDescriptor => SchemaReflection.Descriptor.FindTypeByName<EnumDescriptor>("DataType");

    /// <summary>Whether a type is a vector type.</summary>
    public static bool IsVector(WireType type) => (int)type is >= 100 and < 200;

    /// <summary>
    /// The schema a quick-setup create describes: primary key <c>primaryFieldName</c> (default <c>id</c>, Int64 or
    /// VarChar per <c>idType</c>, auto-generated per <c>autoID</c>), float vector <c>vectorFieldName</c> (default
    /// <c>vector</c>) of <c>dimension</c>, dynamic field on unless <c>params.enableDynamicField</c> is false.
    /// </summary>
    public static WireSchema QuickSchema(RestRequest request, string collection, out string vectorField)
    {
        ArgumentNullException.ThrowIfNull(request);
        var dimension = request.OptionalLong("dimension") ?? 0;
        if (dimension <= 0)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid,
                "invalid parameter: dimension is required for quickly create collection (default metric type: COSINE)");
        }
        var parameters = request.OptionalObject("params");
        var idType = request.OptionalString("idType") ?? "";
        var primary = new WireField
        {
            FieldID = 100,
            Name = NonEmpty(request.OptionalString("primaryFieldName"), "id"),
            IsPrimaryKey = true,
            AutoID = request.OptionalBool("autoID") ?? request.OptionalBool("autoId") ?? false,
        };
        switch (idType)
        {
            case "" or "Int64" or "int64":
                primary.DataType = WireType.Int64;
                break;
            case "VarChar" or "Varchar":
                primary.DataType = WireType.VarChar;
                var maxLength = parameters?["max_length"] ?? parameters?["maxLength"]
                    ?? throw RestRequest.Missing("params.max_length", "integer, for a VarChar primary key");
                primary.TypeParams.Add(new KeyValuePair { Key = "max_length", Value = RestRequest.ParamText(maxLength) });
                break;
            default:
                throw new MilvusException(MilvusCode.ParameterInvalid,
                    $"invalid parameter: idType '{idType}' can only be [Int64, VarChar], default: Int64");
        }
        vectorField = NonEmpty(request.OptionalString("vectorFieldName"), "vector");
        var vector = new WireField { FieldID = 101, Name = vectorField, DataType = WireType.FloatVector };
        vector.TypeParams.Add(new KeyValuePair { Key = "dim", Value = dimension.ToString(CultureInfo.InvariantCulture) });
        var dynamic = parameters?["enableDynamicField"] is { } flag ? RestRequest.BoolOf(flag, "$.params.enableDynamicField") : true;
        return new WireSchema { Name = collection, Fields = { primary, vector }, EnableDynamicField = dynamic };
    }

    /// <summary>The schema of a create request's <c>schema</c> object.</summary>
    public static WireSchema FullSchema(JsonObject schema, string collection)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var autoId = Bool(schema, "autoId") ?? Bool(schema, "autoID") ?? false;
        var result = new WireSchema
        {
            Name = collection,
            EnableDynamicField = Bool(schema, "enableDynamicField") ?? Bool(schema, "enabledDynamicField") ?? false,
        };
        var fields = schema["fields"] as JsonArray ?? throw RestRequest.Missing("schema.fields", "array");
        for (var i = 0; i < fields.Count; i++)
        {
            var path = $"$.schema.fields[{i}]";
            var field = RestRequest.ObjectOf(fields[i], path) ?? throw RestRequest.Format(path, "must be an object, got null");
            var name = RestRequest.StringOf(field["fieldName"], path + ".fieldName")
                ?? throw RestRequest.Missing($"schema.fields[{i}].fieldName", "string");
            var typeName = RestRequest.StringOf(field["dataType"], path + ".dataType")
                ?? throw RestRequest.Missing($"schema.fields[{i}].dataType", "string");
            var wire = new WireField
            {
                FieldID = 100 + i,
                Name = name,
                DataType = ParseDataType(typeName, path + ".dataType"),
                IsPrimaryKey = Bool(field, "isPrimary") ?? false,
                IsPartitionKey = Bool(field, "isPartitionKey") ?? false,
                IsClusteringKey = Bool(field, "isClusteringKey") ?? false,
                Nullable = Bool(field, "nullable") ?? false,
                Description = RestRequest.StringOf(field["description"], path + ".description") ?? "",
            };
            wire.AutoID = wire.IsPrimaryKey && autoId;
            if (wire.DataType == WireType.Array)
            {
                var element = RestRequest.StringOf(field["elementDataType"], path + ".elementDataType")
                    ?? throw RestRequest.Missing($"schema.fields[{i}].elementDataType", "string, for an Array field");
                wire.ElementType = ParseDataType(element, path + ".elementDataType");
            }
            if (RestRequest.ObjectOf(field["elementTypeParams"], path + ".elementTypeParams") is { } typeParams)
            {
                foreach (var (key, value) in typeParams)
                {
                    wire.TypeParams.Add(new KeyValuePair { Key = key, Value = RestRequest.ParamText(value) });
                }
            }
            if (field["defaultValue"] is { } defaultValue)
            {
                wire.DefaultValue = DefaultValue(defaultValue, wire.DataType, path + ".defaultValue");
            }
            result.Fields.Add(wire);
        }
        RestFunctions.AddTo(result, schema);
        return result;
    }

    private static ValueField DefaultValue(JsonNode value, WireType type, string path) => type switch
    {
        WireType.Bool => new ValueField { BoolData = RestRequest.BoolOf(value, path) },
        WireType.Int8 or WireType.Int16 or WireType.Int32 => new ValueField
        {
            IntData = RestRequest.LongOf(value, path) is >= int.MinValue and <= int.MaxValue and var n
                ? (int)n
                : throw RestRequest.Format(path, $"must be an integer of the field's type, got {value.ToJsonString()}"),
        },
        WireType.Int64 => new ValueField { LongData = RestRequest.LongOf(value, path) },
        WireType.Float => new ValueField { FloatData = (float)RestRequest.DoubleOf(value, path) },
        WireType.Double => new ValueField { DoubleData = RestRequest.DoubleOf(value, path) },
        WireType.VarChar or WireType.String or WireType.Geometry => new ValueField { StringData = RestRequest.StringOf(value, path) ?? "" },
        WireType.Timestamptz when value is JsonValue v && v.TryGetValue<string>(out var text) => new ValueField { StringData = text },
        WireType.Timestamptz => new ValueField { TimestamptzData = RestRequest.LongOf(value, path) },
        _ => throw new MilvusException(MilvusCode.ParameterInvalid, $"invalid parameter: {path}: {type} fields take no default value"),
    };

    /// <summary>The <c>CreateIndex</c> parameters of one <c>indexParams</c> entry, as Milvus forms them: index_type
    /// (from <c>indexType</c> or <c>params.index_type</c>; none means AUTOINDEX), metric_type, and the remaining
    /// <c>params</c> as one JSON <c>params</c> pair.</summary>
    public static CreateIndexRequest IndexRequest(JsonObject index, string path, string database, string collection)
    {
        ArgumentNullException.ThrowIfNull(index);
        var field = RestRequest.StringOf(index["fieldName"], path + ".fieldName") ?? throw RestRequest.Missing(path[2..] + ".fieldName", "string");
        var request = new CreateIndexRequest
        {
            DbName = database,
            CollectionName = collection,
            FieldName = field,
            IndexName = RestRequest.StringOf(index["indexName"], path + ".indexName") ?? "",
        };
        var parameters = RestRequest.ObjectOf(index["params"], path + ".params");
        var indexType = RestRequest.StringOf(index["indexType"], path + ".indexType");
        if (string.IsNullOrEmpty(indexType) && parameters?["index_type"] is { } typeNode)
        {
            indexType = RestRequest.ParamText(typeNode);
        }
        if (!string.IsNullOrEmpty(indexType))
        {
            request.ExtraParams.Add(new KeyValuePair { Key = "index_type", Value = indexType });
        }
        var metric = RestRequest.StringOf(index["metricType"], path + ".metricType");
        if (!string.IsNullOrEmpty(metric))
        {
            request.ExtraParams.Add(new KeyValuePair { Key = "metric_type", Value = metric });
        }
        if (parameters is { Count: > 0 })
        {
            var rest = new JsonObject();
            foreach (var (key, value) in parameters)
            {
                if (key != "index_type")
                {
                    rest[key] = value?.DeepClone();
                }
            }
            if (rest.Count > 0)
            {
                request.ExtraParams.Add(new KeyValuePair { Key = "params", Value = rest.ToJsonString() });
            }
        }
        return request;
    }

    /// <summary>Milvus's REST description of one field.</summary>
    public static JsonObject FieldJson(WireField field)
    {
        ArgumentNullException.ThrowIfNull(field);
        var json = new JsonObject
        {
            ["name"] = field.Name,
            ["id"] = field.FieldID,
            ["type"] = DataTypeName(field.DataType),
            ["primaryKey"] = field.IsPrimaryKey,
            ["partitionKey"] = field.IsPartitionKey,
            ["clusteringKey"] = field.IsClusteringKey,
            ["autoId"] = field.AutoID,
            ["description"] = field.Description,
            ["nullable"] = field.Nullable,
            ["params"] = Pairs(field.TypeParams),
        };
        if (field.DataType == WireType.Array)
        {
            json["elementType"] = DataTypeName(field.ElementType);
        }
        if (field.DefaultValue is { } value)
        {
            json["defaultValue"] = value.DataCase switch
            {
                ValueField.DataOneofCase.BoolData => value.BoolData,
                ValueField.DataOneofCase.IntData => value.IntData,
                ValueField.DataOneofCase.LongData => value.LongData,
                ValueField.DataOneofCase.FloatData => value.FloatData,
                ValueField.DataOneofCase.DoubleData => value.DoubleData,
                ValueField.DataOneofCase.StringData => value.StringData,
                _ => null,
            };
        }
        if (field.IsFunctionOutput)
        {
            json["isFunctionOutput"] = true;
        }
        return json;
    }

    /// <summary>Key-value pairs as Milvus's REST API prints them: <c>[{"key":..,"value":..}]</c>.</summary>
    public static JsonArray Pairs(IEnumerable<KeyValuePair> pairs) =>
        new(pairs.Select(p => (JsonNode?)new JsonObject { ["key"] = p.Key, ["value"] = p.Value }).ToArray());

    /// <summary>An object's members as key-value pairs (strings as is, other values as JSON text).</summary>
    public static IEnumerable<KeyValuePair> ToPairs(JsonObject? properties) =>
        properties is null ? [] : properties.Select(p => new KeyValuePair { Key = p.Key, Value = RestRequest.ParamText(p.Value) });

    /// <summary>The name of a <c>common</c> enum value, e.g. <c>LoadStateLoaded</c> or <c>Bounded</c>.</summary>
    public static string EnumName<T>(T value) where T : struct, Enum =>
        typeof(T).GetField(value.ToString())?.GetCustomAttributes(typeof(OriginalNameAttribute), false)
            .OfType<OriginalNameAttribute>().FirstOrDefault()?.Name ?? value.ToString();

    /// <summary>The consistency level named <paramref name="name"/>, case-sensitive.</summary>
    public static WireConsistency ParseConsistency(string name, string path) =>
        Enum.GetValues<WireConsistency>().FirstOrDefault(l => EnumName(l) == name) is var level && EnumName(level) == name
            ? level
            : throw new MilvusException(MilvusCode.ParameterInvalid,
                $"invalid parameter: {path} '{name}' can only be [Strong, Session, Bounded, Eventually, Customized], default: Bounded");

    private static bool? Bool(JsonObject o, string name) => o[name] is { } node ? RestRequest.BoolOf(node, "$." + name) : null;

    private static string NonEmpty(string? value, string fallback) => string.IsNullOrEmpty(value) ? fallback : value;
}
