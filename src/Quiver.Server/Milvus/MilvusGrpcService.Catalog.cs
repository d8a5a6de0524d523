using System.Globalization;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Protocol.Common;
using Quiver.Protocol.Milvus;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using Status = Quiver.Protocol.Common.Status;

namespace Quiver.Server.Milvus;

/// <summary>Databases, collections, partitions, aliases, load state and flush (docs/server-catalog.md).</summary>
internal sealed partial class MilvusGrpcService
{
    /// <summary>Collection property that keeps the consistency level given at creation.</summary>
    internal const string ConsistencyProperty = "quiver.consistency_level";

    private LoadStates Loads => Services.GetRequiredService<LoadStates>();

    // ---- Databases ----

    /// <inheritdoc />
    public override async Task<Status> CreateDatabase(CreateDatabaseRequest request, ServerCallContext context)
    {
        // Properties the engine checks are checked before the database exists, so a refused one creates nothing.
        if (request.Properties.FirstOrDefault(p => p.Key == Timestamptz.TimezoneProperty) is { } zone)
        {
            _ = Timestamptz.RequireZone(zone.Value);
        }

        await _engine.CreateDatabaseAsync(request.DbName, context.CancellationToken).ConfigureAwait(false);
        if (request.Properties.Count > 0)
        {
            await _engine.AlterDatabasePropertiesAsync(request.DbName, ToDictionary(request.Properties), null, context.CancellationToken).ConfigureAwait(false);
        }

        return MilvusStatus.Ok();
    }

    /// <inheritdoc />
    public override async Task<Status> DropDatabase(DropDatabaseRequest request, ServerCallContext context)
    {
        await RequireDatabaseAsync(request.DbName, context).ConfigureAwait(false);
        await _engine.DropDatabaseAsync(request.DbName, context.CancellationToken).ConfigureAwait(false);
        return MilvusStatus.Ok();
    }

    /// <inheritdoc />
    public override async Task<ListDatabasesResponse> ListDatabases(ListDatabasesRequest request, ServerCallContext context)
    {
        var response = new ListDatabasesResponse { Status = MilvusStatus.Ok() };
        foreach (var name in await _engine.ListDatabasesAsync(context.CancellationToken).ConfigureAwait(false))
        {
            var db = await _engine.DescribeDatabaseAsync(name, context.CancellationToken).ConfigureAwait(false);
            response.DbNames.Add(db.Name);
            response.DbIds.Add(db.Id);
            response.CreatedTimestamp.Add((ulong)db.CreatedTimestamp);
        }

        return response;
    }

    /// <inheritdoc />
    public override async Task<DescribeDatabaseResponse> DescribeDatabase(DescribeDatabaseRequest request, ServerCallContext context)
    {
        var name = Database(request.DbName, context);
        await RequireDatabaseAsync(name, context).ConfigureAwait(false);
        var db = await _engine.DescribeDatabaseAsync(name, context.CancellationToken).ConfigureAwait(false);
        var response = new DescribeDatabaseResponse { Status = MilvusStatus.Ok(), DbName = db.Name, DbID = db.Id, CreatedTimestamp = (ulong)db.CreatedTimestamp };
        response.Properties.AddRange(ToPairs(db.Properties));
        return response;
    }

    /// <inheritdoc />
    public override async Task<Status> AlterDatabase(AlterDatabaseRequest request, ServerCallContext context)
    {
        var name = Database(request.DbName, context);
        await RequireDatabaseAsync(name, context).ConfigureAwait(false);
        await _engine.AlterDatabasePropertiesAsync(name, ToDictionary(request.Properties), [.. request.DeleteKeys], context.CancellationToken)
            .ConfigureAwait(false);
        return MilvusStatus.Ok();
    }

    // ---- Collections ----

