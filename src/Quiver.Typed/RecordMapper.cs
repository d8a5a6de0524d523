using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;

namespace Quiver.Typed;

/// <summary>How one record type maps to a collection: the schema it implies, and records to rows and back. Built once
/// per (type, definition) and shared; every member is thread-safe.</summary>
internal sealed class RecordMapper<TRecord>
    where TRecord : class
{
    private static readonly ConcurrentDictionary<QuiverRecordDefinition, RecordMapper<TRecord>> s_byDefinition = new();
    private static readonly Lazy<RecordMapper<TRecord>> s_byAttributes = new(() => new RecordMapper<TRecord>(null));

    private readonly Func<TRecord> _create;

    private RecordMapper(QuiverRecordDefinition? definition)
    {
        var ctor = typeof(TRecord).GetConstructor(Type.EmptyTypes)
            ?? throw new QuiverException(QuiverErrorCode.InvalidArgument, $"record type {typeof(TRecord).Name} needs a public parameterless constructor");
        _create = () => (TRecord)ctor.Invoke(null);
        Properties = definition is null ? FromAttributes() : FromDefinition(definition);
        var keys = Properties.Where(p => p.Kind == QuiverPropertyKind.Key).ToList();
        if (keys.Count != 1)
        {
            throw new QuiverException(QuiverErrorCode.InvalidArgument, $"record type {typeof(TRecord).Name} maps {keys.Count} key properties; exactly one needs [QuiverKey] (or Kind Key in a definition)");
        }

        Key = keys[0];
        FullText = [.. Properties.Where(p => p.Field.EnableAnalyzer)];
        var sparse = FullText.Select(p => FieldSchema.SparseVector(Bm25Field(p)) with { Metric = MetricType.BM25 }).ToList();
        if (sparse.FirstOrDefault(s => Properties.Any(p => p.Field.Name == s.Name)) is { } taken)
        {
            throw new QuiverException(QuiverErrorCode.InvalidArgument, $"record type {typeof(TRecord).Name}: a full-text property needs a field named {taken.Name} for its BM25 terms, and another property is stored under that name");
        }

        Schema = new CollectionSchema
        {
            Fields = [.. Properties.Select(p => p.Field), .. sparse],
            Functions = [.. FullText.Select(p => CollectionFunction.BM25(Bm25Field(p) + "_fn", p.Field.Name, Bm25Field(p)))],
            EnableDynamicField = definition?.EnableDynamicField ?? false,
        };
    }

    public IReadOnlyList<MappedProperty> Properties { get; }

    public MappedProperty Key { get; }

    /// <summary>The string properties searched by keywords (<c>FullTextSearch</c>), in declaration order.</summary>
    public IReadOnlyList<MappedProperty> FullText { get; }

    public CollectionSchema Schema { get; }

    public static RecordMapper<TRecord> For(QuiverRecordDefinition? definition) =>
        definition is null ? s_byAttributes.Value : s_byDefinition.GetOrAdd(definition, d => new RecordMapper<TRecord>(d));

    public MappedProperty Vector(string? property)
    {
        var vectors = Properties.Where(p => p.Kind == QuiverPropertyKind.Vector).ToList();
        if (property is null)
        {
            return vectors.Count == 1 ? vectors[0] : throw new QuiverException(
                QuiverErrorCode.InvalidArgument, $"record type {typeof(TRecord).Name} maps {vectors.Count} vectors; name the one to search (VectorProperty)");
        }

        return vectors.FirstOrDefault(p => p.Property.Name == property || p.Field.Name == property)
            ?? throw new QuiverException(QuiverErrorCode.InvalidArgument, $"record type {typeof(TRecord).Name} has no vector property {property}");
    }

    /// <summary>The sparse field holding a full-text property's BM25 terms.</summary>
    public static string Bm25Field(MappedProperty text) => text.Field.Name + QuiverCollection<TRecord>.Bm25Suffix;

    /// <summary>The full-text property named (by property or field name), or the only one when null.</summary>
    public MappedProperty FullTextProperty(string? property)
    {
        if (property is null)
        {
            return FullText.Count == 1 ? FullText[0] : throw new QuiverException(
                QuiverErrorCode.InvalidArgument, FullText.Count == 0
                    ? $"record type {typeof(TRecord).Name} has no full-text property; mark a string property [QuiverField(FullTextSearch = true)]"
                    : $"record type {typeof(TRecord).Name} maps {FullText.Count} full-text properties; name the one to search (TextProperty)");
        }

        return FullText.FirstOrDefault(p => p.Property.Name == property || p.Field.Name == property)
            ?? throw new QuiverException(QuiverErrorCode.InvalidArgument, $"record type {typeof(TRecord).Name} has no full-text property {property}");
    }

    public Row ToRow(TRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var row = new Row();
        foreach (var p in Properties)
        {
            if (p.Kind == QuiverPropertyKind.Key && p.Field.AutoId)
            {
                continue;
            }

            row[p.Field.Name] = ClrVectors.ToWire(p.Property.GetValue(record));
        }

        return row;
    }

    public TRecord FromRow(IReadOnlyDictionary<string, object?> row)
    {
        var record = _create();
        foreach (var p in Properties)
        {
            if (row.TryGetValue(p.Field.Name, out var value))
            {
                p.Property.SetValue(record, ClrValues.FromWire(value, p.Property.PropertyType, p.Field.Name));
            }
        }

        return record;
    }

    /// <summary>Output fields that leave vectors out (null: every field).</summary>
    public IReadOnlyList<string> OutputFields(bool includeVectors) =>
        [.. Properties.Where(p => includeVectors || p.Kind != QuiverPropertyKind.Vector).Select(p => p.Field.Name)];

    /// <summary>A key as the engine takes it: Int64 keys as long, VarChar keys as string.</summary>
    public object KeyValue(object key) => Key.Field.DataType == DataType.Int64
        ? key switch
        {
            long l => l,
            int i => (long)i,
            _ => throw new QuiverException(QuiverErrorCode.InvalidArgument, $"key {key} is a {key.GetType().Name}; collection keys are Int64"),
        }
        : key as string ?? throw new QuiverException(QuiverErrorCode.InvalidArgument, $"key {key} is a {key.GetType().Name}; collection keys are strings");


    private static List<MappedProperty> FromAttributes()
    {
        var result = new List<MappedProperty>();
        foreach (var p in typeof(TRecord).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (!p.CanRead || !p.CanWrite || p.GetIndexParameters().Length > 0 || p.GetCustomAttribute<QuiverIgnoreAttribute>() is not null)
            {
                continue;
            }

            var key = p.GetCustomAttribute<QuiverKeyAttribute>();
            var vector = p.GetCustomAttribute<QuiverVectorAttribute>();
            var field = p.GetCustomAttribute<QuiverFieldAttribute>();
            var definition = key is not null
                ? new QuiverPropertyDefinition(p.Name, QuiverPropertyKind.Key) { FieldName = key.Name, AutoId = key.AutoId, MaxLength = key.MaxLength }
                : vector is not null
                    ? new QuiverPropertyDefinition(p.Name, QuiverPropertyKind.Vector) { FieldName = vector.Name, Dimension = vector.Dimension, Metric = vector.Metric, EmbedFrom = vector.EmbedFrom }
                    : new QuiverPropertyDefinition(p.Name, QuiverPropertyKind.Field)
                    {
                        FieldName = field?.Name,
                        MaxLength = field?.MaxLength,
                        MaxCapacity = field?.MaxCapacity ?? FieldSchema.MaxArrayCapacity,
                        IsPartitionKey = field?.IsPartitionKey ?? false,
                        FullTextSearch = field?.FullTextSearch ?? false,
                        AnalyzerParams = field?.AnalyzerParams,
                    };
            result.Add(Map(p, definition));
        }

        return result;
    }

    private static List<MappedProperty> FromDefinition(QuiverRecordDefinition definition)
    {
        var result = new List<MappedProperty>();
        foreach (var d in definition.Properties)
        {
            var p = typeof(TRecord).GetProperty(d.PropertyName, BindingFlags.Public | BindingFlags.Instance);
            if (p is null || !p.CanRead || !p.CanWrite)
            {
                throw new QuiverException(QuiverErrorCode.InvalidArgument, $"record type {typeof(TRecord).Name} has no public read/write property {d.PropertyName}");
            }

            result.Add(Map(p, d));
        }

        return result;
    }

    private static MappedProperty Map(PropertyInfo p, QuiverPropertyDefinition d)
    {
        var name = d.FieldName ?? p.Name;
        var type = p.PropertyType;
        var nullable = Nullable.GetUnderlyingType(type) is not null
            || (!type.IsValueType && new NullabilityInfoContext().Create(p).WriteState == NullabilityState.Nullable);
        var bare = Nullable.GetUnderlyingType(type) ?? type;
        FieldSchema field;
        switch (d.Kind)
        {
            case QuiverPropertyKind.Key when bare == typeof(long):
                field = FieldSchema.Int64Key(name, d.AutoId);
                break;
            case QuiverPropertyKind.Key when bare == typeof(string) && !d.AutoId:
                field = FieldSchema.VarCharKey(name, d.MaxLength ?? 256);
                break;
            case QuiverPropertyKind.Key:
                throw Unsupported(p, "a key is a long (AutoId allowed) or a string");
            case QuiverPropertyKind.Vector when ClrVectors.VectorType(bare) is { } vectorType:
                field = new FieldSchema { Name = name, DataType = vectorType, Dimension = d.Dimension, Metric = d.Metric };
                break;
            case QuiverPropertyKind.Vector:
                throw Unsupported(p, "a vector is a float[], Half[] or sbyte[] (or a ReadOnlyMemory of those) or a BitArray");
            case QuiverPropertyKind.Field when d.FullTextSearch && bare != typeof(string):
                throw Unsupported(p, "FullTextSearch applies to string properties only");
            case QuiverPropertyKind.Field when d.AnalyzerParams is not null && !d.FullTextSearch:
                throw Unsupported(p, "AnalyzerParams applies with FullTextSearch only");
            default:
                field = ScalarField(p, name, bare, nullable, d);
                break;
        }

        return new MappedProperty(p, d.Kind, field, d.EmbedFrom is null ? null : EmbedSource(p, d.EmbedFrom, field));
    }

    private static PropertyInfo EmbedSource(PropertyInfo vector, string name, FieldSchema field)
    {
        var source = typeof(TRecord).GetProperty(name, BindingFlags.Public | BindingFlags.Instance);
        if (source is null || source.PropertyType != typeof(string) || !source.CanRead)
        {
            throw Unsupported(vector, $"EmbedFrom names {name}, which is not a readable string property of {typeof(TRecord).Name}");
        }

        return field.DataType == DataType.FloatVector ? source : throw Unsupported(vector, "an embedding generator fills float vectors only");
    }

    private static FieldSchema ScalarField(PropertyInfo p, string name, Type bare, bool nullable, QuiverPropertyDefinition d)
    {
        if (bare == typeof(string))
        {
            return FieldSchema.VarChar(name, d.MaxLength ?? FieldSchema.MaxVarCharLength, nullable) with
            {
                IsPartitionKey = d.IsPartitionKey,
                EnableAnalyzer = d.FullTextSearch,
                AnalyzerParams = d.FullTextSearch ? d.AnalyzerParams : null,
            };
        }

        if (ClrVectors.IsTime(bare))
        {
            return new FieldSchema { Name = name, DataType = DataType.Timestamptz, Nullable = nullable };
        }

        if (bare == typeof(JsonElement))
        {
            return FieldSchema.Json(name, nullable);
        }

        if (ClrValues.ScalarType(bare) is { } scalar)
        {
            return FieldSchema.Scalar(name, scalar, nullable) with { IsPartitionKey = d.IsPartitionKey };
        }

        if (ClrValues.ElementType(bare) is { } element && (element == typeof(string) || ClrValues.ScalarType(element) is not null))
        {
            return FieldSchema.Array(
                name, element == typeof(string) ? DataType.VarChar : ClrValues.ScalarType(element)!.Value, d.MaxCapacity,
                element == typeof(string) ? d.MaxLength ?? FieldSchema.MaxVarCharLength : null, nullable);
        }

        throw Unsupported(p, "mapped types are bool, sbyte, short, int, long, float, double, string, JsonElement, arrays or lists of those, DateTime, DateTimeOffset, and vectors (float[], Half[], sbyte[], a ReadOnlyMemory of those, BitArray)");
    }

    private static QuiverException Unsupported(PropertyInfo p, string rule) =>
        new(QuiverErrorCode.InvalidArgument, $"property {typeof(TRecord).Name}.{p.Name} of type {p.PropertyType.Name} cannot be mapped: {rule}");
}

/// <summary>One mapped property and the field it becomes; for a vector the embedding generator fills, the string
/// property it embeds (<c>EmbedFrom</c>).</summary>
internal sealed record MappedProperty(PropertyInfo Property, QuiverPropertyKind Kind, FieldSchema Field, PropertyInfo? EmbedFrom = null);
