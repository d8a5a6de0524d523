using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Protocol.Milvus;
using Quiver.Server.Milvus;
using Quiver.Server.Rest;
using MilvusMutation = global::Quiver.Protocol.Milvus.MutationResult;
using EngineSchema = Quiver.CollectionSchema;

namespace Quiver.Cluster.Nodes;

/// <summary>Milvus's REST v2 on a collection with several shards (docs/cluster.md, "Several shards over REST"). Each
/// shard's own server answers its part in the standalone server's REST words, and the node puts the parts together as
/// the single engine would have answered: calls that change the collection go to every shard (the first refusal, else
/// shard 0's answer); descriptions come from shard 0; statistics, load states and index progress are summed or take the
/// least advanced; search hits are merged by <c>distance</c> into the global window, query and get rows in primary-key
/// order, counts summed; inserts and upserts are read with the collection's schema into columns, as the shard's server
/// would read them, checked and routed by primary-key hash as over gRPC, and each shard is sent its rows as a REST write
/// (<see cref="RestWriteAsync"/>, MilvusRouting.Writes.cs), so a row lands on the same shard whichever transport wrote
/// it.</summary>
internal sealed partial class MilvusRouting
{
    /// <summary>REST paths sent to every shard: the first refusal (in shard order), else shard 0's answer.</summary>
    private static readonly HashSet<string> RestEveryShard = new(StringComparer.Ordinal)
    {
        "/collections/drop", "/collections/load", "/collections/release", "/collections/flush",
        "/collections/alter_properties", "/collections/drop_properties", "/collections/fields/add",
        "/collections/fields/alter_properties",
        "/partitions/create", "/partitions/drop", "/partitions/load", "/partitions/release",
        "/indexes/create", "/indexes/drop", "/indexes/alter_properties", "/indexes/drop_properties",
    };

    /// <summary>REST reads every shard answers the same (same schema, partitions and indexes): shard 0 answers.</summary>
    private static readonly HashSet<string> RestShardZero = new(StringComparer.Ordinal)
    {
        "/collections/describe", "/collections/has", "/partitions/list", "/partitions/has", "/indexes/list",
    };

    /// <summary>The order of REST load states, least advanced first.</summary>
    private static readonly string[] RestLoadStates = ["LoadStateNotExist", "LoadStateNotLoad", "LoadStateLoading", "LoadStateLoaded"];

    /// <summary>Runs the REST call <paramref name="path"/> (below <c>/v2/vectordb</c>) with <paramref name="body"/> on a
    /// collection of <paramref name="shards"/> shards (or creates one, <paramref name="creates"/>): the HTTP status and the
    /// JSON body to answer.</summary>
    internal async Task<(int Status, byte[] Body)> RestShardedAsync(string path, byte[] body, string database, string collection, int shards,
        bool creates, bool allowInt64, CancellationToken ct)
    {
        try
        {
            if (creates)
            {
                return await RestCreateAsync(body, database, collection, shards, ct).ConfigureAwait(false);
            }

            if (RestShardZero.Contains(path))
            {
                var answer = await RestShardAsync(database, collection, 0, path, body, ct).ConfigureAwait(false);
                return path == "/collections/describe" ? Patched(answer, data => data["shardsNum"] = shards) : answer;
            }

            if (RestEveryShard.Contains(path))
            {
                return await RestEveryShardAsync(path, body, database, collection, shards, ct).ConfigureAwait(false);
            }

            return path switch
            {
                "/entities/insert" => await RestWriteAsync(body, database, collection, shards, upsert: false, allowInt64, ct).ConfigureAwait(false),
                "/entities/upsert" => await RestWriteAsync(body, database, collection, shards, upsert: true, allowInt64, ct).ConfigureAwait(false),
                "/entities/delete" => await RestAllAsync(path, body, database, collection, shards, SumData("deleteCount"), ct).ConfigureAwait(false),
                "/entities/search" => await RestSearchAsync(path, body, database, collection, shards, ct).ConfigureAwait(false),
                "/entities/query" => await RestQueryAsync(path, body, database, collection, shards, ct).ConfigureAwait(false),
                "/entities/get" => await RestQueryAsync(path, body, database, collection, shards, ct).ConfigureAwait(false),
                "/entities/hybrid_search" => await RestHybridAsync(body, database, collection, shards, ct).ConfigureAwait(false),
                "/collections/get_stats" or "/partitions/get_stats" => await RestAllAsync(path, body, database, collection, shards, SumData("rowCount"), ct).ConfigureAwait(false),
                "/collections/get_load_state" => await RestAllAsync(path, body, database, collection, shards, LeastLoaded, ct).ConfigureAwait(false),
                "/indexes/describe" => await RestAllAsync(path, body, database, collection, shards, IndexesDescribed, ct).ConfigureAwait(false),
                _ => (200, Utf8(RestRouting.ShardedNotServed(path))),
            };
        }
        catch (ShardUnreachableException ex)
        {
            return (200, Utf8(RestRouting.Unreachable(ex.Message)));
        }
        catch (MilvusException ex)
        {
            return (200, RestError(ex.Code, ex.Message));
        }
        catch (QuiverException ex)
        {
            var status = MilvusStatus.FromException(ex);
            return (200, RestError(status.Code, status.Reason));
        }
    }

