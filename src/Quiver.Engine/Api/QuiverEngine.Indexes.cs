using Quiver.Catalog;

namespace Quiver;

public sealed partial class QuiverEngine
{
    /// <summary>Creates a vector index on a field. The call returns once the index is recorded durably; every sealed
    /// segment then gets its index built in the background (see <see cref="DescribeIndexesAsync"/> for progress and
    /// <see cref="WaitForIndexAsync"/> to wait). Segments not yet indexed, and growing segments, are searched exactly, so
    /// results never depend on build timing beyond exact-versus-approximate. InvalidArgument names a bad type, metric or
    /// parameter; AlreadyExists when the field already has an index or the name is taken.</summary>
    public async Task CreateIndexAsync(string collection, IndexDefinition index, string? database = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(index);
        var shard = Require(database, collection);
        var fieldIndex = shard.Schema.IndexOf(index.FieldName);
        if (fieldIndex < 0)
        {
            Throw.NotFound($"create index: collection '{collection}' has no field '{index.FieldName}'");
        }

        var field = shard.Schema.Fields[fieldIndex];
        var (kind, p, metric) = index.Check(field);
        var name = index.IndexName ?? index.FieldName;
        SchemaValidator.ValidateName(name, "index");
        var meta = new IndexMeta
        {
            Id = AllocateId(),
            Name = name,
            FieldName = field.Name,
            IndexType = Indexing.IndexKindNames.ToMilvusName(kind),
            Metric = metric,
            Params = new Dictionary<string, string>(p.Values),
            Properties = Indexing.IndexProperties.Check(index.Properties, []),
        };
        await shard.CreateIndexAsync(meta, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sets and removes properties of a built index, as Milvus's <c>AlterIndex</c>: <c>mmap.enabled</c>
    /// (<c>true</c>/<c>false</c>) is the only one; any other key, a build parameter included, is InvalidArgument naming
    /// it, as is a value that is not a boolean. Recorded durably and reported by <see cref="DescribeIndexesAsync"/>
    /// (<see cref="IndexInfo.Properties"/>); it does not move the index (see docs/server-catalog.md). NotFound when there
    /// is no such index.</summary>
    public Task AlterIndexPropertiesAsync(
        string collection, string indexName, IReadOnlyDictionary<string, string> set, IReadOnlyCollection<string>? remove = null,
        string? database = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(indexName);
        ArgumentNullException.ThrowIfNull(set);
        return Require(database, collection).AlterIndexPropertiesAsync(indexName, set, remove ?? [], cancellationToken);
    }

    /// <summary>Drops an index by name (default: the only index of the collection). Searches running on it finish; later
    /// ones are exact until an index is created again. NotFound when there is no such index.</summary>
    public async Task DropIndexAsync(string collection, string? indexName = null, string? database = null, CancellationToken cancellationToken = default)
    {
        var shard = Require(database, collection);
        if (indexName is null)
        {
            var all = shard.Meta.Indexes;
            if (all.Count != 1)
            {
                Throw.Invalid($"drop index: collection '{collection}' has {all.Count} indexes; name one");
            }

            indexName = all[0].Name;
        }

        await shard.DropIndexAsync(indexName, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Describes the collection's indexes with their build progress; <paramref name="fieldOrIndexName"/> narrows
    /// to one (NotFound when it matches none).</summary>
    public Task<IReadOnlyList<IndexInfo>> DescribeIndexesAsync(
        string collection, string? fieldOrIndexName = null, string? database = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var shard = Require(database, collection);
        var list = new List<IndexInfo>();
        foreach (var meta in shard.Meta.Indexes)
        {
            if (fieldOrIndexName is not null && meta.Name != fieldOrIndexName && meta.FieldName != fieldOrIndexName)
            {
                continue;
            }

            var p = shard.ProgressOf(meta);
            list.Add(new IndexInfo
            {
                IndexName = meta.Name,
                Id = meta.Id,
                FieldName = meta.FieldName,
                IndexType = meta.IndexType,
                Metric = meta.Metric,
                Params = meta.Params,
                Properties = meta.Properties,
                TotalRows = p.TotalRows,
                IndexedRows = p.IndexedRows,
                Progress = p.Fraction,
                MemoryBytes = p.MemoryBytes,
                BuiltTypes = p.RowsByType,
                State = p.IndexedRows == p.TotalRows ? IndexState.Finished : p.LastError is not null ? IndexState.Failed : IndexState.InProgress,
                FailReason = p.IndexedRows == p.TotalRows ? null : p.LastError,
                Segments = p.PerSegment,
            });
        }

        if (fieldOrIndexName is not null && list.Count == 0)
        {
            Throw.NotFound($"collection '{collection}' has no index on or named '{fieldOrIndexName}'");
        }

        return Task.FromResult<IReadOnlyList<IndexInfo>>(list);
    }

    /// <summary>Waits until every index of the collection covers every sealed segment. Throws the build error when a
    /// segment's build failed and no retry is queued (background maintenance retries failed builds after 30 s); the
    /// token bounds the wait.</summary>
    public async Task WaitForIndexAsync(string collection, string? database = null, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var infos = await DescribeIndexesAsync(collection, null, database, cancellationToken).ConfigureAwait(false);
            if (infos.All(i => i.State == IndexState.Finished))
            {
                return;
            }

            if (infos.FirstOrDefault(i => i.State == IndexState.Failed) is { } failed)
            {
                // A build deferred by the memory budget is a capacity refusal (retried later), not a fault.
                var memory = failed.FailReason?.Contains(MemoryQuotaExceededException.QuotaReason, StringComparison.Ordinal) == true;
                throw new QuiverException(
                    memory ? QuiverErrorCode.Capacity : QuiverErrorCode.Unavailable,
                    $"index '{failed.IndexName}' of '{collection}' failed to build: {failed.FailReason}");
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Counts of index builds and loads, for tests and health reports.</summary>
    public IndexStatistics GetIndexStatistics(string collection, string? database = null)
    {
        var shard = Require(database, collection);
        return new IndexStatistics { Built = shard.IndexesBuilt, Loaded = shard.IndexesLoaded, PendingJobs = _host.IndexBuilds.Pending };
    }
}
