using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Quiver.Protocol.Milvus;
using Quiver.Server.Milvus;
using Quiver.Server.Milvus.Data;
using Quiver.Server.Rest;
using Quiver.Sparse;
using EngineSchema = Quiver.CollectionSchema;
using MilvusSearch = global::Quiver.Protocol.Milvus.SearchRequest;

namespace Quiver.Cluster.Nodes;

/// <summary>REST v2 searches with <c>groupingField</c> and BM25 searches by text on a collection with several shards
/// (docs/cluster.md, "Several shards over REST"), as over gRPC. A grouped search runs the same two rounds
/// (<see cref="GroupRounds"/>): round 1 asks every shard for its first offset + limit groups, with the group field among
/// the output fields so the node sees each hit's group; round 2 asks each shard, per query, for the chosen groups it did
/// not answer (the filter narrowed to them); the group field leaves the rows again unless the body asked for it. A BM25
/// search first sums the shards' statistics of its texts (asked over the shards' gRPC side, as for a gRPC search) and
/// sends the sums in <c>searchParams</c>, where the shard's server reads them as it reads any search param.</summary>
internal sealed partial class MilvusRouting
{
    /// <summary>The group field and size of a REST search body (<c>groupingField</c>, <c>groupSize</c> when positive, else 1,
    /// as the standalone server reads them), null when it does not group; <c>Valid</c> is false when the shard's server
    /// must refuse the body instead (a field the engine cannot group by, a size that is not an integer).</summary>
    private static (FieldSchema? Field, int Size, bool Valid) RestGrouping(JsonObject json, EngineSchema schema)
    {
        if (json["groupingField"] is null)
        {
            return (null, 1, true);
        }

        if (json["groupingField"] is not JsonValue named || named.GetValueKind() != JsonValueKind.String)
        {
            return (null, 1, false);
        }

        if (named.GetValue<string>().Length == 0)
        {
            return (null, 1, true);
        }

        long size;
        try
        {
            size = json["groupSize"] is { } given ? RestRequest.LongOf(given, "$.groupSize") : 1;
        }
        catch (MilvusException)
        {
            return (null, 1, false);
        }

        var grouping = (named.GetValue<string>(), size > 0 ? (int)Math.Min(size, int.MaxValue) : 1);
        return Groupable(schema, grouping) ? (schema.Find(grouping.Item1), grouping.Item2, true) : (null, 1, false);
    }

    /// <summary>A REST search <paramref name="json"/> grouped by <paramref name="field"/> in groups of
    /// <paramref name="size"/> on every shard, exact in two rounds: the answer (<c>data</c> and <c>topks</c>) or the first
    /// refusal.</summary>
    private async Task<(JsonObject? Answer, (int, byte[])? Refusal)> RestGroupedMergedAsync(string path, JsonObject json, string database, string collection,
        int shards, EngineSchema schema, FieldSchema field, int size, long limit, long offset, MetricType metric, CancellationToken ct)
    {
        var want = (int)(offset + limit);
        var perShard = (JsonObject)json.DeepClone();
        perShard["limit"] = want;
        perShard.Remove("offset");
        var outputs = json["outputFields"] is JsonArray asked ? asked.Select(Text).ToList() : [];
        var shown = outputs.Contains(field.Name) || outputs.Contains("*");
        if (!shown)
        {
            perShard["outputFields"] = new JsonArray([.. outputs.Select(o => (JsonNode?)o), field.Name]);
        }

        var first = await Task.WhenAll(Enumerable.Range(0, shards).Select(s => RestShardAsync(database, collection, s, path, Utf8(perShard.ToJsonString()), ct))).ConfigureAwait(false);
        if (first.Where(a => !RestOk(a)).Select(a => ((int, byte[])?)a).FirstOrDefault() is { } failed)
        {
            return (null, failed);
        }

        // Every answer's rows, flattened (a hit is named by its answer and place), and each answer's hits per query.
        var rows = new List<List<JsonObject>>();
        var perQuery = new List<List<List<(float Score, object Key, object? Group, int At)>>>();
        void Read(byte[] body)
        {
            var lists = RestHits((JsonObject)JsonNode.Parse(body)!);
            var flat = new List<JsonObject>();
            var hits = new List<List<(float, object, object?, int)>>(lists.Count);
            foreach (var list in lists)
            {
                hits.Add([.. list.Select((row, i) => (Distance(row), RowKey(row[Wire.RestJsonWriter.IdKey], schema), RestGroupValue(row[field.Name], field), flat.Count + i))]);
                flat.AddRange(list);
            }

            rows.Add(flat);
            perQuery.Add(hits);
        }

        foreach (var answer in first)
        {
            Read(answer.Item2);
        }

        var data = json["data"] as JsonArray ?? [];
        var nq = data.Count;
        var rounds = new GroupRounds(nq, Quiver.Search.HybridSearch.LargerIsCloser(metric));
        for (var s = 0; s < shards; s++)
        {
            for (var q = 0; q < nq && q < perQuery[s].Count; q++)
            {
                rounds.Add(q, s, perQuery[s][q], first: true);
            }
        }

        var asks = rounds.Missing(want, shards);
        var second = await Task.WhenAll(asks.Select(a =>
        {
            var one = (JsonObject)perShard.DeepClone();
            one["data"] = new JsonArray(data[a.Query]?.DeepClone());
            one["limit"] = a.Groups.Count;
            one["filter"] = NarrowedFilter(json["filter"] is JsonValue f && f.GetValueKind() == JsonValueKind.String ? f.GetValue<string>() : null, field.Name, a.Groups);
            return RestShardAsync(database, collection, a.Shard, path, Utf8(one.ToJsonString()), ct);
        })).ConfigureAwait(false);
        for (var i = 0; i < asks.Count; i++)
        {
            if (!RestOk(second[i]))
            {
                return (null, second[i]);
            }

            Read(second[i].Item2);
            rounds.Add(asks[i].Query, rows.Count - 1, perQuery[^1].FirstOrDefault() ?? [], first: false);
        }

        var picked = rounds.Window((int)offset, size);
        var merged = new JsonArray();
        var topks = new JsonArray();
        foreach (var window in picked)
        {
            foreach (var hit in window)
            {
                var row = (JsonObject)rows[hit.Answer][hit.At].DeepClone();
                if (!shown)
                {
                    row.Remove(field.Name);
                }

                merged.Add(row);
            }

            topks.Add((long)window.Count);
        }

        return (new JsonObject { ["code"] = 0, ["data"] = merged, ["topks"] = topks }, null);
    }

