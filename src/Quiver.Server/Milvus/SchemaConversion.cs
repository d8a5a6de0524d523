using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using Proto = Quiver.Protocol.Schema;

namespace Quiver.Server.Milvus;

/// <summary>Converts Milvus's <c>schema.CollectionSchema</c> to the engine's schema and back. Field ids are not stored:
/// the engine keeps fields in declaration order, and Milvus numbers user fields from 100, so field i is 100 + i (the
/// dynamic field <c>$meta</c> last). Vector fields are created with <see cref="FieldSchema.MetricFromIndex"/>, since a
/// Milvus schema carries no metric: the field's first index sets it.</summary>
internal static class SchemaConversion
{
    /// <summary>Milvus's id of the first user field.</summary>
    public const long FirstFieldId = Wire.FieldDataWriter.FirstFieldId;

    /// <summary>The engine schema of a serialized <c>schema.CollectionSchema</c>; throws <see cref="MilvusException"/>
    /// (ParameterInvalid) naming the field for what the engine cannot hold. TIMESTAMPTZ defaults without an offset are
    /// read in <paramref name="zone"/> (the new collection's time zone; null for UTC).</summary>
    public static CollectionSchema FromProto(ByteString serialized, string collection, TimeZoneInfo? zone = null)
    {
        var schema = Parse(Proto.CollectionSchema.Parser, serialized, collection, "schema.CollectionSchema");

        var functions = FunctionConversion.FromProto(schema, collection);

        if (schema.StructArrayFields.Count > 0)
        {
            throw Invalid($"collection '{collection}': Quiver does not support struct array fields ('{schema.StructArrayFields[0].Name}')");
        }

        var fields = ImmutableArray.CreateBuilder<FieldSchema>(schema.Fields.Count);
        var dynamic = schema.EnableDynamicField;
        foreach (var f in schema.Fields)
        {
            if (f.IsDynamic)
            {
                // Clients may send the hidden $meta field themselves; it only means "dynamic fields on".
                dynamic = true;
                continue;
            }

#pragma warning disable CS0612 // the schema-level autoID is deprecated, yet older clients still set it
            fields.Add(FieldFromProto(f, schema.AutoID, zone));
#pragma warning restore CS0612
        }

        return new CollectionSchema { Fields = fields.ToImmutable(), EnableDynamicField = dynamic, Description = schema.Description, Functions = functions };
    }

    /// <summary>The engine field of a serialized <c>schema.FieldSchema</c> (AddCollectionField's <c>schema</c>); throws
    /// <see cref="MilvusException"/> (ParameterInvalid) for what a field added to an existing collection cannot be.</summary>
    public static FieldSchema AddedFieldFromProto(ByteString serialized, string collection, TimeZoneInfo? zone = null)
    {
        var f = Parse(Proto.FieldSchema.Parser, serialized, collection, "schema.FieldSchema");
        AddedField.Check(f);
        return FieldFromProto(f, schemaAutoId: false, zone);
    }

    private static T Parse<T>(MessageParser<T> parser, ByteString serialized, string collection, string what)
        where T : IMessage<T>
    {
        try
        {
            return parser.ParseFrom(serialized);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw Invalid($"collection '{collection}': schema is not a valid {what}: {e.Message}");
        }
    }

    private static FieldSchema FieldFromProto(Proto.FieldSchema f, bool schemaAutoId, TimeZoneInfo? zone = null)
    {
        if (f.IsClusteringKey)
        {
            throw Invalid($"field '{f.Name}': Quiver does not support clustering keys");
        }

        var type = ToEngineType(f.DataType, f.Name, "data_type");
        var typeParams = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in f.TypeParams)
        {
            if (!typeParams.TryAdd(p.Key, p.Value))
            {
                throw Invalid($"field '{f.Name}': type param {p.Key} is given twice ('{typeParams[p.Key]}' and '{p.Value}')");
            }
        }

        DataType? element = null;
        if (type == DataType.Array)
        {
            element = ToEngineType(f.ElementType, f.Name, "element_type");
        }

