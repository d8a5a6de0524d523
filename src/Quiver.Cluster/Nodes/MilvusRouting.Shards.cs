using System.Globalization;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Quiver.Protocol.Milvus;
using MilvusMutation = global::Quiver.Protocol.Milvus.MutationResult;
using MilvusQuery = global::Quiver.Protocol.Milvus.QueryRequest;
using MilvusSearch = global::Quiver.Protocol.Milvus.SearchRequest;
using Quiver.Server.Milvus;
using Quiver.Server.Milvus.Data;
using ProtoKeyValuePair = global::Quiver.Protocol.Common.KeyValuePair;
using ProtoIndexState = global::Quiver.Protocol.Common.IndexState;
using ProtoStatus = global::Quiver.Protocol.Common.Status;
using EngineSchema = Quiver.CollectionSchema;

namespace Quiver.Cluster.Nodes;

/// <summary>The access layer for a collection with several shards (<c>shards_num</c> &gt; 1 at create): rows are routed
/// by primary-key hash (<see cref="ShardKeys.ShardOf"/>) to the shard grains, each of which holds the same collection
/// (schema, partitions, indexes) in its own engine over its own log; the collection's changes go to every shard;
/// searches and queries go to every shard and their answers are merged (<see cref="ShardMerge"/>). Shard 0 answers the
/// collection's description.</summary>
internal sealed partial class MilvusRouting
{
    /// <summary>Calls that change the collection itself: sent to every shard, answered by the first failure or shard 0.</summary>
    private static readonly HashSet<string> EveryShard = new(StringComparer.Ordinal)
    {
        "DropCollection", "AlterCollection", "AlterCollectionField", "AddCollectionField", "AlterCollectionSchema",
        "LoadCollection", "ReleaseCollection", "LoadPartitions", "ReleasePartitions", "CreatePartition", "DropPartition",
        "CreateIndex", "DropIndex", "AlterIndex", "Flush", "CreateAlias",
    };

    /// <summary>Reads that every shard answers the same (they hold the same schema and partitions): shard 0 answers.</summary>
    private static readonly HashSet<string> ShardZero = new(StringComparer.Ordinal)
    {
        "DescribeCollection", "HasCollection", "ShowPartitions", "HasPartition", "GetReplicas", "RunAnalyzer", "ListAliases",
    };

    /// <summary>The refusal of a call a node does not serve on a collection with several shards (docs/errors.md,
    /// <c>cluster-sharded-not-served</c>): Milvus code 10 naming the call and why.</summary>
    internal static byte[] ShardedNotServed(MethodDescriptor method, string what) =>
        StatusAnswer(method, MilvusCode.Unimplemented, $"{what} is not served on a collection with several shards by a Quiver cluster node yet (docs/cluster.md)");

    /// <summary>The refusal of a <c>shards_num</c> above <see cref="CollectionCatalog.MaxShards"/> (docs/errors.md,
    /// <c>cluster-shards-num-invalid</c>), in Milvus's words.</summary>
    internal static byte[] TooManyShards(MethodDescriptor method, int asked) =>
        StatusAnswer(method, MilvusCode.ParameterInvalid, $"maximum shards's number should be limited to {CollectionCatalog.MaxShards}, got {asked}");

    /// <summary>Creates a collection in <paramref name="shards"/> shards: shard 0 first (its answer is the standalone
    /// server's: a bad schema, a name taken), then the others; if one of them refuses, the shards that created it drop it
    /// again and the refusal is the answer, so the catalog never names a collection some shard lacks.</summary>
    private async Task<byte[]> CreateShardedAsync(MethodDescriptor method, CreateCollectionRequest parsed, byte[] request, string database, string collection, int shards, string id, CancellationToken ct)
    {
        EngineSchema schema;
        try
        {
            schema = SchemaConversion.FromProto(parsed.Schema, collection);
        }
        catch (MilvusException)
        {
            // The standalone server's own refusal of the schema, word for word.
            return await InvokeAsync(ShardKeys.Of(database, collection), method, request, database, ct).ConfigureAwait(false);
        }

        var first = await InvokeAsync(ShardKeys.Of(database, collection, 0), method, request, database, ct).ConfigureAwait(false);
        if (!Succeeded(first))
        {
            return first;
        }

        var rest = await Task.WhenAll(Enumerable.Range(1, shards - 1).Select(s => InvokeAsync(ShardKeys.Of(database, collection, s), method, request, database, ct))).ConfigureAwait(false);
        if (rest.FirstOrDefault(r => !Succeeded(r)) is { } refused)
        {
            var drop = DropCollectionRequest.Parser.ParseFrom(ByteString.Empty);
            drop.DbName = database;
            drop.CollectionName = collection;
            var dropMethod = MilvusService.Descriptor.FindMethodByName("DropCollection");
            var created = Enumerable.Range(0, shards).Where(s => s == 0 || Succeeded(rest[s - 1]));
            await Task.WhenAll(created.Select(s => InvokeAsync(ShardKeys.Of(database, collection, s), dropMethod, drop.ToByteArray(), database, ct))).ConfigureAwait(false);
            return refused;
        }

        return await RecordCreateAsync(database, collection, shards, id, ct).ConfigureAwait(false) is { } lost ? Refusal(method, lost) : first;
    }

