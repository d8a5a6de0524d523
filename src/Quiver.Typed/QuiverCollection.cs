using System.Collections;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Quiver.Client;

namespace Quiver.Typed;

/// <summary>
/// A handle on one collection whose rows are <typeparamref name="TRecord"/> records: the typed face of
/// <see cref="IQuiverClient"/>, embedded or remote alike. Cheap to make (no I/O until a call); thread-safe. Every call is
/// one span and one duration measurement (<see cref="QuiverTelemetry"/>) and logs at Debug (failures at Warning).
/// </summary>
/// <typeparam name="TRecord">A class with a public parameterless constructor whose mapped properties are read/write.</typeparam>
public sealed partial class QuiverCollection<TRecord>
    where TRecord : class
{
    private readonly RecordMapper<TRecord> _mapper;
    private readonly ILogger _logger;
    private readonly string _indexType;
    private readonly IEmbeddingGenerator<string, Embedding<float>>? _generator;

    internal QuiverCollection(IQuiverClient client, string name, QuiverCollectionOptions? options, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (string.IsNullOrWhiteSpace(name))
        {
            // The typed API's own refusals are InvalidArgument, as the database's would be (docs/errors.md, typed-collection-name).
            throw new QuiverException(QuiverErrorCode.InvalidArgument, "collection name is empty or white space");
        }

        Client = client;
        Name = name;
        Database = options?.Database;
        _indexType = options?.VectorIndexType ?? "AUTOINDEX";
        _mapper = RecordMapper<TRecord>.For(options?.Definition);
        _generator = options?.EmbeddingGenerator;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The client calls go through.</summary>
    public IQuiverClient Client { get; }

    /// <summary>The collection's name.</summary>
    public string Name { get; }

    /// <summary>The database; null means the client's.</summary>
    public string? Database { get; }

    /// <summary>The schema the record type maps to (what <see cref="EnsureCreatedAsync"/> creates).</summary>
    public CollectionSchema Schema => _mapper.Schema;

    /// <summary>True when the collection exists.</summary>
    public Task<bool> ExistsAsync(CancellationToken cancellationToken = default) =>
        RunAsync("has_collection", () => Client.HasCollectionAsync(Name, Database, cancellationToken), _ => 0);

    /// <summary>Creates the collection from <see cref="Schema"/> when it does not exist, with an index on each vector
    /// (<see cref="QuiverCollectionOptions.VectorIndexType"/>) and a BM25 index on each full-text property's terms, and
    /// loads it; an existing collection is left as it is.</summary>
    public Task EnsureCreatedAsync(CancellationToken cancellationToken = default) =>
        RunAsync("create_collection", async () =>
        {
            if (!await Client.HasCollectionAsync(Name, Database, cancellationToken).ConfigureAwait(false))
            {
                await Client.CreateCollectionAsync(Name, Schema, Database, cancellationToken).ConfigureAwait(false);
                foreach (var vector in _mapper.Properties.Where(p => p.Kind == QuiverPropertyKind.Vector))
                {
                    await Client.CreateIndexAsync(
                        Name, new IndexDefinition { FieldName = vector.Field.Name, IndexType = _indexType, Metric = vector.Field.Metric },
                        Database, cancellationToken).ConfigureAwait(false);
                }

                foreach (var text in _mapper.FullText)
                {
                    await Client.CreateIndexAsync(
                        Name, new IndexDefinition { FieldName = RecordMapper<TRecord>.Bm25Field(text), IndexType = "SPARSE_INVERTED_INDEX", Metric = MetricType.BM25 },
                        Database, cancellationToken).ConfigureAwait(false);
                }
            }

            await Client.LoadCollectionAsync(Name, Database, cancellationToken).ConfigureAwait(false);
            return true;
        }, _ => 0);

    /// <summary>Drops the collection and its data; no error when it does not exist.</summary>
    public Task DropAsync(CancellationToken cancellationToken = default) =>
        RunAsync("drop_collection", async () =>
        {
            if (await Client.HasCollectionAsync(Name, Database, cancellationToken).ConfigureAwait(false))
            {
                await Client.DropCollectionAsync(Name, Database, cancellationToken).ConfigureAwait(false);
            }

            return true;
        }, _ => 0);

    /// <summary>Inserts records (all or nothing); a key already present is refused. With an auto-generated key, the
    /// generated keys are written back into the records.</summary>
    public Task<MutationResult> InsertAsync(IEnumerable<TRecord> records, QuiverWriteOptions? options = null, CancellationToken cancellationToken = default) =>
        WriteAsync("insert", records, options, upsert: false, cancellationToken);

    /// <summary>Inserts records, replacing those with the same key.</summary>
    public Task<MutationResult> UpsertAsync(IEnumerable<TRecord> records, QuiverWriteOptions? options = null, CancellationToken cancellationToken = default) =>
        WriteAsync("upsert", records, options, upsert: true, cancellationToken);

    /// <summary>Deletes records by key (<see cref="long"/> or <see cref="string"/>, as the key property); absent keys
    /// are ignored.</summary>
    public Task<MutationResult> DeleteAsync<TKey>(IEnumerable<TKey> keys, QuiverWriteOptions? options = null, CancellationToken cancellationToken = default)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(keys);
        var list = keys.Select(k => _mapper.KeyValue(k)).ToList();
        return RunAsync("delete", () => Client.DeleteAsync(Name, list, options?.Partition, Database, cancellationToken), r => r.Count);
    }

    /// <summary>Deletes every record matching a filter expression.</summary>
    public Task<MutationResult> DeleteWhereAsync(
        string filter, IReadOnlyDictionary<string, object?>? filterParams = null, QuiverWriteOptions? options = null, CancellationToken cancellationToken = default) =>
        RunAsync("delete", () => Client.DeleteWhereAsync(Name, filter, filterParams, options?.Partition, Database, cancellationToken), r => r.Count);

    /// <summary>One record by key, or null when absent.</summary>
    public async Task<TRecord?> GetAsync<TKey>(TKey key, QuiverGetOptions? options = null, CancellationToken cancellationToken = default)
        where TKey : notnull
    {
        await foreach (var record in GetAsync([key], options, cancellationToken).ConfigureAwait(false))
        {
            return record;
        }

        return null;
    }

    /// <summary>Records by key, in key order; absent keys are skipped.</summary>
    public async IAsyncEnumerable<TRecord> GetAsync<TKey>(
        IEnumerable<TKey> keys, QuiverGetOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(keys);
        options ??= new QuiverGetOptions();
        var list = keys.Select(k => _mapper.KeyValue(k)).ToList();
        var rows = await RunAsync(
            "get", () => Client.GetAsync(Name, list, _mapper.OutputFields(options.IncludeVectors), options.Partitions, Database, cancellationToken),
            r => r.Count).ConfigureAwait(false);
        foreach (var row in rows)
        {
            yield return _mapper.FromRow(row);
        }
    }

    /// <summary>Records matching a filter expression (empty: every record). Without <see cref="QuiverQueryOptions.Limit"/>
    /// every match is returned, fetched in batches ordered by key: the keys matching when the enumeration starts are read
    /// first, then the records batch by batch, so a record deleted meanwhile is skipped.</summary>
    public async IAsyncEnumerable<TRecord> QueryAsync(
        string filter = "", QuiverQueryOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        options ??= new QuiverQueryOptions();
        var output = _mapper.OutputFields(options.IncludeVectors);
        if (options.Limit is { } limit)
        {
            var request = Request(filter, options) with { OutputFields = output, Limit = limit, Offset = options.Offset };
            var rows = await RunAsync("query", () => Client.QueryAsync(Name, request, Database, cancellationToken), r => r.Count).ConfigureAwait(false);
            foreach (var row in rows)
            {
                yield return _mapper.FromRow(row);
            }

            yield break;
        }

        if (options.BatchSize < 1)
        {
            throw new QuiverException(QuiverErrorCode.InvalidArgument, $"query: BatchSize must be at least 1, got {options.BatchSize}");
        }

        var key = _mapper.Key.Field.Name;
        var keyRequest = Request(string.IsNullOrWhiteSpace(filter) ? Everything() : filter, options) with { OutputFields = [key] };
        var keyRows = await RunAsync("query", () => Client.QueryAsync(Name, keyRequest, Database, cancellationToken), r => r.Count).ConfigureAwait(false);
        var keys = keyRows.Select(r => r[key]!).ToList();
        keys.Sort(KeyComparer.Instance);
        for (var start = 0; start < keys.Count; start += options.BatchSize)
        {
            var batch = keys.GetRange(start, Math.Min(options.BatchSize, keys.Count - start));
            var rows = await RunAsync("get", () => Client.GetAsync(Name, batch, output, options.Partitions, Database, cancellationToken), r => r.Count)
                .ConfigureAwait(false);
            foreach (var row in rows)
            {
                yield return _mapper.FromRow(row);
            }
        }
    }

    /// <summary>Number of records matching a filter expression (empty: every record).</summary>
    public async Task<long> CountAsync(string filter = "", IReadOnlyDictionary<string, object?>? filterParams = null, CancellationToken cancellationToken = default)
    {
        var request = new QueryRequest { Filter = filter, FilterParams = filterParams, OutputFields = ["count(*)"] };
        var rows = await RunAsync("count", () => Client.QueryAsync(Name, request, Database, cancellationToken), _ => 1).ConfigureAwait(false);
        return Convert.ToInt64(rows[0]["count(*)"], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The records nearest to <paramref name="vector"/>, best first.</summary>
    public IAsyncEnumerable<QuiverSearchHit<TRecord>> SearchAsync(
        ReadOnlyMemory<float> vector, QuiverSearchOptions? options = null, CancellationToken cancellationToken = default) =>
        SearchCoreAsync(vector.ToArray(), options, cancellationToken);

    /// <summary>The records nearest to a float16 vector (a Float16Vector field, or any dense field: the components are
    /// searched as floats), best first.</summary>
    public IAsyncEnumerable<QuiverSearchHit<TRecord>> SearchAsync(
        ReadOnlyMemory<Half> vector, QuiverSearchOptions? options = null, CancellationToken cancellationToken = default) =>
        SearchCoreAsync(ClrVectors.Query(vector, Name), options, cancellationToken);

    /// <summary>The records nearest to an int8 vector (an Int8Vector field, or any dense field), best first.</summary>
    public IAsyncEnumerable<QuiverSearchHit<TRecord>> SearchAsync(
        ReadOnlyMemory<sbyte> vector, QuiverSearchOptions? options = null, CancellationToken cancellationToken = default) =>
        SearchCoreAsync(ClrVectors.Query(vector, Name), options, cancellationToken);

    /// <summary>The records nearest to a binary vector (a BinaryVector field; bit i is bit i % 8 of byte i / 8), best first.</summary>
    public IAsyncEnumerable<QuiverSearchHit<TRecord>> SearchAsync(
        BitArray vector, QuiverSearchOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(vector);
        return SearchCoreAsync(ClrVectors.Query(vector, Name), options, cancellationToken);
    }

    /// <summary>The records nearest to <paramref name="text"/>'s embedding by
    /// <see cref="QuiverCollectionOptions.EmbeddingGenerator"/>, searched in <see cref="QuiverSearchOptions.VectorProperty"/>
    /// (the single vector when unset), best first. InvalidArgument without a generator.</summary>
    public async IAsyncEnumerable<QuiverSearchHit<TRecord>> SearchAsync(
        string text, QuiverSearchOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        var vectors = await EmbedAsync([text], cancellationToken).ConfigureAwait(false);
        await foreach (var hit in SearchCoreAsync(vectors[0], options, cancellationToken).ConfigureAwait(false))
        {
            yield return hit;
        }
    }

    /// <summary>Fills every vector property that names an <c>EmbedFrom</c> text, one generator call per property, and
    /// writes the vectors back into the records.</summary>
    private async Task FillEmbeddingsAsync(List<TRecord> records, CancellationToken cancellationToken)
    {
        foreach (var vector in _mapper.Properties.Where(p => p.EmbedFrom is not null))
        {
            var texts = records.Select(r => vector.EmbedFrom!.GetValue(r) as string ?? throw new QuiverException(
                QuiverErrorCode.InvalidArgument, $"{typeof(TRecord).Name}.{vector.EmbedFrom!.Name} is null; {vector.Property.Name} is embedded from it")).ToList();
            var embedded = await EmbedAsync(texts, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < records.Count; i++)
            {
                vector.Property.SetValue(records[i], ClrValues.FromWire(embedded[i], vector.Property.PropertyType, vector.Field.Name));
            }
        }
    }

    private async Task<float[][]> EmbedAsync(List<string> texts, CancellationToken cancellationToken)
    {
        if (_generator is null)
        {
            throw new QuiverException(QuiverErrorCode.InvalidArgument, $"collection {Name}: embedding texts needs QuiverCollectionOptions.EmbeddingGenerator");
        }

        var embeddings = await _generator.GenerateAsync(texts, cancellationToken: cancellationToken).ConfigureAwait(false);
        return embeddings.Count == texts.Count ? [.. embeddings.Select(e => e.Vector.ToArray())]
            : throw new QuiverException(QuiverErrorCode.InvalidArgument, $"collection {Name}: the embedding generator returned {embeddings.Count} embeddings for {texts.Count} texts");
    }

    private async IAsyncEnumerable<QuiverSearchHit<TRecord>> SearchCoreAsync(
        float[] vector, QuiverSearchOptions? options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        options ??= new QuiverSearchOptions();
        var request = Request(options, _mapper.Vector(options.VectorProperty).Field.Name) with { Vectors = [vector] };
        await foreach (var hit in SearchAsync(request, cancellationToken).ConfigureAwait(false))
        {
            yield return hit;
        }
    }

    /// <summary>A search of <paramref name="field"/> with the options' settings and no query yet.</summary>
    private SearchRequest Request(QuiverSearchOptions options, string field) => new()
    {
        Vectors = [],
        AnnsField = field,
        Limit = options.Limit,
        Offset = options.Offset,
        Filter = options.Filter,
        FilterParams = options.FilterParams,
        OutputFields = _mapper.OutputFields(options.IncludeVectors),
        Partitions = options.Partitions,
        Consistency = options.Consistency,
        SearchParams = options.SearchParams ?? new Dictionary<string, string>(),
    };

    private async IAsyncEnumerable<QuiverSearchHit<TRecord>> SearchAsync(SearchRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var result = await RunAsync("search", () => Client.SearchAsync(Name, request, Database, cancellationToken), r => r.Hits[0].Count).ConfigureAwait(false);
        foreach (var hit in result.Hits[0])
        {
            yield return Hit(hit);
        }
    }

    /// <summary>A returned hit as a record: its fields and its key.</summary>
    private QuiverSearchHit<TRecord> Hit(SearchHit hit)
    {
        var fields = new Dictionary<string, object?>(hit.Fields) { [_mapper.Key.Field.Name] = hit.Id };
        return new QuiverSearchHit<TRecord>(_mapper.FromRow(fields), hit.Score);
    }

    private async Task<MutationResult> WriteAsync(string operation, IEnumerable<TRecord> records, QuiverWriteOptions? options, bool upsert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        var list = records.ToList();
        await FillEmbeddingsAsync(list, cancellationToken).ConfigureAwait(false);
        var rows = list.Select(r => (IReadOnlyDictionary<string, object?>)_mapper.ToRow(r)).ToList();
        var result = await RunAsync(operation, () => upsert
            ? Client.UpsertAsync(Name, rows, options?.Partition, Database, cancellationToken)
            : Client.InsertAsync(Name, rows, options?.Partition, Database, cancellationToken), r => r.Count).ConfigureAwait(false);
        if (_mapper.Key.Field.AutoId && result.Keys.Count == list.Count)
        {
            for (var i = 0; i < list.Count; i++)
            {
                _mapper.Key.Property.SetValue(list[i], ClrValues.FromWire(result.Keys[i], _mapper.Key.Property.PropertyType, _mapper.Key.Field.Name));
            }
        }

        return result;
    }

    private static QueryRequest Request(string filter, QuiverQueryOptions options) => new()
    {
        Filter = filter,
        FilterParams = options.FilterParams,
        Partitions = options.Partitions,
        Consistency = options.Consistency,
    };

    /// <summary>A filter every row matches: the engine (like Milvus) wants a limit with an empty filter, and the key
    /// scan must not have one.</summary>
    private string Everything()
    {
        var key = _mapper.Key.Field.Name;
        return _mapper.Key.Field.DataType == DataType.Int64 ? $"{key} >= 0 or {key} < 0" : $"{key} >= \"\"";
    }

    private async Task<T> RunAsync<T>(string operation, Func<Task<T>> call, Func<T, long> rows)
    {
        using var activity = QuiverTelemetry.Source.StartActivity($"{operation} {Name}", ActivityKind.Client);
        var tags = new TagList
        {
            { "db.system.name", QuiverTelemetry.SystemName },
            { "db.operation.name", operation },
            { "db.collection.name", Name },
        };
        if (Database is not null)
        {
            tags.Add("db.namespace", Database);
        }

        if (activity is not null)
        {
            foreach (var tag in tags)
            {
                activity.SetTag(tag.Key, tag.Value);
            }
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await call().ConfigureAwait(false);
            var count = rows(result);
            QuiverTelemetry.OperationDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
            if (operation is "get" or "query" or "search" or "hybrid_search")
            {
                QuiverTelemetry.ReturnedRows.Record(count, tags);
            }

            LogOperation(operation, Name, Stopwatch.GetElapsedTime(started).TotalMilliseconds, count);
            return result;
        }
        catch (Exception ex)
        {
            var code = ex is QuiverException q ? q.Code.ToString() : null;
            tags.Add("error.type", code ?? ex.GetType().FullName);
            if (code is not null)
            {
                tags.Add("db.response.status_code", code);
                activity?.SetTag("db.response.status_code", code);
            }

            activity?.SetTag("error.type", code ?? ex.GetType().FullName);
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            QuiverTelemetry.OperationDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
            LogFailure(operation, Name, code ?? ex.GetType().Name, ex.Message);
            throw;
        }
    }

    /// <summary>Orders keys of one collection: all longs or all strings (ordinal).</summary>
    private sealed class KeyComparer : IComparer<object>
    {
        public static readonly KeyComparer Instance = new();

        public int Compare(object? x, object? y) => x is long a && y is long b ? a.CompareTo(b) : string.CompareOrdinal(x as string, y as string);
    }
}