        var stated = f.IndexParams.FirstOrDefault(p => p.Key == "metric_type") is { Value.Length: > 0 } m
            ? MilvusGrpcService.ParseMetric(m.Value)
            : (MetricType?)null;
        var field = new FieldSchema
        {
            Name = f.Name,
            DataType = type,
            IsPrimaryKey = f.IsPrimaryKey,
            IsPartitionKey = f.IsPartitionKey,
            AutoId = f.IsPrimaryKey && (f.AutoID || schemaAutoId),
            Description = f.Description,
            Nullable = f.Nullable,
            ElementType = element,
            Dimension = type.IsDenseVector() ? IntParam(typeParams, "dim", f.Name) : null,
            MaxLength = type == DataType.VarChar || element == DataType.VarChar ? IntParam(typeParams, "max_length", f.Name) : null,
            MaxCapacity = type == DataType.Array ? IntParam(typeParams, "max_capacity", f.Name) : null,
            // A metric stated in the field's index_params (Quiver's C# client sends it there) is fixed; otherwise the
            // first index chooses it, as in Milvus, and until then L2 accepts every finite vector.
            MetricFromIndex = type.IsDenseVector() && stated is null,
            Metric = type switch
            {
                _ when type.IsDenseVector() => stated ?? (type == DataType.BinaryVector ? MetricType.Hamming : MetricType.L2),
                DataType.SparseFloatVector => stated ?? MetricType.IP,
                _ => MetricType.Cosine,
            },
            DefaultValue = DefaultFromProto(f.Name, type, f.DefaultValue, zone),
        };
        return TextParamsFromProto(field, typeParams);
    }

    private static DataType ToEngineType(Proto.DataType type, string field, string what) => Quiver.Wire.WireTypes.ToEngine(type)
        ?? throw Invalid($"field '{field}': {what} {type} is not supported by Quiver " +
            "(Bool, Int8, Int16, Int32, Int64, Float, Double, VarChar, Array, JSON, Geometry, Timestamptz, FloatVector, Float16Vector, BFloat16Vector, Int8Vector, BinaryVector and SparseFloatVector are)");

    private static int? IntParam(Dictionary<string, string> typeParams, string key, string field)
    {
        if (!typeParams.TryGetValue(key, out var text))
        {
            return null; // the engine's validator names the missing parameter
        }

        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw Invalid($"field '{field}': type param {key} '{text}' is not an integer");
    }

    private static FieldSchema TextParamsFromProto(FieldSchema field, Dictionary<string, string> typeParams)
    {
        try
        {
            return Quiver.Wire.TextTypeParams.Apply(field, typeParams);
        }
        catch (QuiverException e)
        {
            throw Invalid(e.Message);
        }
    }

    /// <summary>A field's default in the request, by the one conversion client and server share; what Milvus does not
    /// hold (a default on a JSON or Array field, a kind that does not fit the type, NaN) is code 1100 naming the field.</summary>
    private static JsonElement? DefaultFromProto(string field, DataType type, Proto.ValueField? value, TimeZoneInfo? zone)
    {
        try
        {
            return Quiver.Wire.DefaultValues.FromWire(field, type, value, zone);
        }
        catch (QuiverException e)
        {
            throw Invalid(e.Message);
        }
    }

    /// <summary>The Milvus schema of an engine schema, with field ids, type params and the dynamic field; TIMESTAMPTZ
    /// defaults as RFC 3339 text in <paramref name="zone"/> (the collection's <c>timezone</c>, as Milvus describes them;
    /// null for UTC).</summary>
    public static Proto.CollectionSchema ToProto(string collection, CollectionSchema schema, string database, TimeZoneInfo? zone = null)
    {
        var result = new Proto.CollectionSchema
        {
            Name = collection,
            Description = schema.Description,
            EnableDynamicField = schema.EnableDynamicField,
            DbName = database,
        };
        for (var i = 0; i < schema.Fields.Length; i++)
        {
            result.Fields.Add(FieldToProto(schema.Fields[i], FirstFieldId + i, zone));
        }

        if (schema.EnableDynamicField)
        {
            result.Fields.Add(new Proto.FieldSchema
            {
                FieldID = FirstFieldId + schema.Fields.Length,
                Name = CollectionSchema.DynamicFieldName,
                DataType = Proto.DataType.Json,
                IsDynamic = true,
                Description = "dynamic schema",
            });
        }

        FunctionConversion.AddTo(result, schema);
        return result;
    }

    private static Proto.FieldSchema FieldToProto(FieldSchema f, long id, TimeZoneInfo? zone)
    {
        var p = new Proto.FieldSchema
        {
            FieldID = id,
            Name = f.Name,
            IsPrimaryKey = f.IsPrimaryKey,
            IsPartitionKey = f.IsPartitionKey,
            AutoID = f.AutoId,
            Description = f.Description,
            DataType = (Proto.DataType)(int)f.DataType,
            Nullable = f.Nullable,
        };
        if (f.ElementType is { } element)
        {
            p.ElementType = (Proto.DataType)(int)element;
        }

        AddParam(p, "dim", f.Dimension);
        AddParam(p, "max_length", f.MaxLength);
        AddParam(p, "max_capacity", f.MaxCapacity);
        Quiver.Wire.TextTypeParams.AddTo(f, p.TypeParams);
        // A default Milvus cannot describe (on a JSON or Array field of a collection created embedded) is left out of
        // the description; the engine still fills it in.
        if (f.DefaultValue is { } dv && Quiver.Wire.DefaultValues.TryToWire(f, dv, zone, out var wireDefault, out _))
        {
            p.DefaultValue = wireDefault;
        }

        if (f.IsVector && !f.MetricFromIndex)
        {
            p.IndexParams.Add(new KeyValuePair { Key = "metric_type", Value = MilvusGrpcService.MetricName(f.Metric) });
        }

        return p;
    }

    private static void AddParam(Proto.FieldSchema p, string key, int? value)
    {
        if (value is { } v)
        {
            p.TypeParams.Add(new KeyValuePair { Key = key, Value = v.ToString(CultureInfo.InvariantCulture) });
        }
    }

    private static MilvusException Invalid(string reason) => new(MilvusCode.ParameterInvalid, reason);
}
