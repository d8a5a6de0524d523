using System.Linq.Expressions;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;
using Microsoft.Extensions.VectorData.ProviderServices;
using Quiver.Client;
using Quiver.Typed;

namespace Quiver.VectorData;

/// <summary>
/// A Quiver collection behind <see cref="VectorStoreCollection{TKey, TRecord}"/>, embedded or remote alike. Keys are
/// <see cref="long"/>, <see cref="string"/> or <see cref="Guid"/> (<see cref="object"/> for dynamic collections);
/// Quiver errors surface as <see cref="VectorStoreException"/> with the Quiver exception inside. Thread-safe.
/// </summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TRecord">The record type (<c>Dictionary&lt;string, object?&gt;</c> for dynamic collections).</typeparam>
public sealed partial class QuiverVectorStoreCollection<TKey, TRecord> : VectorStoreCollection<TKey, TRecord>
    where TKey : notnull
    where TRecord : class
{
    private readonly IQuiverClient _client;
    private readonly string? _database;
    private readonly CollectionModel _model;
    private readonly CollectionSchema _schema;
    private readonly VectorStoreCollectionMetadata _metadata;

    internal QuiverVectorStoreCollection(IQuiverClient client, string name, string? database, CollectionModel model)
    {
        _client = client;
        Name = name;
        _database = database;
        _model = model;
        _schema = ModelSchema.Build(model);
        _metadata = new VectorStoreCollectionMetadata { VectorStoreSystemName = QuiverVectorStore.SystemName, VectorStoreName = database, CollectionName = name };
    }

    /// <inheritdoc/>
    public override string Name { get; }

    /// <inheritdoc/>
    public override Task<bool> CollectionExistsAsync(CancellationToken cancellationToken = default) =>
        RunAsync("CollectionExists", () => _client.HasCollectionAsync(Name, _database, cancellationToken));

    /// <summary>Creates the collection when missing, with an index per vector property (its <see cref="IndexKind"/>,
    /// AUTOINDEX when unset) under the metric of its distance function, and loads it.</summary>
    public override Task EnsureCollectionExistsAsync(CancellationToken cancellationToken = default) =>
        RunAsync("EnsureCollectionExists", async () =>
        {
            if (!await _client.HasCollectionAsync(Name, _database, cancellationToken).ConfigureAwait(false))
            {
                await _client.CreateCollectionAsync(Name, _schema, _database, cancellationToken).ConfigureAwait(false);
                foreach (var v in _model.VectorProperties)
                {
                    var index = new IndexDefinition { FieldName = v.StorageName, IndexType = ModelSchema.IndexType(v), Metric = ModelSchema.Metric(v) };
                    await _client.CreateIndexAsync(Name, index, _database, cancellationToken).ConfigureAwait(false);
                }

                foreach (var text in _model.DataProperties.Where(d => d.IsFullTextIndexed))
                {
                    var index = new IndexDefinition { FieldName = ModelSchema.Bm25Field(text), IndexType = "SPARSE_INVERTED_INDEX", Metric = MetricType.BM25 };
                    await _client.CreateIndexAsync(Name, index, _database, cancellationToken).ConfigureAwait(false);
                }
            }

            await _client.LoadCollectionAsync(Name, _database, cancellationToken).ConfigureAwait(false);
            return true;
        });

    /// <inheritdoc/>
    public override Task EnsureCollectionDeletedAsync(CancellationToken cancellationToken = default) =>
        RunAsync("EnsureCollectionDeleted", async () =>
        {
            if (await _client.HasCollectionAsync(Name, _database, cancellationToken).ConfigureAwait(false))
            {
                await _client.DropCollectionAsync(Name, _database, cancellationToken).ConfigureAwait(false);
            }

            return true;
        });

    /// <inheritdoc/>
    public override async Task<TRecord?> GetAsync(TKey key, RecordRetrievalOptions? options = null, CancellationToken cancellationToken = default)
    {
        await foreach (var record in GetAsync([key], options, cancellationToken).ConfigureAwait(false))
        {
            return record;
        }

        return null;
    }

    /// <inheritdoc/>
    public override async IAsyncEnumerable<TRecord> GetAsync(
        IEnumerable<TKey> keys, RecordRetrievalOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var wire = keys.Select(KeyToWire).ToList();
        if (wire.Count == 0)
        {
            yield break;
        }

        var output = Output(options?.IncludeVectors ?? false);
        var rows = await RunAsync("Get", () => _client.GetAsync(Name, wire, output, null, _database, cancellationToken)).ConfigureAwait(false);
        foreach (var row in rows)
        {
            yield return FromRow(row, options?.IncludeVectors ?? false);
        }
    }

    /// <summary>Records matching a LINQ filter, at most <paramref name="top"/> after <see cref="FilteredRecordRetrievalOptions{TRecord}.Skip"/>.
    /// Without <c>OrderBy</c> the order is storage order; with it, every match is read and sorted here.</summary>
    public override async IAsyncEnumerable<TRecord> GetAsync(
        Expression<Func<TRecord, bool>> filter, int top, FilteredRecordRetrievalOptions<TRecord>? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        options ??= new FilteredRecordRetrievalOptions<TRecord>();
        ArgumentOutOfRangeException.ThrowIfNegative(options.Skip);
        var expression = new QuiverFilterTranslator().Translate(filter, _model);
        var output = Output(options.IncludeVectors);
        var sorts = options.OrderBy?.Invoke(new FilteredRecordRetrievalOptions<TRecord>.OrderByDefinition()).Values ?? [];
        var request = new QueryRequest
        {
            Filter = expression,
            OutputFields = output,
            Limit = sorts.Count == 0 ? top : null,
            Offset = sorts.Count == 0 ? options.Skip : 0,
        };
        var rows = await RunAsync("Get", () => _client.QueryAsync(Name, request, _database, cancellationToken)).ConfigureAwait(false);
        IEnumerable<Row> ordered = rows;
        if (sorts.Count > 0)
        {
            IOrderedEnumerable<Row>? sorted = null;
            foreach (var sort in sorts)
            {
                var property = _model.GetDataOrKeyProperty(sort.PropertySelector);
                var field = property.StorageName;

                // Times come back as RFC 3339 text, whose ordinal order is not time order ("...:00.5Z" < "...:00Z").
                object? Key(Row r) => ClrVectors.IsTime(property.Type) && r.GetValueOrDefault(field) is { } at
                    ? ClrValues.FromWire(at, typeof(DateTimeOffset), field)
                    : r.GetValueOrDefault(field);
                sorted = sorted is null
                    ? sort.Ascending ? rows.OrderBy(Key, ValueComparer.Instance) : rows.OrderByDescending(Key, ValueComparer.Instance)
                    : sort.Ascending ? sorted.ThenBy(Key, ValueComparer.Instance) : sorted.ThenByDescending(Key, ValueComparer.Instance);
            }

            ordered = sorted!.Skip(options.Skip).Take(top);
        }

        foreach (var row in ordered)
        {
            yield return FromRow(row, options.IncludeVectors);
        }
    }

    /// <inheritdoc/>
    public override Task DeleteAsync(TKey key, CancellationToken cancellationToken = default) => DeleteAsync([key], cancellationToken);

    /// <inheritdoc/>
    public override Task DeleteAsync(IEnumerable<TKey> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var wire = keys.Select(KeyToWire).ToList();
        return wire.Count == 0 ? Task.CompletedTask : RunAsync("Delete", () => _client.DeleteAsync(Name, wire, null, _database, cancellationToken));
    }

    /// <inheritdoc/>
    public override Task UpsertAsync(TRecord record, CancellationToken cancellationToken = default) => UpsertAsync([record], cancellationToken);

    /// <summary>Upserts records. Vector properties with an embedding generator are generated first (one batch per
    /// property); an auto-generated <see cref="Guid"/> key left empty gets a new Guid, written back into the record.</summary>
    public override async Task UpsertAsync(IEnumerable<TRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        var list = records.ToList();
        if (list.Count == 0)
        {
            return;
        }

        var generated = new Dictionary<VectorPropertyModel, IReadOnlyList<Embedding>>();
        foreach (var v in _model.VectorProperties.Where(v => v.EmbeddingGenerator is not null))
        {
            generated[v] = await v.GenerateEmbeddingsAsync(list.Select(r => v.GetValueAsObject(r)!), cancellationToken).ConfigureAwait(false);
        }

        var rows = new List<IReadOnlyDictionary<string, object?>>(list.Count);
        for (var i = 0; i < list.Count; i++)
        {
            rows.Add(ToRow(list[i], i, generated));
        }

        await RunAsync("Upsert", () => _client.UpsertAsync(Name, rows, null, _database, cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>The <paramref name="top"/> records nearest to <paramref name="searchValue"/> (a float vector, or any input
    /// the vector property's embedding generator takes), best first; scores are in the property's distance function.</summary>
    public override async IAsyncEnumerable<VectorSearchResult<TRecord>> SearchAsync<TInput>(
        TInput searchValue, int top, VectorSearchOptions<TRecord>? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(searchValue);
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        options ??= new VectorSearchOptions<TRecord>();
        ArgumentOutOfRangeException.ThrowIfNegative(options.Skip);
        var vectorProperty = _model.GetVectorPropertyOrSingle(options);
        var vector = await QueryVectorAsync(vectorProperty, searchValue, cancellationToken).ConfigureAwait(false);
        var request = new SearchRequest
        {
            Vectors = [vector],
            AnnsField = vectorProperty.StorageName,
            Limit = top,
            Offset = options.Skip,
            Filter = options.Filter is null ? "" : new QuiverFilterTranslator().Translate(options.Filter, _model),
            OutputFields = Output(options.IncludeVectors),
        };
        var result = await RunAsync("Search", () => _client.SearchAsync(Name, request, _database, cancellationToken)).ConfigureAwait(false);
        var higherIsBetter = ModelSchema.HigherIsBetter(vectorProperty);
        foreach (var hit in result.Hits[0])
        {
            var score = ModelSchema.Score(vectorProperty, hit.Score);
            if (options.ScoreThreshold is { } threshold && (higherIsBetter ? score < threshold : score > threshold))
            {
                continue;
            }

            yield return new VectorSearchResult<TRecord>(FromHit(hit, options.IncludeVectors), score);
        }
    }

    /// <summary>The query vector for <paramref name="searchValue"/>: a vector as given, or the property's embedding
    /// generator's embedding of it.</summary>
    private static async Task<float[]> QueryVectorAsync<TInput>(VectorPropertyModel vectorProperty, TInput searchValue, CancellationToken cancellationToken)
        where TInput : notnull => searchValue switch
        {
            Embedding<float> e => e.Vector.ToArray(),
            _ when ClrVectors.VectorType(searchValue.GetType()) is not null => ClrVectors.Query(searchValue, vectorProperty.ModelName),
            _ when vectorProperty.EmbeddingGenerator is not null =>
                ((Embedding<float>)await vectorProperty.GenerateEmbeddingAsync(searchValue, cancellationToken).ConfigureAwait(false)).Vector.ToArray(),
            _ => throw new NotSupportedException(
                $"search input of type {typeof(TInput).Name}: give a vector (float[], Half[], sbyte[], a ReadOnlyMemory of those, BitArray, Embedding<float>), or configure an embedding generator on {vectorProperty.ModelName}"),
        };

    private TRecord FromHit(SearchHit hit, bool includeVectors) =>
        FromRow(new Dictionary<string, object?>(hit.Fields) { [_model.KeyProperty.StorageName] = hit.Id }, includeVectors);

    /// <inheritdoc/>
    public override object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(VectorStoreCollectionMetadata) ? _metadata
            : serviceType == typeof(IQuiverClient) ? _client
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    private List<string> Output(bool includeVectors) =>
        [.. _model.Properties.Where(p => includeVectors || p is not VectorPropertyModel).Select(p => p.StorageName)];

    private object KeyToWire(TKey key) => key switch
    {
        long or string => key,
        Guid g => g.ToString("D"),
        int i => (long)i,
        _ => throw new NotSupportedException($"key {key} of type {key.GetType().Name}: Quiver keys are long, string or Guid"),
    };

    private Row ToRow(TRecord record, int index, Dictionary<VectorPropertyModel, IReadOnlyList<Embedding>> generated)
    {
        ArgumentNullException.ThrowIfNull(record);
        var row = new Row();
        foreach (var p in _model.Properties)
        {
            var value = p.GetValueAsObject(record);
            switch (p)
            {
                case KeyPropertyModel { IsAutoGenerated: true } when value is Guid g && g == Guid.Empty:
                    var fresh = Guid.NewGuid();
                    p.SetValueAsObject(record, fresh);
                    value = fresh;
                    break;
                case VectorPropertyModel v when generated.TryGetValue(v, out var embeddings):
                    value = ((Embedding<float>)embeddings[index]).Vector;
                    break;
            }

            row[p.StorageName] = value switch
            {
                Guid g => g.ToString("D"),
                Embedding<float> e => e.Vector.ToArray(),
                _ => ClrVectors.ToWire(value),
            };
        }

        return row;
    }

    private TRecord FromRow(IReadOnlyDictionary<string, object?> row, bool includeVectors)
    {
        var record = _model.CreateRecord<TRecord>();
        foreach (var p in _model.Properties)
        {
            if (p is VectorPropertyModel && !includeVectors || !row.TryGetValue(p.StorageName, out var value))
            {
                continue;
            }

            if (p is VectorPropertyModel { EmbeddingGenerator: not null })
            {
                // The record holds the generator's input (say a string); the stored embedding is not part of it.
                continue;
            }

            var type = Nullable.GetUnderlyingType(p.Type) ?? p.Type;
            p.SetValueAsObject(record, value is null ? null
                : type == typeof(Guid) ? Guid.Parse((string)value)
                : type == typeof(Embedding<float>) ? new Embedding<float>((float[])ClrValues.FromWire(value, typeof(float[]), p.StorageName)!)
                : type == typeof(object) ? value
                : ClrValues.FromWire(value, p.Type, p.StorageName));
        }

        return record;
    }

    private async Task<T> RunAsync<T>(string operation, Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (QuiverException ex)
        {
            throw new VectorStoreException(ex.Message, ex)
            {
                VectorStoreSystemName = QuiverVectorStore.SystemName,
                VectorStoreName = _database,
                CollectionName = Name,
                OperationName = operation,
            };
        }
    }

    /// <summary>Orders values of one field for OrderBy: numbers, strings (ordinal), bools; nulls first.</summary>
    private sealed class ValueComparer : IComparer<object?>
    {
        public static readonly ValueComparer Instance = new();

        public int Compare(object? x, object? y) => (x, y) switch
        {
            (null, null) => 0,
            (null, _) => -1,
            (_, null) => 1,
            (string a, string b) => string.CompareOrdinal(a, b),
            (bool a, bool b) => a.CompareTo(b),
            (DateTimeOffset a, DateTimeOffset b) => a.CompareTo(b),
            _ => Convert.ToDouble(x, System.Globalization.CultureInfo.InvariantCulture).CompareTo(Convert.ToDouble(y, System.Globalization.CultureInfo.InvariantCulture)),
        };
    }
}