    /// <summary>The REST body refusing a <c>shardsNum</c> above <see cref="CollectionCatalog.MaxShards"/> (docs/errors.md,
    /// <c>cluster-shards-num-invalid</c>), in Milvus's words, as over gRPC (<see cref="TooManyShards"/>).</summary>
    internal static string RestTooManyShards(int asked) =>
        new JsonObject { ["code"] = MilvusCode.ParameterInvalid, ["message"] = $"maximum shards's number should be limited to {CollectionCatalog.MaxShards}, got {asked}" }.ToJsonString();

    /// <summary>A create of a collection in <paramref name="shards"/> shards over REST, as over gRPC
    /// (<see cref="CreateShardedAsync"/>): shard 0 first, then the others; a refusal drops it again where it was created.</summary>
    private async Task<(int, byte[])> RestCreateAsync(byte[] body, string database, string collection, int shards, CancellationToken ct)
    {
        const string create = "/collections/create";
        var first = await RestShardAsync(database, collection, 0, create, body, ct).ConfigureAwait(false);
        if (!RestOk(first))
        {
            return first;
        }

        var rest = await Task.WhenAll(Enumerable.Range(1, shards - 1).Select(s => RestShardAsync(database, collection, s, create, body, ct))).ConfigureAwait(false);
        if (rest.Where(r => !RestOk(r)).Select(r => ((int, byte[])?)r).FirstOrDefault() is { } refused)
        {
            var drop = Utf8(new JsonObject { ["dbName"] = database, ["collectionName"] = collection }.ToJsonString());
            var created = Enumerable.Range(0, shards).Where(s => s == 0 || RestOk(rest[s - 1]));
            await Task.WhenAll(created.Select(s => RestShardAsync(database, collection, s, "/collections/drop", drop, ct))).ConfigureAwait(false);
            return refused;
        }

        return await RecordCreateAsync(database, collection, shards, ShardKeys.IdOf(database, collection), ct).ConfigureAwait(false) is { } lost
            ? (200, Utf8(RestRouting.Refusal(lost)))
            : first;
    }