    /// <summary>Records a collection every one of whose <paramref name="shards"/> shards created it under storage id
    /// <paramref name="id"/> in the catalog; null when recorded. When another node's create of the same name was
    /// recorded first (the catalog's key is create-only), this one's shards drop it again and free its storage, so only
    /// the collection the catalog names exists, and the refusal to answer is the standalone server's to the second of two
    /// creates of one name: the collection already exists.</summary>
    internal async Task<QuiverException?> RecordCreateAsync(string database, string collection, int shards, string id, CancellationToken ct)
    {
        if (BeforeRecordCreate is { } hold)
        {
            await hold(database, collection, id).ConfigureAwait(false);
        }

        if (await node.Catalog.AddAsync(database, collection, shards, ct, id).ConfigureAwait(false))
        {
            return null;
        }

        var drop = new DropCollectionRequest { DbName = database, CollectionName = collection }.ToByteArray();
        var dropMethod = MilvusService.Descriptor.FindMethodByName("DropCollection");
        await Task.WhenAll(Enumerable.Range(0, shards).Select(s => InvokeAsync(ShardKeys.Of(database, collection, s), dropMethod, drop, database, ct))).ConfigureAwait(false);
        await ShardStorage.ForgetAsync(grains, database, collection, shards).ConfigureAwait(false);
        return new QuiverException(QuiverErrorCode.AlreadyExists, $"collection '{collection}' already exists in database '{database}'");
    }