    /// <inheritdoc />
    public override async Task<Status> CreateCollection(CreateCollectionRequest request, ServerCallContext context)
    {
        var db = Database(request.DbName, context);
        await RequireDatabaseAsync(db, context).ConfigureAwait(false);
        var properties = ToDictionary(request.Properties);
        // The new collection's zone reads TIMESTAMPTZ defaults without an offset: its own timezone, else its database's.
        var zoneName = properties.TryGetValue(Timestamptz.TimezoneProperty, out var own) ? own
            : (await _engine.DescribeDatabaseAsync(db, context.CancellationToken).ConfigureAwait(false)).Properties.GetValueOrDefault(Timestamptz.TimezoneProperty);
        var zone = zoneName is null ? null : Timestamptz.RequireZone(zoneName);
        var schema = SchemaConversion.FromProto(request.Schema, request.CollectionName, zone);

        // num_partitions (partition keys): out-of-range values reach the engine's check clamped, never wrapped.
        schema = schema with { NumPartitions = (int)Math.Clamp(request.NumPartitions, -1, int.MaxValue) };
        QuiverEngine.CheckCollectionProperties(properties, schema);
        await _engine.CreateCollectionAsync(request.CollectionName, schema, db, context.CancellationToken).ConfigureAwait(false);
        properties[ConsistencyProperty] = request.ConsistencyLevel.ToString();
        await _engine.AlterCollectionPropertiesAsync(request.CollectionName, properties, null, db, context.CancellationToken).ConfigureAwait(false);
        return MilvusStatus.Ok();
    }

