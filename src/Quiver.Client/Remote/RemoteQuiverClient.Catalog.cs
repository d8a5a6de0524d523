using Google.Protobuf;
using Quiver.Protocol.Milvus;

namespace Quiver.Client.Remote;

internal sealed partial class RemoteQuiverClient
{
    public async Task CreateDatabaseAsync(string name, CancellationToken cancellationToken = default) =>
        await InvokeAsync("CreateDatabase", o => _milvus.CreateDatabaseAsync(new CreateDatabaseRequest { DbName = name }, o), cancellationToken).ConfigureAwait(false);

    public async Task DropDatabaseAsync(string name, CancellationToken cancellationToken = default) =>
        await InvokeAsync("DropDatabase", o => _milvus.DropDatabaseAsync(new DropDatabaseRequest { DbName = name }, o), cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyList<string>> ListDatabasesAsync(CancellationToken cancellationToken = default)
    {
        var r = await InvokeAsync("ListDatabases", o => _milvus.ListDatabasesAsync(new ListDatabasesRequest(), o), r => r.Status, cancellationToken).ConfigureAwait(false);
        return [.. r.DbNames];
    }

    public async Task CreateCollectionAsync(string name, CollectionSchema schema, string? database = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var request = new CreateCollectionRequest
        {
            DbName = Db(database),
            CollectionName = name,
            Schema = SchemaConverter.ToMilvus(name, schema).ToByteString(),
            ShardsNum = 1,
            ConsistencyLevel = Protocol.Common.ConsistencyLevel.Strong,
            NumPartitions = schema.NumPartitions,
        };
        _schemas.TryRemove(CacheKey(database, name), out _);
        await InvokeAsync("CreateCollection", o => _milvus.CreateCollectionAsync(request, o), cancellationToken).ConfigureAwait(false);
    }

    public async Task DropCollectionAsync(string name, string? database = null, CancellationToken cancellationToken = default)
    {
        _schemas.TryRemove(CacheKey(database, name), out _);
        var request = new DropCollectionRequest { DbName = Db(database), CollectionName = name };
        await InvokeAsync("DropCollection", o => _milvus.DropCollectionAsync(request, o), cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> HasCollectionAsync(string name, string? database = null, CancellationToken cancellationToken = default)
    {
        var request = new HasCollectionRequest { DbName = Db(database), CollectionName = name };
        var r = await InvokeAsync("HasCollection", o => _milvus.HasCollectionAsync(request, o), r => r.Status, cancellationToken).ConfigureAwait(false);
        return r.Value;
    }

    public async Task<IReadOnlyList<string>> ListCollectionsAsync(string? database = null, CancellationToken cancellationToken = default)
    {
        var request = new ShowCollectionsRequest { DbName = Db(database) };
        var r = await InvokeAsync("ShowCollections", o => _milvus.ShowCollectionsAsync(request, o), r => r.Status, cancellationToken).ConfigureAwait(false);
        return [.. r.CollectionNames];
    }

    public async Task<CollectionInfo> DescribeCollectionAsync(string name, string? database = null, CancellationToken cancellationToken = default)
    {
        var (response, cached) = await DescribeAsync(name, database, cancellationToken).ConfigureAwait(false);
        var partitions = await ListPartitionsAsync(name, database, cancellationToken).ConfigureAwait(false);
        var statsRequest = new GetCollectionStatisticsRequest { DbName = Db(database), CollectionName = name };
        var stats = await InvokeAsync("GetCollectionStatistics", o => _milvus.GetCollectionStatisticsAsync(statsRequest, o), r => r.Status, cancellationToken)
            .ConfigureAwait(false);
        var rowCount = stats.Stats.FirstOrDefault(s => s.Key == "row_count") is { } rc && long.TryParse(rc.Value, out var n) ? n : 0;
        return new CollectionInfo
        {
            Name = string.IsNullOrEmpty(response.CollectionName) ? name : response.CollectionName,
            Database = string.IsNullOrEmpty(response.DbName) ? database ?? _options.Database : response.DbName,
            Id = response.CollectionID,
            Schema = cached.Schema,
            Partitions = partitions,
            CreatedTimestamp = (long)response.CreatedTimestamp,
            RowCount = rowCount,
            SealedSegments = 0,
            GrowingSegments = 0,
            Properties = response.Properties.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
        };
    }

    public async Task RenameCollectionAsync(string name, string newName, string? database = null, string? newDatabase = null, CancellationToken cancellationToken = default)
    {
        _schemas.TryRemove(CacheKey(database, name), out _);
        _schemas.TryRemove(CacheKey(newDatabase ?? database, newName), out _);
        var request = new RenameCollectionRequest { DbName = Db(database), OldName = name, NewName = newName, NewDBName = newDatabase ?? "" };
        await InvokeAsync("RenameCollection", o => _milvus.RenameCollectionAsync(request, o), cancellationToken).ConfigureAwait(false);
    }

    public async Task AlterCollectionPropertiesAsync(
        string collection, IReadOnlyDictionary<string, string> set, IReadOnlyCollection<string>? remove = null, string? database = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(set);
        var request = new AlterCollectionRequest { DbName = Db(database), CollectionName = collection };
        foreach (var (key, value) in set)
        {
            request.Properties.Add(new Protocol.Common.KeyValuePair { Key = key, Value = value });
        }

        request.DeleteKeys.AddRange(remove ?? []);
        await InvokeAsync("AlterCollection", o => _milvus.AlterCollectionAsync(request, o), cancellationToken).ConfigureAwait(false);
    }

    public async Task CreatePartitionAsync(string collection, string partition, string? database = null, CancellationToken cancellationToken = default)
    {
        var request = new CreatePartitionRequest { DbName = Db(database), CollectionName = collection, PartitionName = partition };
        await InvokeAsync("CreatePartition", o => _milvus.CreatePartitionAsync(request, o), cancellationToken).ConfigureAwait(false);
    }

    public async Task DropPartitionAsync(string collection, string partition, string? database = null, CancellationToken cancellationToken = default)
    {
        var request = new DropPartitionRequest { DbName = Db(database), CollectionName = collection, PartitionName = partition };
        await InvokeAsync("DropPartition", o => _milvus.DropPartitionAsync(request, o), cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<string>> ListPartitionsAsync(string collection, string? database = null, CancellationToken cancellationToken = default)
    {
        var request = new ShowPartitionsRequest { DbName = Db(database), CollectionName = collection };
        var r = await InvokeAsync("ShowPartitions", o => _milvus.ShowPartitionsAsync(request, o), r => r.Status, cancellationToken).ConfigureAwait(false);
        return [.. r.PartitionNames];
    }

    public async Task<bool> HasPartitionAsync(string collection, string partition, string? database = null, CancellationToken cancellationToken = default)
    {
        var request = new HasPartitionRequest { DbName = Db(database), CollectionName = collection, PartitionName = partition };
        var r = await InvokeAsync("HasPartition", o => _milvus.HasPartitionAsync(request, o), r => r.Status, cancellationToken).ConfigureAwait(false);
        return r.Value;
    }

    public async Task LoadCollectionAsync(string collection, string? database = null, CancellationToken cancellationToken = default)
    {
        var request = new LoadCollectionRequest { DbName = Db(database), CollectionName = collection };
        await InvokeAsync("LoadCollection", o => _milvus.LoadCollectionAsync(request, o), cancellationToken).ConfigureAwait(false);

        // Milvus loads in the background; wait as its SDKs' loadCollectionSync does.
        var state = new GetLoadStateRequest { DbName = Db(database), CollectionName = collection };
        while (true)
        {
            var r = await InvokeAsync("GetLoadState", o => _milvus.GetLoadStateAsync(state, o), r => r.Status, cancellationToken).ConfigureAwait(false);
            if (r.State == Protocol.Common.LoadState.Loaded)
            {
                return;
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task ReleaseCollectionAsync(string collection, string? database = null, CancellationToken cancellationToken = default)
    {
        var request = new ReleaseCollectionRequest { DbName = Db(database), CollectionName = collection };
        await InvokeAsync("ReleaseCollection", o => _milvus.ReleaseCollectionAsync(request, o), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The schema of a collection, from the cache or DescribeCollection.</summary>
    private async Task<RemoteSchema> SchemaAsync(string collection, string? database, CancellationToken cancellationToken)
    {
        if (_schemas.TryGetValue(CacheKey(database, collection), out var cached))
        {
            return cached;
        }

        return (await DescribeAsync(collection, database, cancellationToken).ConfigureAwait(false)).Schema;
    }

    /// <summary>DescribeCollection, with the schema converted and cached. Vector fields whose metric the schema does not
    /// state take it from the collection's index (DescribeIndex), as Milvus keeps it there.</summary>
    private async Task<(DescribeCollectionResponse Response, RemoteSchema Schema)> DescribeAsync(
        string collection, string? database, CancellationToken cancellationToken)
    {
        var request = new DescribeCollectionRequest { DbName = Db(database), CollectionName = collection };
        var response = await InvokeAsync("DescribeCollection", o => _milvus.DescribeCollectionAsync(request, o), r => r.Status, cancellationToken)
            .ConfigureAwait(false);
        var stated = response.Schema.Fields.Where(SchemaConverter.StatesMetric).Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        Dictionary<string, MetricType>? indexMetrics = null;
        if (response.Schema.Fields.Any(f => f.DataType is >= Protocol.Schema.DataType.BinaryVector and <= Protocol.Schema.DataType.Int8Vector && !stated.Contains(f.Name)))
        {
            indexMetrics = [];
            foreach (var index in await DescribeIndexMessagesAsync(collection, database, cancellationToken).ConfigureAwait(false))
            {
                if (index.Params.FirstOrDefault(p => p.Key == SchemaConverter.MetricKey) is { } metric)
                {
                    indexMetrics[index.FieldName] = SchemaConverter.ParseMetric(metric.Value);
                    stated.Add(index.FieldName);
                }
            }
        }

        var schema = new RemoteSchema(SchemaConverter.FromMilvus(response.Schema, indexMetrics, response.NumPartitions), stated);
        _schemas[CacheKey(database, collection)] = schema;
        return (response, schema);
    }
}