    /// <summary>A call that changes the collection, on every shard; what the node keeps follows it as over gRPC (a drop
    /// frees the shards' storage and forgets the collection, a release closes the replicas, a load places them).</summary>
    private async Task<(int, byte[])> RestEveryShardAsync(string path, byte[] body, string database, string collection, int shards, CancellationToken ct)
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, shards).Select(s => RestShardAsync(database, collection, s, path, body, ct))).ConfigureAwait(false);
        if (RestSchemaChanges.Contains(path))
        {
            await SchemaChangedAsync(database, collection, ct).ConfigureAwait(false);
        }

        if (answers.Where(a => !RestOk(a)).Select(a => ((int, byte[])?)a).FirstOrDefault() is { } failed)
        {
            return failed;
        }

        var key = ShardKeys.Of(database, collection);
        switch (path)
        {
            case "/collections/drop":
                await ShardStorage.ForgetAsync(grains, database, collection, shards).ConfigureAwait(false);
                ForgetSchema(database, collection);
                ForgetAutoIds(database, collection);
                await node.Catalog.RemoveAsync(database, collection, ct).ConfigureAwait(false);
                await ReleaseReplicasAsync(key, shards, ct).ConfigureAwait(false);
                break;
            case "/collections/release":
                await ReleaseReplicasAsync(key, shards, ct).ConfigureAwait(false);
                break;
            case "/collections/load" or "/partitions/load":
                // REST's load names no replica number: the collection keeps the replicas it has, placed again if needed.
                await PlaceReplicasAsync(key, 0, shards, ct).ConfigureAwait(false);
                break;
        }

        return answers[0];
    }

    /// <summary>Sends <paramref name="body"/> to every shard; the first refusal, else <paramref name="merge"/> of their
    /// parsed answers (each a JSON object with <c>code</c> 0).</summary>
    private async Task<(int, byte[])> RestAllAsync(string path, byte[] body, string database, string collection, int shards,
        Func<IReadOnlyList<JsonObject>, JsonObject> merge, CancellationToken ct)
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, shards).Select(s => RestShardAsync(database, collection, s, path, body, ct))).ConfigureAwait(false);
        if (answers.Where(a => !RestOk(a)).Select(a => ((int, byte[])?)a).FirstOrDefault() is { } failed)
        {
            return failed;
        }

        return (200, Utf8(merge([.. answers.Select(a => (JsonObject)JsonNode.Parse(a.Item2)!)]).ToJsonString()));
    }

    /// <summary>Shard 0's answer with the number <paramref name="name"/> of <c>data</c> replaced by the sum over shards.</summary>
    private static Func<IReadOnlyList<JsonObject>, JsonObject> SumData(string name) => answers =>
    {
        var merged = answers[0];
        if (merged["data"] is JsonObject data)
        {
            data[name] = answers.Sum(a => a["data"]?[name] is JsonValue v && v.TryGetValue<long>(out var n) ? n : 0);
        }

        return merged;
    };

    /// <summary>The least advanced load state of the shards' (the lowest progress among those loading).</summary>
    private static JsonObject LeastLoaded(IReadOnlyList<JsonObject> answers) =>
        answers.OrderBy(a => Array.IndexOf(RestLoadStates, a["data"]?["loadState"]?.GetValue<string>() ?? ""))
            .ThenBy(a => a["data"]?["loadProgress"] is JsonValue v && v.TryGetValue<long>(out var p) ? p : 100)
            .First();

    /// <summary>Shard 0's index descriptions with the rows summed over shards and the state the shards agree on (else
    /// Failed if one failed, else InProgress), as <see cref="DescribeIndexes"/> does over gRPC.</summary>
    private static JsonObject IndexesDescribed(IReadOnlyList<JsonObject> answers)
    {
        var merged = answers[0];
        if (merged["data"] is not JsonArray indexes)
        {
            return merged;
        }

        foreach (var index in indexes.OfType<JsonObject>())
        {
            var same = answers.Select(a => a["data"]).OfType<JsonArray>().SelectMany(d => d.OfType<JsonObject>())
                .Where(d => Text(d["indexName"]) == Text(index["indexName"]) && Text(d["fieldName"]) == Text(index["fieldName"])).ToList();
            foreach (var rows in new[] { "totalRows", "pendingRows", "indexedRows" })
            {
                index[rows] = same.Sum(d => d[rows] is JsonValue v && v.TryGetValue<long>(out var n) ? n : 0);
            }

            var states = same.Select(d => Text(d["indexState"])).Distinct().ToList();
            index["indexState"] = states.Count == 1 ? states[0] : states.Contains("Failed") ? "Failed" : "InProgress";
            index["failReason"] = same.Select(d => Text(d["failReason"])).FirstOrDefault(r => r.Length > 0) ?? "";
        }

        return merged;
    }

    private static Protocol.Common.Status MutationStatus(byte[] answer) => MilvusMutation.Parser.ParseFrom(answer).Status ?? new Protocol.Common.Status();

    /// <summary>A search over REST: every shard searched for offset + limit hits from the start, their hits merged per
    /// query by <c>distance</c> (ties by primary key) into the window; grouped searches and BM25 searches by text as over
    /// gRPC (MilvusRouting.RestGroup.cs).</summary>
    private async Task<(int, byte[])> RestSearchAsync(string path, byte[] body, string database, string collection, int shards, CancellationToken ct)
    {
        var json = (JsonObject)JsonNode.Parse(body)!;
        if (!TryWindow(json, out var limit, out var offset) || limit < 1 || offset < 0 || offset + limit > MaxTopK || json["data"] is not JsonArray { Count: > 0 })
        {
            // The shard server's own refusal (or default) of the window and the data, word for word.
            return await RestShardAsync(database, collection, 0, path, body, ct).ConfigureAwait(false);
        }

        var search = MilvusService.Descriptor.FindMethodByName("Search");
        var (schema, _, refused) = await DescribedAsync(search, database, collection, ct).ConfigureAwait(false);
        if (schema is null)
        {
            var status = SearchResults.Parser.ParseFrom(refused!).Status;
            return (200, RestError(status.Code, status.Reason));
        }

        var named = json["annsField"] is JsonValue anns && anns.GetValueKind() == JsonValueKind.String ? anns.GetValue<string>() : "";
        var vectors = schema.Fields.Where(f => f.IsVector || f.IsSparseVector).ToList();
        var field = named.Length > 0 ? vectors.FirstOrDefault(f => f.Name == named) : vectors.Count == 1 ? vectors[0] : null;
        if (field is null)
        {
            return await RestShardAsync(database, collection, 0, path, body, ct).ConfigureAwait(false);
        }

        var grouping = RestGrouping(json, schema);
        if (!grouping.Valid)
        {
            return await RestShardAsync(database, collection, 0, path, body, ct).ConfigureAwait(false);
        }

        if (schema.Functions.Any(f => f.Type == CollectionFunctionType.BM25 && f.OutputFieldNames.Contains(field.Name)))
        {
            // Scored with the collection's statistics, summed over the shards first (MilvusRouting.RestGroup.cs).
            var (scored, refusal) = await RestWithBm25StatisticsAsync(path, json, json["partitionNames"], database, collection, shards, field, ct).ConfigureAwait(false);
            if (scored is null)
            {
                return refusal!.Value;
            }

            json = scored;
        }

        var metric = RestMetric(json) is { } stated ? stated
            : await FieldMetricAsync(database, collection, schema, field, ct).ConfigureAwait(false);
        var merged = grouping.Field is { } groupField
            ? await RestGroupedMergedAsync(path, json, database, collection, shards, schema, groupField, grouping.Size, limit, offset, metric, ct).ConfigureAwait(false)
            : await RestSearchMergedAsync(path, json, database, collection, shards, schema, limit, offset, metric, ct).ConfigureAwait(false);
        return merged.Refusal ?? (200, Utf8(merged.Answer!.ToJsonString()));
    }

    /// <summary>The search <paramref name="json"/> on every shard for <paramref name="offset"/> + <paramref name="limit"/>
    /// hits, merged into the window: the answer, or the first shard's refusal.</summary>
    private async Task<(JsonObject? Answer, (int, byte[])? Refusal)> RestSearchMergedAsync(string path, JsonObject json, string database, string collection, int shards,
        EngineSchema schema, long limit, long offset, MetricType metric, CancellationToken ct)
    {
        var perShard = (JsonObject)json.DeepClone();
        perShard["limit"] = offset + limit;
        perShard.Remove("offset");
        var bytes = Utf8(perShard.ToJsonString());
        var answers = await Task.WhenAll(Enumerable.Range(0, shards).Select(s => RestShardAsync(database, collection, s, path, bytes, ct))).ConfigureAwait(false);
        if (answers.Where(a => !RestOk(a)).Select(a => ((int, byte[])?)a).FirstOrDefault() is { } failed)
        {
            return (null, failed);
        }

        var parsed = answers.Select(a => (JsonObject)JsonNode.Parse(a.Item2)!).ToList();
        var larger = Quiver.Search.HybridSearch.LargerIsCloser(metric);
        var hits = parsed.Select(RestHits).ToList();
        var nq = hits.Max(h => h.Count);
        var data = new JsonArray();
        var topks = new JsonArray();
        for (var q = 0; q < nq; q++)
        {
            var candidates = hits.SelectMany(h => q < h.Count ? h[q] : []).ToList();
            candidates.Sort((a, b) => CompareHits(a, b, larger, schema));
            var window = candidates.Skip((int)offset).Take((int)limit).ToList();
            foreach (var hit in window)
            {
                data.Add(hit.DeepClone());
            }

            topks.Add((long)window.Count);
        }

        return (new JsonObject { ["code"] = 0, ["data"] = data, ["topks"] = topks }, null);
    }

    /// <summary>An answer's hit rows per query, split by its <c>topks</c> (all rows one query when it has none).</summary>
    private static List<List<JsonObject>> RestHits(JsonObject answer)
    {
        var rows = (answer["data"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        if (answer["topks"] is not JsonArray topks)
        {
            return [rows];
        }

        var split = new List<List<JsonObject>>(topks.Count);
        var start = 0;
        foreach (var k in topks)
        {
            var count = (int)long.Parse(k!.ToJsonString(), CultureInfo.InvariantCulture);
            split.Add(rows.GetRange(start, Math.Min(count, rows.Count - start)));
            start += count;
        }

        return split;
    }

    private static int CompareHits(JsonObject a, JsonObject b, bool larger, EngineSchema schema)
    {
        var x = Distance(a);
        var y = Distance(b);
        var byScore = larger ? y.CompareTo(x) : x.CompareTo(y);
        return byScore != 0 ? byScore : ShardMerge.CompareKeys(RowKey(a[Wire.RestJsonWriter.IdKey], schema), RowKey(b[Wire.RestJsonWriter.IdKey], schema));
    }

    private static float Distance(JsonObject hit) => hit[Wire.RestJsonWriter.DistanceKey] is JsonValue v && v.TryGetValue<float>(out var d) ? d : float.NaN;

    /// <summary>A primary key as a REST row holds it (an Int64 as a string or a number), in the engine's comparable form.</summary>
    private static object RowKey(JsonNode? value, EngineSchema schema)
    {
        if (schema.PrimaryKey.DataType == DataType.VarChar)
        {
            return value is JsonValue s && s.GetValueKind() == JsonValueKind.String ? s.GetValue<string>() : "";
        }

        return value is JsonValue v && (v.TryGetValue<long>(out var n)
            || (v.GetValueKind() == JsonValueKind.String && long.TryParse(v.GetValue<string>(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out n))) ? n : 0L;
    }

    /// <summary>A query or get over REST: every shard's rows (a query's window from the start: offset + limit rows)
    /// merged in primary-key order, the order a query answers in, and windowed; <c>count(*)</c> summed.</summary>
    private async Task<(int, byte[])> RestQueryAsync(string path, byte[] body, string database, string collection, int shards, CancellationToken ct)
    {
        var json = (JsonObject)JsonNode.Parse(body)!;
        long limit = 0, offset = 0;
        var windowed = path == "/entities/query";
        if (windowed && !TryWindow(json, out limit, out offset))
        {
            return await RestShardAsync(database, collection, 0, path, body, ct).ConfigureAwait(false);
        }

        var outputs = json["outputFields"] is JsonArray list ? list.Select(Text).ToList() : [];
        var counts = windowed && outputs.Count == 1 && outputs[0].Trim().Equals("count(*)", StringComparison.OrdinalIgnoreCase);
        // As the shard's server: a limit that is not positive reads every row (the offset then does not apply).
        var limited = windowed && !counts && limit > 0;
        var perShard = json;
        if (limited && offset > 0)
        {
            perShard = (JsonObject)json.DeepClone();
            perShard["limit"] = offset + limit;
            perShard.Remove("offset");
        }

        var bytes = ReferenceEquals(perShard, json) ? body : Utf8(perShard.ToJsonString());
        var answers = await Task.WhenAll(Enumerable.Range(0, shards).Select(s => RestShardAsync(database, collection, s, path, bytes, ct))).ConfigureAwait(false);
        if (answers.Where(a => !RestOk(a)).Select(a => ((int, byte[])?)a).FirstOrDefault() is { } failed)
        {
            return failed;
        }

        var parsed = answers.Select(a => (JsonObject)JsonNode.Parse(a.Item2)!).ToList();
        var rows = parsed.SelectMany(a => (a["data"] as JsonArray ?? []).OfType<JsonObject>()).ToList();
        if (counts)
        {
            var first = rows.FirstOrDefault()?["count(*)"];
            var total = rows.Sum(r => RowKey(r["count(*)"], CountSchema) is long n ? n : 0);
            var value = first is JsonValue v && v.GetValueKind() == JsonValueKind.String ? JsonValue.Create(total.ToString(CultureInfo.InvariantCulture)) : JsonValue.Create(total);
            return (200, Utf8(new JsonObject { ["code"] = 0, ["data"] = new JsonArray(new JsonObject { ["count(*)"] = value }) }.ToJsonString()));
        }

        var (schema, _, _) = await DescribedAsync(MilvusService.Descriptor.FindMethodByName("Query"), database, collection, ct).ConfigureAwait(false);
        if (schema is not null && rows.All(r => r.ContainsKey(schema.PrimaryKey.Name)))
        {
            var key = schema.PrimaryKey.Name;
            rows = [.. rows.Select((r, i) => (r, i)).OrderBy(x => RowKey(x.r[key], schema), Comparer<object>.Create(ShardMerge.CompareKeys)).ThenBy(x => x.i).Select(x => x.r)];
        }

        var kept = limited ? rows.Skip((int)Math.Min(offset, int.MaxValue)).Take((int)Math.Min(limit, int.MaxValue)) : rows;
        var merged = parsed[0];
        merged["data"] = new JsonArray([.. kept.Select(r => r.DeepClone())]);
        return (200, Utf8(merged.ToJsonString()));
    }

    /// <summary>A schema whose key is Int64, to read counts as keys are read.</summary>
    private static readonly EngineSchema CountSchema = new()
    {
        Fields = [new FieldSchema { Name = "count", DataType = DataType.Int64, IsPrimaryKey = true }],
    };

    /// <summary>The body's <c>limit</c> (100 when absent, as Milvus's REST API defaults it) and <c>offset</c> (0); false
    /// when one is not an integer (the shard's server then refuses it in its words).</summary>
    private static bool TryWindow(JsonObject json, out long limit, out long offset)
    {
        limit = 100;
        offset = 0;
        try
        {
            if (json["limit"] is { } l)
            {
                limit = RestRequest.LongOf(l, "$.limit");
            }

            if (json["offset"] is { } o)
            {
                offset = RestRequest.LongOf(o, "$.offset");
            }

            return true;
        }
        catch (MilvusException)
        {
            return false;
        }
    }

    /// <summary>The metric a search body names (<c>searchParams.metricType</c>, <c>searchParams.metric_type</c> or
    /// <c>metricType</c>), or null.</summary>
    private static MetricType? RestMetric(JsonObject json)
    {
        var searchParams = json["searchParams"] as JsonObject;
        var named = searchParams?["metricType"] ?? searchParams?["metric_type"] ?? json["metricType"];
        return named is JsonValue v && v.GetValueKind() == JsonValueKind.String && VectorCodec.TryParseMetric(v.GetValue<string>(), out var metric) ? metric : null;
    }

    /// <summary>Runs a REST call on shard <paramref name="shard"/> (MilvusRouting.RestReplicas.cs).</summary>
    private Task<(int, byte[])> RestShardAsync(string database, string collection, int shard, string path, byte[] body, CancellationToken ct) =>
        RestOnShardAsync(database, collection, shard, path, body, ct);

    /// <summary>Whether a shard's REST answer is a success (HTTP 200 and code 0).</summary>
    private static bool RestOk((int Status, byte[] Body) answer)
    {
        if (answer.Status != 200)
        {
            return false;
        }

        try
        {
            using var json = JsonDocument.Parse(answer.Body);
            return json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("code", out var code)
                && code.ValueKind == JsonValueKind.Number && code.GetInt32() == 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary><paramref name="answer"/> with <paramref name="change"/> applied to its <c>data</c> object when it succeeded.</summary>
    private static (int, byte[]) Patched((int Status, byte[] Body) answer, Action<JsonObject> change)
    {
        if (!RestOk(answer) || JsonNode.Parse(answer.Body) is not JsonObject json || json["data"] is not JsonObject data)
        {
            return answer;
        }

        change(data);
        return (answer.Status, Utf8(json.ToJsonString()));
    }

    private static string Text(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : "";

    private static byte[] RestError(int code, string message) => Utf8(new JsonObject { ["code"] = code, ["message"] = message }.ToJsonString());

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}

/// <summary><c>hybrid_search</c> over REST on several shards: each of its searches merged over the shards into the
/// collection's global top-(its limit) (grouped, and scored with the collection's BM25 statistics, as a REST search is),
/// then fused on the node with the request's ranker by the engine's own fusion and grouped as the engine groups, as
/// over gRPC (<see cref="HybridShardsAsync"/>).</summary>
internal sealed partial class MilvusRouting
{
    private async Task<(int, byte[])> RestHybridAsync(byte[] body, string database, string collection, int shards, CancellationToken ct)
    {
        const string path = "/entities/hybrid_search";
        var json = (JsonObject)JsonNode.Parse(body)!;
        if (json["search"] is not JsonArray { Count: > 0 and <= Quiver.HybridRequest.MaxRequests } searches || searches.Any(s => s is not JsonObject)
            || json["rerank"] is not JsonObject rerank || !TryWindow(json, out var limit, out var offset))
        {
            // The shard server's own refusal of the body's shape, word for word.
            return await RestShardAsync(database, collection, 0, path, body, ct).ConfigureAwait(false);
        }

        var pairs = new Google.Protobuf.Collections.RepeatedField<Protocol.Common.KeyValuePair>
        {
            new Protocol.Common.KeyValuePair { Key = "strategy", Value = Text(rerank["strategy"]) },
            new Protocol.Common.KeyValuePair { Key = "params", Value = (rerank["params"] ?? new JsonObject()).ToJsonString() },
            new Protocol.Common.KeyValuePair { Key = "limit", Value = limit.ToString(CultureInfo.InvariantCulture) },
            new Protocol.Common.KeyValuePair { Key = "offset", Value = offset.ToString(CultureInfo.InvariantCulture) },
        };
        MilvusGrpcService.HybridRankParams rank;
        try
        {
            rank = MilvusGrpcService.HybridRankParams.Parse(pairs, null);
        }
        catch (Exception ex) when (ex is MilvusException or QuiverException)
        {
            return await RestShardAsync(database, collection, 0, path, body, ct).ConfigureAwait(false);
        }

        var search = MilvusService.Descriptor.FindMethodByName("Search");
        var (schema, _, refused) = await DescribedAsync(search, database, collection, ct).ConfigureAwait(false);
        if (schema is null)
        {
            var status = SearchResults.Parser.ParseFrom(refused!).Status;
            return (200, RestError(status.Code, status.Reason));
        }

        var grouping = RestGrouping(json, schema);
        if (!grouping.Valid)
        {
            return await RestShardAsync(database, collection, 0, path, body, ct).ConfigureAwait(false);
        }

        var outputs = json["outputFields"] is JsonArray asked ? asked.Select(Text).ToList() : [];
        var groupShown = grouping.Field is { } g && (outputs.Contains(g.Name) || outputs.Contains("*"));
        var vectors = schema.Fields.Where(f => f.IsVector || f.IsSparseVector).ToList();
        var lists = new List<List<List<JsonObject>>>(searches.Count);
        var metrics = new MetricType[searches.Count];
        for (var i = 0; i < searches.Count; i++)
        {
            var sub = (JsonObject)searches[i]!.DeepClone();
            var named = Text(sub["annsField"]);
            var field = named.Length > 0 ? vectors.FirstOrDefault(f => f.Name == named) : vectors.Count == 1 ? vectors[0] : null;
            if (field is null || !TryWindow(sub, out var subLimit, out _) || subLimit < 1 || subLimit > MaxTopK || sub["data"] is not JsonArray { Count: > 0 })
            {
                return await RestShardAsync(database, collection, 0, path, body, ct).ConfigureAwait(false);
            }

            // Output fields, partitions and consistency belong to the hybrid request, as on a single node; grouping too, with
            // the group field among the outputs so that the fused hits can be grouped here.
            sub["dbName"] = database;
            sub["collectionName"] = collection;
            sub.Remove("offset");
            foreach (var name in new[] { "outputFields", "partitionNames", "consistencyLevel", Timestamptz.TimezoneProperty, "groupingField", "groupSize", "strictGroupSize" })
            {
                sub.Remove(name);
                if (json[name] is { } value)
                {
                    sub[name] = value.DeepClone();
                }
            }

            if (grouping.Field is { } shownField && !groupShown)
            {
                sub["outputFields"] = new JsonArray([.. outputs.Select(o => (JsonNode?)o), shownField.Name]);
            }

            if (schema.Functions.Any(f => f.Type == CollectionFunctionType.BM25 && f.OutputFieldNames.Contains(field.Name)))
            {
                // Scored with the collection's statistics, summed over the shards first (MilvusRouting.RestGroup.cs).
                var (scored, bm25Refusal) = await RestWithBm25StatisticsAsync("/entities/search", sub, sub["partitionNames"], database, collection, shards, field, ct).ConfigureAwait(false);
                if (scored is null)
                {
                    return bm25Refusal!.Value;
                }

                sub = scored;
            }

            metrics[i] = RestMetric(sub) is { } stated ? stated
                : await FieldMetricAsync(database, collection, schema, field, ct).ConfigureAwait(false);
            var (answer, refusal) = grouping.Field is { } groupField
                ? await RestGroupedMergedAsync("/entities/search", sub, database, collection, shards, schema, groupField, grouping.Size, subLimit, 0, metrics[i], ct).ConfigureAwait(false)
                : await RestSearchMergedAsync("/entities/search", sub, database, collection, shards, schema, subLimit, 0, metrics[i], ct).ConfigureAwait(false);
            if (refusal is { } no)
            {
                return no;
            }

            lists.Add(RestHits(answer!));
        }

        if (lists.Select(l => l.Count).Distinct().Count() != 1)
        {
            // Searches with different numbers of queries: the shard's own refusal.
            return await RestShardAsync(database, collection, 0, path, body, ct).ConfigureAwait(false);
        }

        var fuse = Quiver.Search.HybridSearch.Fusion.For(rank.Ranker, metrics);
        var data = new JsonArray();
        var topks = new JsonArray();
        for (var q = 0; q < lists[0].Count; q++)
        {
            var fused = new Dictionary<object, (float Score, JsonObject Row)>();
            for (var i = 0; i < lists.Count; i++)
            {
                var hits = lists[i][q];
                for (var r = 0; r < hits.Count; r++)
                {
                    var key = RowKey(hits[r][Wire.RestJsonWriter.IdKey], schema);
                    var part = fuse.Contribution(i, r, Distance(hits[r]));
                    fused[key] = fused.TryGetValue(key, out var sum) ? (sum.Score + part, sum.Row) : (part, hits[r]);
                }
            }

            var ranked = fused.Select(f => (f.Value.Score, f.Key, f.Value.Row)).ToList();
            ranked.Sort((a, b) =>
            {
                var byScore = fuse.Descending ? b.Score.CompareTo(a.Score) : a.Score.CompareTo(b.Score);
                return byScore != 0 ? byScore : ShardMerge.CompareKeys(a.Key, b.Key);
            });
            var window = grouping.Field is { } by
                ? FusedGroups(ranked.Select(h => (h.Score, h.Key, RestGroupValue(h.Row[by.Name], by), h)), grouping.Size, rank.Offset, rank.Limit, fuse.Descending)
                : [.. ranked.Skip(rank.Offset).Take(rank.Limit)];
            foreach (var (score, _, row) in window)
            {
                var hit = (JsonObject)row.DeepClone();
                hit[Wire.RestJsonWriter.DistanceKey] = score;
                if (grouping.Field is { } hidden && !groupShown)
                {
                    hit.Remove(hidden.Name);
                }

                data.Add(hit);
            }

            topks.Add((long)window.Count);
        }

        return (200, Utf8(new JsonObject { ["code"] = 0, ["data"] = data, ["topks"] = topks }.ToJsonString()));
    }
}