    /// <inheritdoc />
    public override async Task<DescribeCollectionResponse> DescribeCollection(DescribeCollectionRequest request, ServerCallContext context)
    {
        var db = Database(request.DbName, context);
        if (request.CollectionID != 0 && string.IsNullOrEmpty(request.CollectionName))
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, "describe collection by collectionID alone is not supported; give collection_name");
        }

        var target = Loads.Require(db, request.CollectionName);

        var info = await _engine.DescribeCollectionAsync(target.Name, target.Database, context.CancellationToken).ConfigureAwait(false);
        var response = new DescribeCollectionResponse
        {
            Status = MilvusStatus.Ok(),
            Schema = SchemaConversion.ToProto(info.Name, info.Schema, info.Database, DescribedZone(info.Properties)),
            CollectionID = info.Id,
            CollectionName = info.Name,
            DbName = info.Database,
            CreatedTimestamp = (ulong)info.CreatedTimestamp,
            CreatedUtcTimestamp = (ulong)PhysicalMilliseconds(info.CreatedTimestamp),
            ShardsNum = 1,
            NumPartitions = info.Partitions.Count,
            ConsistencyLevel = ConsistencyOf(info.Properties),
        };
        response.VirtualChannelNames.Add($"quiver-{info.Id}-v0");
        response.PhysicalChannelNames.Add($"quiver-{info.Id}");
        response.Aliases.AddRange(info.Aliases);
        response.Properties.AddRange(ToPairs(info.Properties.Where(p => p.Key != ConsistencyProperty)));
        return response;
    }

    /// <summary>The zone a description writes TIMESTAMPTZ defaults in: the collection's <c>timezone</c> (null for UTC, or
    /// for a name no longer known, which the reads refuse on their own).</summary>
    private static TimeZoneInfo? DescribedZone(IReadOnlyDictionary<string, string> properties) =>
        properties.TryGetValue(Timestamptz.TimezoneProperty, out var name) ? Timestamptz.FindZone(name, out _) : null;

    /// <inheritdoc />
    public override async Task<BoolResponse> HasCollection(HasCollectionRequest request, ServerCallContext context)
    {
        var db = Database(request.DbName, context);
        await RequireDatabaseAsync(db, context).ConfigureAwait(false);
        var exists = await _engine.HasCollectionAsync(request.CollectionName, db, context.CancellationToken).ConfigureAwait(false);
        return new BoolResponse { Status = MilvusStatus.Ok(), Value = exists };
    }

    /// <inheritdoc />
    public override async Task<ShowCollectionsResponse> ShowCollections(ShowCollectionsRequest request, ServerCallContext context)
    {
        var db = Database(request.DbName, context);
        await RequireDatabaseAsync(db, context).ConfigureAwait(false);
        var response = new ShowCollectionsResponse { Status = MilvusStatus.Ok() };
#pragma warning disable CS0612 // deprecated in the protocol, still sent by older SDKs
        IReadOnlyList<string> requested = [.. request.CollectionNames];
#pragma warning restore CS0612
        var names = requested.Count > 0
            ? requested
            : await _engine.ListCollectionsAsync(db, context.CancellationToken).ConfigureAwait(false);
        foreach (var name in names)
        {
            var target = Loads.Require(db, name);
            var loaded = Loads.IsLoaded(target.Id);
            if (request.Type == ShowType.InMemory && !loaded)
            {
                continue;
            }

            var info = await _engine.DescribeCollectionAsync(target.Name, db, context.CancellationToken).ConfigureAwait(false);
            response.CollectionNames.Add(info.Name);
            response.CollectionIds.Add(info.Id);
            response.CreatedTimestamps.Add((ulong)info.CreatedTimestamp);
            response.CreatedUtcTimestamps.Add((ulong)PhysicalMilliseconds(info.CreatedTimestamp));
#pragma warning disable CS0612 // deprecated in the protocol, still read by SDKs
            response.InMemoryPercentages.Add(loaded ? 100 : 0);
#pragma warning restore CS0612
            response.QueryServiceAvailable.Add(loaded);
            response.ShardsNum.Add(1);
        }

        return response;
    }

    /// <inheritdoc />
    public override async Task<Status> DropCollection(DropCollectionRequest request, ServerCallContext context)
    {
        var db = Database(request.DbName, context);
        var target = Loads.Require(db, request.CollectionName);
        await _engine.DropCollectionAsync(request.CollectionName, db, context.CancellationToken).ConfigureAwait(false);
        Loads.Forget(target.Id);
        return MilvusStatus.Ok();
    }

    /// <inheritdoc />
    public override async Task<Status> RenameCollection(RenameCollectionRequest request, ServerCallContext context)
    {
        var db = Database(request.DbName, context);
        Loads.Require(db, request.OldName);
        var newDb = string.IsNullOrEmpty(request.NewDBName) ? db : request.NewDBName;
        await RequireDatabaseAsync(newDb, context).ConfigureAwait(false);
        await _engine.RenameCollectionAsync(request.OldName, request.NewName, db, newDb, context.CancellationToken).ConfigureAwait(false);
        return MilvusStatus.Ok();
    }

    /// <inheritdoc />
    public override async Task<Status> AlterCollection(AlterCollectionRequest request, ServerCallContext context)
    {
        var target = Loads.Require(Database(request.DbName, context), request.CollectionName);
        await _engine.AlterCollectionPropertiesAsync(
            target.Name, ToDictionary(request.Properties), [.. request.DeleteKeys], target.Database, context.CancellationToken).ConfigureAwait(false);
        return MilvusStatus.Ok();
    }

    /// <inheritdoc />
    public override async Task<GetCollectionStatisticsResponse> GetCollectionStatistics(GetCollectionStatisticsRequest request, ServerCallContext context)
    {
        var target = Loads.Require(Database(request.DbName, context), request.CollectionName);
        var info = await _engine.DescribeCollectionAsync(target.Name, target.Database, context.CancellationToken).ConfigureAwait(false);
        var response = new GetCollectionStatisticsResponse { Status = MilvusStatus.Ok() };
        response.Stats.Add(new KeyValuePair { Key = "row_count", Value = info.RowCount.ToString(CultureInfo.InvariantCulture) });
        return response;
    }

    // ---- Load state ----

    /// <inheritdoc />
    /// <remarks>Milvus refuses to load a collection whose vector fields have no index; Quiver loads it, and searches
    /// segments without an index exactly (docs/server-catalog.md).</remarks>
    public override Task<Status> LoadCollection(LoadCollectionRequest request, ServerCallContext context)
    {
        var target = Loads.Require(Database(request.DbName, context), request.CollectionName);
        Loads.Load(target.Id, null);
        return Task.FromResult(MilvusStatus.Ok());
    }

    /// <inheritdoc />
    public override Task<Status> ReleaseCollection(ReleaseCollectionRequest request, ServerCallContext context)
    {
        var target = Loads.Require(Database(request.DbName, context), request.CollectionName);
        Loads.Release(target.Id, null, []);
        return Task.FromResult(MilvusStatus.Ok());
    }

    /// <inheritdoc />
    public override async Task<Status> LoadPartitions(LoadPartitionsRequest request, ServerCallContext context)
    {
        var target = Loads.Require(Database(request.DbName, context), request.CollectionName);
        RefuseInPartitionKeyMode(target, "load partitions");
        await RequirePartitionsAsync(target, request.PartitionNames, context).ConfigureAwait(false);
        if (request.PartitionNames.Count == 0)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, "load partitions: partition_names is empty");
        }

        Loads.Load(target.Id, [.. request.PartitionNames]);
        return MilvusStatus.Ok();
    }

    /// <inheritdoc />
    public override async Task<Status> ReleasePartitions(ReleasePartitionsRequest request, ServerCallContext context)
    {
        var target = Loads.Require(Database(request.DbName, context), request.CollectionName);
        RefuseInPartitionKeyMode(target, "release partitions");
        var all = await RequirePartitionsAsync(target, request.PartitionNames, context).ConfigureAwait(false);
        if (request.PartitionNames.Count == 0)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, "release partitions: partition_names is empty");
        }

        Loads.Release(target.Id, [.. request.PartitionNames], all);
        return MilvusStatus.Ok();
    }

    /// <inheritdoc />
    public override async Task<GetLoadStateResponse> GetLoadState(GetLoadStateRequest request, ServerCallContext context)
    {
        var target = Loads.Require(Database(request.DbName, context), request.CollectionName);
        await RequirePartitionsAsync(target, request.PartitionNames, context).ConfigureAwait(false);
        return new GetLoadStateResponse { Status = MilvusStatus.Ok(), State = Loads.StateOf(target.Id, request.PartitionNames) };
    }

    /// <inheritdoc />
    public override async Task<GetLoadingProgressResponse> GetLoadingProgress(GetLoadingProgressRequest request, ServerCallContext context)
    {
        var target = Loads.Require(Database(request.DbName, context), request.CollectionName);
        await RequirePartitionsAsync(target, request.PartitionNames, context).ConfigureAwait(false);
        if (Loads.StateOf(target.Id, request.PartitionNames) != LoadState.Loaded)
        {
            throw new MilvusException(MilvusCode.CollectionNotLoaded, $"collection not loaded[collection={target.Name}]");
        }

        // Loading is immediate: the engine serves every collection it has open.
        return new GetLoadingProgressResponse { Status = MilvusStatus.Ok(), Progress = 100, RefreshProgress = 100 };
    }

    // ---- Partitions ----

    /// <inheritdoc />
    public override async Task<Status> CreatePartition(CreatePartitionRequest request, ServerCallContext context)
    {
        var target = Loads.Require(Database(request.DbName, context), request.CollectionName);
        await _engine.CreatePartitionAsync(target.Name, request.PartitionName, target.Database, context.CancellationToken).ConfigureAwait(false);
        return MilvusStatus.Ok();
    }

    /// <inheritdoc />
    public override async Task<Status> DropPartition(DropPartitionRequest request, ServerCallContext context)
    {
        var target = Loads.Require(Database(request.DbName, context), request.CollectionName);
        await RequirePartitionsAsync(target, [request.PartitionName], context).ConfigureAwait(false);
        await _engine.DropPartitionAsync(target.Name, request.PartitionName, target.Database, context.CancellationToken).ConfigureAwait(false);
        Loads.Forget(target.Id, request.PartitionName);
        return MilvusStatus.Ok();
    }

    /// <inheritdoc />
    public override async Task<BoolResponse> HasPartition(HasPartitionRequest request, ServerCallContext context)
    {
        var target = Loads.Require(Database(request.DbName, context), request.CollectionName);
        var exists = await _engine.HasPartitionAsync(target.Name, request.PartitionName, target.Database, context.CancellationToken).ConfigureAwait(false);
        return new BoolResponse { Status = MilvusStatus.Ok(), Value = exists };
    }

    /// <inheritdoc />
    public override async Task<ShowPartitionsResponse> ShowPartitions(ShowPartitionsRequest request, ServerCallContext context)
    {
        var target = Loads.Require(Database(request.DbName, context), request.CollectionName);
        var all = (await RequirePartitionsAsync(target, request.PartitionNames, context).ConfigureAwait(false)).ToList();
        var info = await _engine.DescribeCollectionAsync(target.Name, target.Database, context.CancellationToken).ConfigureAwait(false);
        var response = new ShowPartitionsResponse { Status = MilvusStatus.Ok() };
        foreach (var name in request.PartitionNames.Count > 0 ? [.. request.PartitionNames] : all)
        {
            response.PartitionNames.Add(name);
            // Partition ids are not exposed by the engine: a stable id derived from the collection and position.
            response.PartitionIDs.Add((info.Id * 1_000_000) + all.IndexOf(name));
            response.CreatedTimestamps.Add((ulong)info.CreatedTimestamp);
            response.CreatedUtcTimestamps.Add((ulong)PhysicalMilliseconds(info.CreatedTimestamp));
#pragma warning disable CS0612 // deprecated in the protocol, still read by SDKs
            response.InMemoryPercentages.Add(Loads.StateOf(target.Id, [name]) == LoadState.Loaded ? 100 : 0);
#pragma warning restore CS0612
        }

        return response;
    }

    /// <inheritdoc />
    public override async Task<GetPartitionStatisticsResponse> GetPartitionStatistics(GetPartitionStatisticsRequest request, ServerCallContext context)
    {
        var target = Loads.Require(Database(request.DbName, context), request.CollectionName);
        await RequirePartitionsAsync(target, [request.PartitionName], context).ConfigureAwait(false);
        var rows = await _engine.QueryAsync(
            target.Name, new QueryRequest { OutputFields = ["count(*)"], Partitions = [request.PartitionName] }, target.Database, context.CancellationToken)
            .ConfigureAwait(false);
        var count = rows.Count > 0 && rows[0].TryGetValue("count(*)", out var c) ? Convert.ToInt64(c, CultureInfo.InvariantCulture) : 0;
        var response = new GetPartitionStatisticsResponse { Status = MilvusStatus.Ok() };
        response.Stats.Add(new KeyValuePair { Key = "row_count", Value = count.ToString(CultureInfo.InvariantCulture) });
        return response;
    }

    // ---- Aliases ----

    /// <inheritdoc />
    public override async Task<Status> CreateAlias(CreateAliasRequest request, ServerCallContext context)
    {
        var db = Database(request.DbName, context);
        RefuseAliasConflict(db, request.Alias);
        Loads.Require(db, request.CollectionName);
        try
        {
            await _engine.CreateAliasAsync(request.CollectionName, request.Alias, db, context.CancellationToken).ConfigureAwait(false);
        }
        catch (QuiverException e) when (e.Code == QuiverErrorCode.AlreadyExists)
        {
            throw new MilvusException(MilvusCode.AliasAlreadyExists, e.Message);
        }

        return MilvusStatus.Ok();
    }

    /// <inheritdoc />
    public override async Task<Status> AlterAlias(AlterAliasRequest request, ServerCallContext context)
    {
        var db = Database(request.DbName, context);
        RefuseAliasConflict(db, request.Alias);
        Loads.Require(db, request.CollectionName);
        await AliasCallAsync(() => _engine.AlterAliasAsync(request.CollectionName, request.Alias, db, context.CancellationToken)).ConfigureAwait(false);
        return MilvusStatus.Ok();
    }

    /// <inheritdoc />
    public override async Task<Status> DropAlias(DropAliasRequest request, ServerCallContext context)
    {
        var db = Database(request.DbName, context);
        await RequireDatabaseAsync(db, context).ConfigureAwait(false);
        await AliasCallAsync(() => _engine.DropAliasAsync(request.Alias, db, context.CancellationToken)).ConfigureAwait(false);
        return MilvusStatus.Ok();
    }

    /// <inheritdoc />
    public override async Task<DescribeAliasResponse> DescribeAlias(DescribeAliasRequest request, ServerCallContext context)
    {
        var db = Database(request.DbName, context);
        await RequireDatabaseAsync(db, context).ConfigureAwait(false);
        var collection = "";
        await AliasCallAsync(async () => collection = await _engine.DescribeAliasAsync(request.Alias, db, context.CancellationToken).ConfigureAwait(false))
            .ConfigureAwait(false);
        return new DescribeAliasResponse { Status = MilvusStatus.Ok(), DbName = db, Alias = request.Alias, Collection = collection };
    }

    /// <inheritdoc />
    public override async Task<ListAliasesResponse> ListAliases(ListAliasesRequest request, ServerCallContext context)
    {
        var db = Database(request.DbName, context);
        await RequireDatabaseAsync(db, context).ConfigureAwait(false);
        var collection = request.CollectionName;
        if (!string.IsNullOrEmpty(collection))
        {
            collection = Loads.Require(db, collection).Name;
        }

        var aliases = await _engine.ListAliasesAsync(collection, db, context.CancellationToken).ConfigureAwait(false);
        var response = new ListAliasesResponse { Status = MilvusStatus.Ok(), DbName = db, CollectionName = collection };
        response.Aliases.AddRange(aliases);
        return response;
    }

    // ---- Flush ----

    /// <inheritdoc />
    public override async Task<FlushResponse> Flush(FlushRequest request, ServerCallContext context)
    {
        var db = Database(request.DbName, context);
        var response = new FlushResponse { Status = MilvusStatus.Ok(), DbName = db };
        foreach (var name in request.CollectionNames)
        {
            var target = Loads.Require(db, name);
            await _engine.FlushAsync(target.Name, target.Database, context.CancellationToken).ConfigureAwait(false);
            // Flush is synchronous here: once it returns every growing segment is sealed, so there is nothing to wait
            // for. The segment id lists stay empty and the flush timestamp is "now"; GetFlushState answers flushed.
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            response.CollSegIDs[name] = new Protocol.Schema.LongArray();
            response.FlushCollSegIDs[name] = new Protocol.Schema.LongArray();
            response.CollSealTimes[name] = now / 1000;
            response.CollFlushTs[name] = (ulong)(now << 18);
        }

        return response;
    }

    /// <inheritdoc />
    public override Task<GetFlushStateResponse> GetFlushState(GetFlushStateRequest request, ServerCallContext context)
    {
        if (!string.IsNullOrEmpty(request.CollectionName))
        {
            Loads.Require(Database(request.DbName, context), request.CollectionName);
        }

        return Task.FromResult(new GetFlushStateResponse { Status = MilvusStatus.Ok(), Flushed = true });
    }

    // ---- Helpers ----

    private async Task RequireDatabaseAsync(string name, ServerCallContext context)
    {
        if (!(await _engine.ListDatabasesAsync(context.CancellationToken).ConfigureAwait(false)).Contains(name))
        {
            throw new MilvusException(MilvusCode.DatabaseNotFound, $"database not found[database={name}]");
        }
    }

    /// <summary>The collection's partitions; Milvus's "partition not found" (200) for the first of
    /// <paramref name="names"/> it lacks.</summary>
    private async Task<IReadOnlyList<string>> RequirePartitionsAsync(CollectionRef target, IEnumerable<string> names, ServerCallContext context)
    {
        var all = await _engine.ListPartitionsAsync(target.Name, target.Database, context.CancellationToken).ConfigureAwait(false);
        foreach (var name in names)
        {
            if (!all.Contains(name))
            {
                throw new MilvusException(MilvusCode.PartitionNotFound, $"partition not found[partition={name}]");
            }
        }

        return all;
    }

    private void RefuseAliasConflict(string db, string alias)
    {
        if (_engine.ResolveCollection(alias, db) is { } existing && existing.Name == alias)
        {
            throw new MilvusException(MilvusCode.AliasCollectionNameConflict, $"alias '{alias}' conflicts with the collection of that name in database '{db}'");
        }
    }

    private static async Task AliasCallAsync(Func<Task> call)
    {
        try
        {
            await call().ConfigureAwait(false);
        }
        catch (QuiverException e) when (e.Code == QuiverErrorCode.NotFound && e.Message.StartsWith("alias", StringComparison.Ordinal))
        {
            throw new MilvusException(MilvusCode.AliasNotFound, e.Message);
        }
    }

    private static Protocol.Common.ConsistencyLevel ConsistencyOf(IReadOnlyDictionary<string, string> properties) =>
        properties.TryGetValue(ConsistencyProperty, out var text) && Enum.TryParse<Protocol.Common.ConsistencyLevel>(text, out var level)
            ? level
            : Protocol.Common.ConsistencyLevel.Bounded;

    /// <summary>Milliseconds since the Unix epoch of a hybrid timestamp (physical part shifted left 18 bits).</summary>
    private static long PhysicalMilliseconds(long hybrid) => hybrid >> 18;

    private static Dictionary<string, string> ToDictionary(IEnumerable<KeyValuePair> pairs)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in pairs)
        {
            result[p.Key] = p.Value;
        }

        return result;
    }

    private static IEnumerable<KeyValuePair> ToPairs(IEnumerable<System.Collections.Generic.KeyValuePair<string, string>> values) =>
        values.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new KeyValuePair { Key = p.Key, Value = p.Value });
}