    /// <summary>A group value as a REST row holds it, in the form gRPC's group values are read in (a long, a string, a
    /// bool, or null).</summary>
    private static object? RestGroupValue(JsonNode? value, FieldSchema field) => value switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Null => null,
        JsonValue v when field.DataType == DataType.VarChar => v.GetValue<string>(),
        JsonValue v when field.DataType == DataType.Bool => v.GetValueKind() == JsonValueKind.True,
        _ => RowKey(value, CountSchema),
    };

    /// <summary>A REST search <paramref name="json"/> of texts on the BM25 output <paramref name="field"/> with the
    /// collection-wide statistics of its texts in <c>searchParams</c>, or the refusal to answer instead: the shard's
    /// server's own refusal of a body it cannot read, else the shards' refusal of the search (not loaded, a bad filter),
    /// as the standalone server words it. <paramref name="partitions"/> are a hybrid search's (else the body's).</summary>
    private async Task<(JsonObject? Scored, (int, byte[])? Refusal)> RestWithBm25StatisticsAsync(string path, JsonObject json, JsonNode? partitions,
        string database, string collection, int shards, FieldSchema field, CancellationToken ct)
    {
        if (json["searchParams"] is not (null or JsonObject))
        {
            // The shard's server refuses the body.
            return (json, null);
        }

        var ask = new MilvusSearch { DbName = database, CollectionName = collection, DslType = Protocol.Common.DslType.BoolExprV1 };
        try
        {
            var data = json["data"] as JsonArray ?? [];
            ask.Nq = data.Count;
            ask.PlaceholderGroup = RestVectors.ToPlaceholderGroup(data, new Protocol.Schema.FieldSchema { Name = field.Name, DataType = Protocol.Schema.DataType.SparseFloatVector }, true, "$.data");
            ask.Dsl = RestRequest.StringOf(json["filter"], "$.filter") ?? "";
            RestTemplates.Add(json["exprParams"], "$.exprParams", ask.ExprTemplateValues);
            foreach (var partition in partitions as JsonArray ?? [])
            {
                ask.PartitionNames.Add(RestRequest.StringOf(partition, "$.partitionNames") ?? "");
            }

            ask.SearchParams.Add(new Protocol.Common.KeyValuePair { Key = "anns_field", Value = field.Name });
            if (RestRequest.StringOf(json[Timestamptz.TimezoneProperty], "$.timezone") is { } zone)
            {
                ask.SearchParams.Add(new Protocol.Common.KeyValuePair { Key = Timestamptz.TimezoneProperty, Value = zone });
            }
        }
        catch (MilvusException)
        {
            // A body the shard's server refuses in its words.
            return (json, null);
        }

        var method = MilvusService.Descriptor.FindMethodByName("Search");
        var previous = CurrentRead.Value;
        byte[][] answers;
        try
        {
            // The statistics come from the replicas the search will read, as over gRPC.
            CurrentRead.Value = CurrentRest.Value?.Read;
            answers = await Task.WhenAll(Enumerable.Range(0, shards).Select(s => ReadShardAsync(database, collection, s, method, ask.ToByteArray(), ct, ShardBm25.Method))).ConfigureAwait(false);
        }
        finally
        {
            CurrentRead.Value = previous;
        }

        var parts = answers.Select(ShardBm25.Read).ToList();
        if (parts.Any(p => p is null))
        {
            // The search as sent answers the refusal the standalone server gives.
            var bytes = Utf8(json.ToJsonString());
            var plain = await Task.WhenAll(Enumerable.Range(0, shards).Select(s => RestShardAsync(database, collection, s, path, bytes, ct))).ConfigureAwait(false);
            var status = SearchResults.Parser.ParseFrom(answers[parts.FindIndex(p => p is null)]).Status;
            return (null, plain.Where(a => !RestOk(a)).Select(a => ((int, byte[])?)a).FirstOrDefault() ?? (200, RestError(status.Code, status.Reason)));
        }

        var scored = (JsonObject)json.DeepClone();
        var searchParams = scored["searchParams"] as JsonObject ?? [];
        searchParams[SearchParamsParser.Bm25StatisticsKey] = Bm25Statistics.Sum(parts!).Format();
        scored["searchParams"] = searchParams;
        return (scored, null);
    }
}
