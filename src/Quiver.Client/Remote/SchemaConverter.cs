using System.Collections.Immutable;
using System.Globalization;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using Proto = Quiver.Protocol.Schema;

namespace Quiver.Client.Remote;

/// <summary>
/// Converts <see cref="CollectionSchema"/> to and from Milvus's <c>schema.CollectionSchema</c>. Dimension, max length and
/// max capacity travel as <c>type_params</c> (<c>dim</c>, <c>max_length</c>, <c>max_capacity</c>) as Milvus's SDKs send them.
/// Milvus keeps the metric on the index, not the schema; Quiver fixes it on the vector field, so the client sends it as
/// the field's <c>index_params</c> <c>metric_type</c> (the field Milvus's own schema has for per-field index parameters)
/// and again on every CreateIndex and Search.
/// </summary>
internal static class SchemaConverter
{
    /// <summary>The key of the metric in a field's <c>index_params</c>, an index's params and search params.</summary>
    public const string MetricKey = "metric_type";

    /// <summary>The Milvus schema message of a collection.</summary>
    public static Proto.CollectionSchema ToMilvus(string collectionName, CollectionSchema schema)
    {
        var message = new Proto.CollectionSchema
        {
            Name = collectionName,
            Description = schema.Description,
            EnableDynamicField = schema.EnableDynamicField,
        };
        var id = 100L; // Milvus numbers user fields from 100; the server assigns its own ids anyway.
        foreach (var f in schema.Fields)
        {
            var field = ToMilvus(f, id++);
            field.IsFunctionOutput = schema.Functions.Any(fn => fn.OutputFieldNames.Contains(f.Name));
            message.Fields.Add(field);
        }

        RemoteFunctions.AddTo(message, schema.Functions);
        return message;
    }

    /// <summary>The Milvus message of one field.</summary>
    public static Proto.FieldSchema ToMilvus(FieldSchema field, long fieldId)
    {
        var m = new Proto.FieldSchema
        {
            FieldID = fieldId,
            Name = field.Name,
            Description = field.Description,
            DataType = (Proto.DataType)(int)field.DataType,
            IsPrimaryKey = field.IsPrimaryKey,
            AutoID = field.AutoId,
            Nullable = field.Nullable,
            IsPartitionKey = field.IsPartitionKey,
        };
        if (field.Dimension is { } dim)
        {
            m.TypeParams.Add(Pair("dim", dim));
        }

        if (field.MaxLength is { } maxLength)
        {
            m.TypeParams.Add(Pair("max_length", maxLength));
        }

        if (field.MaxCapacity is { } maxCapacity)
        {
            m.TypeParams.Add(Pair("max_capacity", maxCapacity));
        }

        Quiver.Wire.TextTypeParams.AddTo(field, m.TypeParams);

        if (field.ElementType is { } element)
        {
            m.ElementType = (Proto.DataType)(int)element;
        }

        if (field.IsVector || field.IsSparseVector)
        {
            m.IndexParams.Add(new KeyValuePair { Key = MetricKey, Value = MetricName(field.Metric) });
        }

        if (field.DefaultValue is { } dv)
        {
            m.DefaultValue = Quiver.Wire.DefaultValues.TryToWire(field, dv, out var wire, out var problem)
                ? wire
                : throw new QuiverException(QuiverErrorCode.InvalidArgument, problem!);
        }

        return m;
    }