    /// <summary>Runs <paramref name="method"/> on a collection of <paramref name="shards"/> shards; <paramref name="message"/>
    /// is <paramref name="request"/> parsed.</summary>
    private async Task<byte[]> ShardedAsync(MethodDescriptor method, byte[] request, IMessage message, string database, string collection, int shards, CancellationToken ct)
    {
        try
        {
            return method.Name switch
            {
                "Insert" => await SplitWriteAsync(method, message, database, collection, shards, upsert: false, ct).ConfigureAwait(false),
                "Upsert" => await SplitWriteAsync(method, message, database, collection, shards, upsert: true, ct).ConfigureAwait(false),
                "Search" => await SearchShardsAsync(method, (MilvusSearch)message, request, database, collection, shards, ct).ConfigureAwait(false),
                "Query" => await QueryShardsAsync(method, (MilvusQuery)message, database, collection, shards, ct).ConfigureAwait(false),
                "Delete" => await MergeAsync(method, request, database, collection, shards, ct, a => ShardMerge.Delete([.. a.Select(MilvusMutation.Parser.ParseFrom)]).ToByteArray()).ConfigureAwait(false),
                "GetCollectionStatistics" => await MergeAsync(method, request, database, collection, shards, ct, a => SumStats(a.Select(GetCollectionStatisticsResponse.Parser.ParseFrom).Select(r => r.Stats), new GetCollectionStatisticsResponse { Status = new ProtoStatus() }, r => r.Stats)).ConfigureAwait(false),
                "GetPartitionStatistics" => await MergeAsync(method, request, database, collection, shards, ct, a => SumStats(a.Select(GetPartitionStatisticsResponse.Parser.ParseFrom).Select(r => r.Stats), new GetPartitionStatisticsResponse { Status = new ProtoStatus() }, r => r.Stats)).ConfigureAwait(false),
                "GetLoadState" => await MergeAsync(method, request, database, collection, shards, ct, a => new GetLoadStateResponse { Status = new ProtoStatus(), State = a.Select(b => GetLoadStateResponse.Parser.ParseFrom(b).State).Min() }.ToByteArray()).ConfigureAwait(false),
                "GetLoadingProgress" => await MergeAsync(method, request, database, collection, shards, ct, a =>
                {
                    var each = a.Select(GetLoadingProgressResponse.Parser.ParseFrom).ToList();
                    return new GetLoadingProgressResponse { Status = new ProtoStatus(), Progress = each.Min(r => r.Progress), RefreshProgress = each.Min(r => r.RefreshProgress) }.ToByteArray();
                }).ConfigureAwait(false),
                "GetIndexBuildProgress" => await MergeAsync(method, request, database, collection, shards, ct, a =>
                {
                    var each = a.Select(GetIndexBuildProgressResponse.Parser.ParseFrom).ToList();
                    return new GetIndexBuildProgressResponse { Status = new ProtoStatus(), IndexedRows = each.Sum(r => r.IndexedRows), TotalRows = each.Sum(r => r.TotalRows) }.ToByteArray();
                }).ConfigureAwait(false),
                "GetIndexState" => await MergeAsync(method, request, database, collection, shards, ct, a =>
                {
                    var each = a.Select(GetIndexStateResponse.Parser.ParseFrom).ToList();
                    return new GetIndexStateResponse { Status = new ProtoStatus(), State = IndexStateOf(each.Select(r => r.State)), FailReason = each.FirstOrDefault(r => r.FailReason.Length > 0)?.FailReason ?? "" }.ToByteArray();
                }).ConfigureAwait(false),
                "DescribeIndex" => await MergeAsync(method, request, database, collection, shards, ct, DescribeIndexes).ConfigureAwait(false),
                "GetFlushState" => await MergeAsync(method, request, database, collection, shards, ct, a => new GetFlushStateResponse { Status = new ProtoStatus(), Flushed = a.All(b => GetFlushStateResponse.Parser.ParseFrom(b).Flushed) }.ToByteArray()).ConfigureAwait(false),
                "DescribeCollection" => ShardsOf(await InvokeAsync(ShardKeys.Of(database, collection), method, request, database, ct).ConfigureAwait(false), shards),
                _ when ShardZero.Contains(method.Name) => await InvokeAsync(ShardKeys.Of(database, collection), method, request, database, ct).ConfigureAwait(false),
                _ when EveryShard.Contains(method.Name) => await MergeAsync(method, request, database, collection, shards, ct, a => a[0], message).ConfigureAwait(false),
                "HybridSearch" => await HybridShardsAsync(method, request, (HybridSearchRequest)message, database, collection, shards, ct).ConfigureAwait(false),
                _ => ShardedNotServed(method, method.Name),
            };
        }
        catch (MilvusException ex)
        {
            return StatusAnswer(method, ex.Code, ex.Message);
        }
        catch (QuiverException ex)
        {
            return Refusal(method, ex);
        }
    }