    /// <summary>The engine schema of a Milvus schema message. A vector field's metric is its <c>index_params</c>
    /// <c>metric_type</c>, else <paramref name="indexMetrics"/>' entry for the field (from the collection's indexes), else
    /// the type's default (COSINE for dense vectors, HAMMING for BINARY, IP for sparse). Fields of types Quiver does not
    /// support are refused, naming them. Functions (BM25, TextEmbedding) come along; <paramref name="numPartitions"/> (the
    /// description's <c>num_partitions</c>) is kept when a field is the partition key.</summary>
    public static CollectionSchema FromMilvus(
        Proto.CollectionSchema message, IReadOnlyDictionary<string, MetricType>? indexMetrics = null, long numPartitions = 0)
    {
        var fields = ImmutableArray.CreateBuilder<FieldSchema>(message.Fields.Count);
        foreach (var f in message.Fields)
        {
            if (f.IsDynamic || f.Name == CollectionSchema.DynamicFieldName)
            {
                continue; // the hidden $meta field: EnableDynamicField says it exists.
            }

            fields.Add(FromMilvus(f, indexMetrics));
        }

        var built = fields.ToImmutable();
        return new CollectionSchema
        {
            Fields = built,
            EnableDynamicField = message.EnableDynamicField,
            Description = message.Description,
            Functions = RemoteFunctions.FromMilvus(message),
            NumPartitions = built.Any(f => f.IsPartitionKey) ? (int)Math.Clamp(numPartitions, 0, int.MaxValue) : 0,
        };
    }

    /// <summary>True when the field message states its metric in <c>index_params</c>.</summary>
    public static bool StatesMetric(Proto.FieldSchema field) => field.IndexParams.Any(p => p.Key == MetricKey);

    private static FieldSchema FromMilvus(Proto.FieldSchema f, IReadOnlyDictionary<string, MetricType>? indexMetrics)
    {
        var type = ToEngineType(f.DataType, f.Name);
        var metric = type switch
        {
            DataType.BinaryVector => MetricType.Hamming,
            DataType.SparseFloatVector => MetricType.IP,
            _ => MetricType.Cosine,
        };
        if (f.IndexParams.FirstOrDefault(p => p.Key == MetricKey) is { } stated)
        {
            metric = ParseMetric(stated.Value);
        }
        else if (indexMetrics is not null && indexMetrics.TryGetValue(f.Name, out var fromIndex))
        {
            metric = fromIndex;
        }

        var field = new FieldSchema
        {
            Name = f.Name,
            DataType = type,
            Description = f.Description,
            IsPrimaryKey = f.IsPrimaryKey,
            AutoId = f.AutoID,
            Nullable = f.Nullable,
            IsPartitionKey = f.IsPartitionKey,
            Dimension = IntParam(f, "dim"),
            MaxLength = IntParam(f, "max_length"),
            MaxCapacity = IntParam(f, "max_capacity"),
            ElementType = type == DataType.Array ? ToEngineType(f.ElementType, f.Name) : null,
            Metric = type.IsDenseVector() || type == DataType.SparseFloatVector ? metric : MetricType.Cosine,
            DefaultValue = Quiver.Wire.DefaultValues.FromWire(f.Name, type, f.DefaultValue),
        };
        var typeParams = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in f.TypeParams)
        {
            typeParams[p.Key] = p.Value;
        }

        return Quiver.Wire.TextTypeParams.Apply(field, typeParams);
    }

    /// <summary>Milvus's name of a metric: L2, IP, COSINE, HAMMING, JACCARD or BM25.</summary>
    public static string MetricName(MetricType metric) => metric.MilvusName();

    /// <summary>The metric of a Milvus metric name (case-insensitive); InvalidArgument for a name Quiver does not know.</summary>
    public static MetricType ParseMetric(string name) => VectorCodec.TryParseMetric(name, out var metric)
        ? metric
        : throw new QuiverException(QuiverErrorCode.InvalidArgument, $"metric_type '{name}' is not supported; expected L2, IP, COSINE, HAMMING, JACCARD or BM25");

    private static DataType ToEngineType(Proto.DataType type, string field) => Quiver.Wire.WireTypes.ToEngine(type)
        ?? throw new QuiverException(QuiverErrorCode.InvalidArgument, $"field '{field}' has data type {type}, which Quiver does not support");

    private static int? IntParam(Proto.FieldSchema f, string key)
    {
        var p = f.TypeParams.FirstOrDefault(p => p.Key == key);
        if (p is null)
        {
            return null;
        }

        return int.TryParse(p.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new QuiverException(QuiverErrorCode.InvalidArgument, $"field '{f.Name}': type param {key} '{p.Value}' is not an integer");
    }

    private static KeyValuePair Pair(string key, int value) => new() { Key = key, Value = value.ToString(CultureInfo.InvariantCulture) };
}