    /// <summary>Sends <paramref name="request"/> to every shard at once; answers the first failure (in shard order) or,
    /// when every shard succeeded, <paramref name="merge"/> of their answers.</summary>
    private async Task<byte[]> MergeAsync(MethodDescriptor method, byte[] request, string database, string collection, int shards, CancellationToken ct, Func<byte[][], byte[]> merge, IMessage? message = null)
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, shards).Select(s => InvokeAsync(ShardKeys.Of(database, collection, s), method, request, database, ct))).ConfigureAwait(false);
        if (SchemaChanges.Contains(method.Name))
        {
            await SchemaChangedAsync(database, collection, ct).ConfigureAwait(false);
        }

        if (answers.FirstOrDefault(a => !IsOk(StatusOf(method, a))) is { } failed)
        {
            return failed;
        }

        if (method.Name == "DropCollection")
        {
            ForgetSchema(database, collection);
            await ShardStorage.ForgetAsync(grains, database, collection, shards).ConfigureAwait(false);
            ForgetAutoIds(database, collection);
            await node.Catalog.RemoveAsync(database, collection, ct).ConfigureAwait(false);
        }
        else if (method.Name == "CreateAlias")
        {
            await node.Catalog.SetAliasAsync(database, Parsed<CreateAliasRequest>(method, request, message).Alias, collection, ct).ConfigureAwait(false);
        }

        return merge(answers);
    }

    /// <summary>Where a write routed in process by a bulk-import job (<see cref="ImportWrites"/>) learns how many rows of a
    /// batch some shards refused were stored by the others; null for every other call.</summary>
    internal static readonly AsyncLocal<System.Runtime.CompilerServices.StrongBox<long>?> StoredOfRefused = new();

    /// <summary>An insert or upsert over gRPC split by primary key: the node reads the columns with the collection's schema
    /// (from shard 0), checks, keys and routes the rows (<see cref="RouteRowsAsync"/>), then sends each shard its rows as
    /// the request's columns.</summary>
    private async Task<byte[]> SplitWriteAsync(MethodDescriptor method, IMessage request, string database, string collection, int shards, bool upsert, CancellationToken ct)
    {
        var (schema, zone, refused) = await DescribedAsync(method, database, collection, ct).ConfigureAwait(false);
        if (schema is null)
        {
            return refused!;
        }

        var op = upsert ? "upsert" : "insert";
        var insert = upsert ? null : (InsertRequest)request;
        var upsertRequest = upsert ? (UpsertRequest)request : null;
        var columns = insert?.FieldsData ?? upsertRequest!.FieldsData;
        var (batch, rowsOf, generated) = await RouteRowsAsync(schema, Wire.FieldDataReader.ReadRequest(schema, columns, insert?.NumRows ?? upsertRequest!.NumRows, op, zone),
            database, collection, shards, upsert, ct).ConfigureAwait(false);
        var targets = Enumerable.Range(0, shards).Where(s => rowsOf[s].Count > 0).ToList();

        // The columns were read into batch: each shard's request is cloned from the request without them (a clone copies
        // every vector of the whole batch once per shard, about 17% of a node's large-object allocations on ingest).
        columns.Clear();
        var answers = await Task.WhenAll(targets.Select(s =>
        {
            var part = batch.Select(rowsOf[s]);
            var fields = Wire.FieldDataWriter.Write(schema, part, Wire.NullForm.Compact);
            IMessage one;
            if (generated)
            {
                // Fresh keys travel as an upsert, the write whose keys a shard's engine keeps on an auto_id collection:
                // no row holds them yet, so it stores exactly the rows an insert would.
                one = AsUpsert(insert!, fields, part.RowCount);
            }
            else if (insert is not null)
            {
                var copy = insert.Clone();
                copy.FieldsData.AddRange(fields);
                copy.NumRows = (uint)part.RowCount;
                copy.HashKeys.Clear();
                one = copy;
            }
            else
            {
                var copy = upsertRequest!.Clone();
                copy.FieldsData.AddRange(fields);
                copy.NumRows = (uint)part.RowCount;
                copy.HashKeys.Clear();
                one = copy;
            }

            return InvokeAsync(ShardKeys.Of(database, collection, s), generated ? UpsertMethod : method, one.ToByteArray(), database, ct);
        })).ConfigureAwait(false);
        var results = answers.Select(MilvusMutation.Parser.ParseFrom).ToList();
        if (results.FirstOrDefault(r => !IsOk(r.Status)) is { } failed)
        {
            if (StoredOfRefused.Value is { } stored)
            {
                // The other shards' rows of the refused batch are stored: a bulk import counts them (ImportWrites).
                stored.Value = results.Where(r => IsOk(r.Status)).Sum(r => r.InsertCnt + r.UpsertCnt);
            }

            return failed.ToByteArray();
        }

        var merged = ShardMerge.Write(results, [.. targets.Select(s => (IReadOnlyList<int>)rowsOf[s])], batch.RowCount);
        if (generated)
        {
            merged.InsertCnt = merged.UpsertCnt;
            merged.UpsertCnt = 0;
        }

        return merged.ToByteArray();
    }

    /// <summary>A search on every shard for offset + top-k hits from the start, merged into the global window; a search by
    /// primary keys first reads the keys' vectors from their shards (<see cref="VectorsForKeysAsync"/>); a BM25 search
    /// first sums the shards' corpus statistics (<see cref="WithBm25StatisticsAsync"/>); grouping runs in two rounds
    /// (<see cref="GroupedMergedAsync"/>). Iterators and function reranking are refused: their answers cannot be merged
    /// from the shards' answers into the single engine's.</summary>
    private async Task<byte[]> SearchShardsAsync(MethodDescriptor method, MilvusSearch parsed, byte[] request, string database, string collection, int shards, CancellationToken ct)
    {
        var (merged, answer, _) = await SearchMergedAsync(method, parsed, request, database, collection, shards, schema: null, ct).ConfigureAwait(false);
        return answer ?? merged!.ToByteArray();
    }

    /// <summary>The search <paramref name="parsed"/> (serialized as <paramref name="request"/>) on every shard, merged,
    /// with the metric its scores are in; or, as <c>Answer</c>, the refusal to send instead.</summary>
    private async Task<(SearchResults? Merged, byte[]? Answer, MetricType Metric)> SearchMergedAsync(MethodDescriptor method, MilvusSearch parsed, byte[] request,
        string database, string collection, int shards, EngineSchema? schema, CancellationToken ct)
    {
        var settings = SearchParamsParser.ParseUncached(parsed.SearchParams);
        if (settings.IteratorV2 || parsed.FunctionScore is not null || parsed.SubReqs.Count > 0)
        {
            return (null, ShardedNotServed(method, "Search with an iterator, sub-requests or a function score"), default);
        }

        if (settings.TopK < 1 || settings.TopK > MaxTopK || settings.Offset < 0 || (long)settings.Offset + settings.TopK > MaxTopK)
        {
            // The shard's own refusal of the window, word for word.
            return (null, await InvokeAsync(ShardKeys.Of(database, collection), method, request, database, ct).ConfigureAwait(false), default);
        }

        if (schema is null)
        {
            (schema, var refused) = await SchemaAsync(method, database, collection, ct).ConfigureAwait(false);
            if (schema is null)
            {
                return (null, refused!, default);
            }
        }

        var field = settings.AnnsField is { } named ? schema.Find(named) : schema.Fields.SingleOrDefault(f => f.IsVector || f.IsSparseVector);
        if (field is null)
        {
            return (null, await InvokeAsync(ShardKeys.Of(database, collection), method, request, database, ct).ConfigureAwait(false), default);
        }

        if (schema.Functions.Any(f => f.Type == CollectionFunctionType.BM25 && f.OutputFieldNames.Contains(field.Name)))
        {
            // Scored with the collection's statistics, summed over the shards first (MilvusRouting.Bm25.cs).
            var (scored, refusal) = await WithBm25StatisticsAsync(method, parsed, database, collection, shards, field, ct).ConfigureAwait(false);
            if (scored is null)
            {
                return (null, refusal!, default);
            }

            parsed = scored;
        }

        if (parsed.SearchInputCase == MilvusSearch.SearchInputOneofCase.Ids)
        {
            var (byKeys, refusal) = await VectorsForKeysAsync(method, parsed, database, collection, shards, schema, field, ct).ConfigureAwait(false);
            if (byKeys is null)
            {
                return (null, refusal!, default);
            }

            parsed = byKeys;
        }

        // The metric is needed for the merge only: looked up while the shards search.
        var metricLookup = settings.Metric is { } stated ? Task.FromResult(stated) : FieldMetricAsync(database, collection, schema, field, ct);
        if (settings.GroupByField is not null)
        {
            // Exact in two rounds (MilvusRouting.Group.cs).
            return await GroupedMergedAsync(method, parsed, database, collection, shards, schema, settings, await metricLookup.ConfigureAwait(false), ct).ConfigureAwait(false);
        }

        var perShard = parsed.Clone();
        perShard.SearchParams.Clear();
        perShard.SearchParams.AddRange(Window(parsed.SearchParams, "topk", settings.TopK + settings.Offset, ["topk", "limit", "offset", "round_decimal"]));
        var searching = Task.WhenAll(Enumerable.Range(0, shards).Select(s => ReadShardAsync(database, collection, s, method, perShard.ToByteArray(), ct)));
        await Task.WhenAll(searching, metricLookup).ConfigureAwait(false);
        var answers = await searching.ConfigureAwait(false);
        var metric = await metricLookup.ConfigureAwait(false);
        var results = answers.Select(SearchResults.Parser.ParseFrom).ToList();
        if (results.FirstOrDefault(r => !IsOk(r.Status)) is { } failed)
        {
            return (null, failed.ToByteArray(), default);
        }

        var nq = (int)results.Max(r => r.Results?.NumQueries ?? 0);
        return (ShardMerge.Search(results, nq, settings.TopK, settings.Offset, Quiver.Search.HybridSearch.LargerIsCloser(metric), settings.RoundDecimal), null, metric);
    }

    /// <summary>A query on every shard (a limited one for offset + limit rows from the start), merged in key order.</summary>
    private async Task<byte[]> QueryShardsAsync(MethodDescriptor method, MilvusQuery parsed, string database, string collection, int shards, CancellationToken ct)
    {
        var (limit, offset) = RequestValues.QueryWindow(parsed.QueryParams);
        var perShard = parsed;
        if (limit is { } l && offset > 0)
        {
            perShard = parsed.Clone();
            perShard.QueryParams.Clear();
            perShard.QueryParams.AddRange(Window(parsed.QueryParams, "limit", (long)l + offset, ["limit", "offset"]));
        }

        var answers = await Task.WhenAll(Enumerable.Range(0, shards).Select(s => ReadShardAsync(database, collection, s, method, perShard.ToByteArray(), ct))).ConfigureAwait(false);
        var results = answers.Select(QueryResults.Parser.ParseFrom).ToList();
        if (results.FirstOrDefault(r => !IsOk(r.Status)) is { } failed)
        {
            return failed.ToByteArray();
        }

        return ShardMerge.Query(results, limit, limit is null ? 0 : offset).ToByteArray();
    }

    /// <summary>The engine schema of the collection as shard 0 describes it, or shard 0's refusal in
    /// <paramref name="method"/>'s response.</summary>
    private async Task<(EngineSchema? Schema, byte[]? Refused)> SchemaAsync(MethodDescriptor method, string database, string collection, CancellationToken ct)
    {
        var (schema, _, refused) = await DescribedAsync(method, database, collection, ct).ConfigureAwait(false);
        return (schema, refused);
    }

    /// <summary>The metric of <paramref name="field"/>'s index on shard 0, or the field's default when it has none: as
    /// kept for the catalog key's current revision (<see cref="_indexMetrics"/>), else asked of shard 0.</summary>
    private async Task<MetricType> IndexMetricAsync(string database, string collection, FieldSchema field, CancellationToken ct)
    {
        // The revision is read from the catalog's leader before shard 0 is asked: an index change acknowledged through
        // another node moved it on already (its node touches the key after its shards took the change), so what is kept
        // under an older revision is never used; one that lands meanwhile moves it on for the next search.
        var revision = await node.Catalog.CurrentRevisionAsync(database, collection, ct).ConfigureAwait(false);
        var key = (ShardKeys.Of(database, collection), field.Name);
        if (revision > 0 && _indexMetrics.TryGetValue(key, out var kept) && kept.Revision == revision)
        {
            return kept.Metric;
        }

        var metric = await AskIndexMetricAsync(database, collection, field, ct).ConfigureAwait(false);
        KeepIndexMetric(key, revision, metric);
        return metric;
    }

    /// <summary>The metric of <paramref name="field"/>'s index as shard 0 describes it, or the field's default when it has none.</summary>
    private async Task<MetricType> AskIndexMetricAsync(string database, string collection, FieldSchema field, CancellationToken ct)
    {
        Interlocked.Increment(ref _indexMetricLookups);
        var describe = MilvusService.Descriptor.FindMethodByName("DescribeIndex");
        var answer = DescribeIndexResponse.Parser.ParseFrom(await InvokeAsync(ShardKeys.Of(database, collection), describe,
            new DescribeIndexRequest { DbName = database, CollectionName = collection, FieldName = field.Name }.ToByteArray(), database, ct).ConfigureAwait(false));
        var stated = IsOk(answer.Status)
            ? answer.IndexDescriptions.Where(d => d.FieldName == field.Name).SelectMany(d => d.Params).FirstOrDefault(p => p.Key == "metric_type")?.Value
            : null;
        return stated is { Length: > 0 } && VectorCodec.TryParseMetric(stated, out var metric) ? metric : field.Metric;
    }

    /// <summary><paramref name="pairs"/> without the keys <paramref name="drop"/> (also inside the <c>params</c> JSON,
    /// whose values win over the flattened pairs), then <paramref name="key"/> = <paramref name="value"/>.</summary>
    private static List<ProtoKeyValuePair> Window(IEnumerable<ProtoKeyValuePair> pairs, string key, long value, string[] drop) =>
        Window(pairs, key, value.ToString(CultureInfo.InvariantCulture), drop);

    /// <summary><paramref name="pairs"/> without the keys <paramref name="drop"/> (also inside the <c>params</c> JSON),
    /// then <paramref name="key"/> = <paramref name="value"/>.</summary>
    private static List<ProtoKeyValuePair> Window(IEnumerable<ProtoKeyValuePair> pairs, string key, string value, string[] drop)
    {
        var kept = new List<ProtoKeyValuePair>();
        foreach (var pair in pairs)
        {
            if (drop.Contains(pair.Key))
            {
                continue;
            }

            if (pair.Key == "params" && ParamsObject(pair.Value) is { } json)
            {
                foreach (var name in drop)
                {
                    json.Remove(name);
                }

                kept.Add(new ProtoKeyValuePair { Key = "params", Value = json.ToJsonString() });
                continue;
            }

            kept.Add(pair);
        }

        kept.Add(new ProtoKeyValuePair { Key = key, Value = value });
        return kept;
    }

    /// <summary>A search's <c>params</c> JSON as an object to edit; null when it is none (malformed text, another kind),
    /// which then goes to the shards as it came, for them to refuse as the standalone server does.</summary>
    private static JsonObject? ParamsObject(string text)
    {
        try
        {
            return JsonNode.Parse(string.IsNullOrWhiteSpace(text) ? "{}" : text) as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>The largest top-k (and offset + top-k) a search is merged for: the node's <c>maxTopK</c> (its gate's
    /// check), at most Milvus's 16,384 (the search handler's own check). A window beyond it goes to shard 0 as it came,
    /// so its refusal is the standalone server's, word for word, offset included.</summary>
    private int MaxTopK => Math.Min(MilvusGrpcService.MaxTopKOrNq, node.Config.EffectiveSecurity().MaxTopK);

    private static byte[] ShardsOf(byte[] described, int shards)
    {
        var answer = DescribeCollectionResponse.Parser.ParseFrom(described);
        if (IsOk(answer.Status))
        {
            answer.ShardsNum = shards;
        }

        return answer.ToByteArray();
    }

    private static byte[] SumStats<T>(IEnumerable<Google.Protobuf.Collections.RepeatedField<ProtoKeyValuePair>> each, T merged, Func<T, Google.Protobuf.Collections.RepeatedField<ProtoKeyValuePair>> stats)
        where T : IMessage
    {
        var total = each.SelectMany(s => s).Where(p => p.Key == "row_count")
            .Sum(p => long.Parse(p.Value, NumberStyles.Integer, CultureInfo.InvariantCulture));
        stats(merged).Add(new ProtoKeyValuePair { Key = "row_count", Value = total.ToString(CultureInfo.InvariantCulture) });
        return merged.ToByteArray();
    }

    private static byte[] DescribeIndexes(byte[][] answers)
    {
        var each = answers.Select(DescribeIndexResponse.Parser.ParseFrom).ToList();
        var merged = each[0];
        foreach (var index in merged.IndexDescriptions)
        {
            var same = each.SelectMany(r => r.IndexDescriptions).Where(d => d.IndexName == index.IndexName && d.FieldName == index.FieldName).ToList();
            index.IndexedRows = same.Sum(d => d.IndexedRows);
            index.TotalRows = same.Sum(d => d.TotalRows);
            index.PendingIndexRows = same.Sum(d => d.PendingIndexRows);
            index.State = IndexStateOf(same.Select(d => d.State));
            index.IndexStateFailReason = same.FirstOrDefault(d => d.IndexStateFailReason.Length > 0)?.IndexStateFailReason ?? "";
        }

        return merged.ToByteArray();
    }

    /// <summary>The state of an index over shards: theirs when they agree, else Failed if one failed, else in progress.</summary>
    private static ProtoIndexState IndexStateOf(IEnumerable<ProtoIndexState> states)
    {
        var all = states.Distinct().ToList();
        return all.Count == 1 ? all[0] : all.Contains(ProtoIndexState.Failed) ? ProtoIndexState.Failed : ProtoIndexState.InProgress;
    }

    /// <summary>The status of <paramref name="method"/>'s serialized answer.</summary>
    private static ProtoStatus? StatusOf(MethodDescriptor method, byte[] answer)
    {
        if (method.OutputType == ProtoStatus.Descriptor)
        {
            return ProtoStatus.Parser.ParseFrom(answer);
        }

        var response = method.OutputType.Parser.ParseFrom(answer);
        return method.OutputType.FindFieldByName("status") is { FieldType: FieldType.Message } field ? field.Accessor.GetValue(response) as ProtoStatus : null;
    }
}
