using System.Globalization;
using System.Text.Json;
using Google.Protobuf.Collections;
using Grpc.Core;
using Quiver.Protocol.Milvus;
using Quiver.Server.Milvus.Data;
using Quiver.Wire;
using EngineSearch = Quiver.SearchRequest;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;

namespace Quiver.Server.Milvus;

/// <summary>HybridSearch: several search requests over the collection's vector fields fused by RRF or weighted ranking
/// (<see cref="QuiverEngine.HybridSearchColumnsAsync"/>). The ranker comes from <c>rank_params</c> (<c>strategy</c> and
/// its <c>params</c> JSON, as the SDKs' RRFRanker and WeightedRanker send it) or from a <c>function_score</c> holding one
/// rerank function (<c>reranker</c> rrf or weighted, Milvus 2.6's form); <c>rank_params</c> also carry <c>limit</c>,
/// <c>offset</c>, <c>round_decimal</c>, <c>group_by_field</c> and <c>group_size</c>. See docs/server-data.md.</summary>
internal sealed partial class MilvusGrpcService
{
    /// <inheritdoc />
    public override async Task<SearchResults> HybridSearch(Protocol.Milvus.HybridSearchRequest request, ServerCallContext context)
    {
        var answer = await HybridSearchColumnsAsync(request, context).ConfigureAwait(false);
        return new SearchResults
        {
            Status = MilvusStatus.Ok(),
            CollectionName = request.CollectionName,
            Results = SearchResultCodec.Write(answer.Schema, answer.Hits, answer.Limit, answer.Output.Declared, answer.Output.Names,
                answer.GroupBy, answer.RoundDecimal),
        };
    }

    /// <summary>A hybrid search's answer: the fused hits as engine columns with what the transport needs to write them.</summary>
    internal sealed record HybridAnswer(CollectionSchema Schema, int Limit, int RoundDecimal, OutputFields Output, FieldSchema? GroupBy,
        SearchColumns Hits);

    /// <summary>HybridSearch for a gRPC request: <see cref="HybridSearchColumnsAsync(HybridSearchInput, ServerCallContext, Action{ResolvedCollection}?)"/>
    /// over the request as it came.</summary>
    internal Task<HybridAnswer> HybridSearchColumnsAsync(Protocol.Milvus.HybridSearchRequest request, ServerCallContext context) =>
        HybridSearchColumnsAsync(new HybridSearchInput
        {
            Database = request.DbName,
            Collection = request.CollectionName,
            Partitions = request.PartitionNames,
            OutputFields = request.OutputFields,
            Requests = [.. request.Requests.Select(WireSearchSource.Of)],
            Rank = () => HybridRankParams.Parse(request.RankParams, request.FunctionScore),
        }, context);

    /// <summary>HybridSearch: the Milvus rules, whatever the transport. <paramref name="complete"/>, when given,
    /// completes the requests from the collection this call looked up, as for
    /// <see cref="SearchColumnsAsync(SearchInput, ServerCallContext, Action{ResolvedCollection}?)"/>.</summary>
    internal async Task<HybridAnswer> HybridSearchColumnsAsync(HybridSearchInput input, ServerCallContext context,
        Action<ResolvedCollection>? complete = null)
    {
        var db = Database(input.Database, context);
        var ct = context.CancellationToken;
        var name = input.Collection;
        var collection = Collection(name, db);
        complete?.Invoke(collection);
        var schema = collection.Schema;
        var partitions = EnsureLoaded(db, name, input.Partitions);
        if (input.Requests.Count is 0 or > Quiver.HybridRequest.MaxRequests)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid,
                $"hybrid search: {input.Requests.Count} search requests; give 1..{Quiver.HybridRequest.MaxRequests}");
        }

        var rank = input.Rank();
        var subs = new List<EngineSearch>(input.Requests.Count);
        string? subGroupBy = null;
        var subGroupSize = 1;
        for (var i = 0; i < input.Requests.Count; i++)
        {
            var sub = input.Requests[i];
            var settings = sub.Source.Settings(this);
            var (plan, _, _) = await PlanAsync(name, db, schema, settings, sub, [], resolveOutput: false, ct).ConfigureAwait(false);
            // Offset, grouping and partitions belong to the hybrid request (Milvus ignores them per request). The Node
            // SDK copies a hybrid search's group_by_field into every request and not into rank_params: taken from there
            // when rank_params has none.
            subs.Add(plan with { Offset = 0, Partitions = [], GroupByField = null, GroupSize = 1 });
            subGroupBy ??= settings.GroupByField;
            subGroupSize = settings.GroupByField is null ? subGroupSize : settings.GroupSize;
        }

        var groupByName = rank.GroupByField ?? subGroupBy;
        var groupSize = rank.GroupByField is not null ? rank.GroupSize : subGroupSize;
        var groupBy = GroupField(schema, groupByName);
        var output = OutputFields.Resolve(schema, input.OutputFields);
        var rowCount = _engine.CountRows(name, db);
        var perQuery = Math.Min(rowCount, ((long)rank.Limit + rank.Offset) * (groupBy is null ? 1 : Math.Max(1, groupSize)));
        var nq = Nq(subs[0]);
        var estimate = ResultBudget.Check(nq * perQuery, ResultBudget.BytesPerItem(schema, output, withScore: true),
            _options.Memory.MaxResultBytes, "hybrid search",
            $"nq {nq} × min(limit {rank.Limit} + offset {rank.Offset}{(groupBy is null ? "" : $" groups × group_size {groupSize}")}, {rowCount} rows)");
        CallInfo.Of(context).ResultBytes = estimate;
        var hits = await _engine.HybridSearchColumnsAsync(name, new Quiver.HybridRequest
        {
            Requests = subs,
            Ranker = rank.Ranker,
            Limit = rank.Limit,
            Offset = rank.Offset,
            OutputFields = WithGroupField(output, groupBy),
            Partitions = partitions,
            GroupByField = groupBy?.Name,
            GroupSize = groupSize,
            Timezone = rank.Timezone,
        }, db, ct).ConfigureAwait(false);
        return new HybridAnswer(schema, rank.Limit, rank.RoundDecimal, output, groupBy, hits);
    }

    /// <summary>The fusion settings of a HybridSearchRequest.</summary>
    internal sealed record HybridRankParams(HybridRanker Ranker, int Limit, int Offset, int RoundDecimal, string? GroupByField, int GroupSize, string? Timezone)
    {
        public static HybridRankParams Parse(RepeatedField<KeyValuePair> pairs, Protocol.Schema.FunctionScore? functionScore)
        {
            string? strategy = null;
            string? paramsJson = null;
            var rest = new RepeatedField<KeyValuePair>();
            foreach (var pair in pairs)
            {
                switch (pair.Key)
                {
                    case "strategy":
                        strategy = pair.Value;
                        break;
                    case "params":
                        paramsJson = pair.Value;
                        break;
                    default:
                        rest.Add(pair);
                        break;
                }
            }

            // limit, offset, round_decimal and the group-by keys read as a search's are.
            var settings = SearchParamsParser.Parse(rest);
            return Checked(settings, functionScore is { Functions.Count: > 0 } ? FromFunctionScore(functionScore) : FromRankParams(strategy, paramsJson));
        }

        /// <summary>The fusion settings of a REST hybrid search: the body's <c>rerank.strategy</c> and <c>rerank.params</c>
        /// object (<paramref name="parameters"/>; null when absent or null, read as an empty object), and its limit, offset,
        /// rounding, grouping and timezone as the values <see cref="SearchParamsParser.FromValues"/> reads. Refused in the
        /// words, and in the order, of <see cref="Parse"/>.</summary>
        public static HybridRankParams Of(string? strategy, JsonElement? parameters, IReadOnlyDictionary<string, string> values)
        {
            var settings = SearchParamsParser.FromValues(values);
            if (string.IsNullOrWhiteSpace(strategy))
            {
                return Checked(settings, HybridRanker.Rrf());
            }

            var name = RankerName(strategy);
            return Checked(settings, parameters is { } given ? FromParams(name, given) : FromValues(name, []));
        }

        private static HybridRankParams Checked(SearchSettings settings, HybridRanker ranker)
        {
            if (settings.TopK is < 1 or > MaxTopKOrNq)
            {
                throw new MilvusException(MilvusCode.ParameterInvalid, $"rank_params: limit [{settings.TopK}] is invalid, it should be in range [1, {MaxTopKOrNq}]");
            }

            if (settings.Offset < 0 || (long)settings.Offset + settings.TopK > MaxTopKOrNq)
            {
                throw new MilvusException(MilvusCode.ParameterInvalid,
                    $"rank_params: offset [{settings.Offset}] is invalid: offset + limit must be at most {MaxTopKOrNq}, got {(long)settings.Offset + settings.TopK}");
            }

            return new HybridRankParams(ranker, settings.TopK, settings.Offset, settings.RoundDecimal, settings.GroupByField, settings.GroupSize, settings.Timezone);
        }

        /// <summary>The legacy form: <c>strategy</c> rrf or weighted (rrf with k = 60 when absent) and its <c>params</c>.</summary>
        private static HybridRanker FromRankParams(string? strategy, string? paramsJson)
        {
            if (string.IsNullOrWhiteSpace(strategy))
            {
                return HybridRanker.Rrf();
            }

            var name = RankerName(strategy);
            if (string.IsNullOrWhiteSpace(paramsJson))
            {
                throw new MilvusException(MilvusCode.ParameterInvalid, "rank_params: params not found (the ranker's parameters as JSON, e.g. {\"k\": 60})");
            }

            try
            {
                using var doc = JsonLimits.ParseText(paramsJson);
                return FromParams(name, doc.RootElement);
            }
            catch (JsonException e)
            {
                throw Refused($"rank_params: params is not valid JSON: {e.Message}");
            }
        }

        /// <summary>A legacy strategy's name, lower case: rrf or weighted.</summary>
        private static string RankerName(string strategy)
        {
            var name = strategy.Trim().ToLowerInvariant();
            return name is "rrf" or "weighted" ? name : throw Refused($"rank_params: unsupported rank type {strategy}; use rrf or weighted");
        }

        /// <summary>The ranker <paramref name="name"/> with its parameters <paramref name="parameters"/> (a JSON object).</summary>
        private static HybridRanker FromParams(string name, JsonElement parameters)
        {
            if (parameters.ValueKind != JsonValueKind.Object)
            {
                throw Refused($"rank_params: params must be a JSON object, got {parameters.ValueKind}");
            }

            var values = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var p in parameters.EnumerateObject())
            {
                values[p.Name] = p.Value.Clone();
            }

            return FromValues(name, values);
        }

        private static HybridRanker FromValues(string name, Dictionary<string, JsonElement> values) => name == "rrf"
            ? HybridRanker.Rrf(values.TryGetValue("k", out var k) ? Number(k, "k") : 60)
            : HybridRanker.Weighted(values.TryGetValue("weights", out var w) ? Weights(w) : throw Refused("rank_params: weights not found for the weighted ranker"),
                values.TryGetValue("norm_score", out var norm) && (norm.ValueKind is JsonValueKind.True or JsonValueKind.False
                    ? norm.GetBoolean()
                    : throw Refused($"rank_params: norm_score must be true or false, got {norm.GetRawText()}")));

        /// <summary>Milvus 2.6's form: one function of type Rerank whose params name the <c>reranker</c>.</summary>
        private static HybridRanker FromFunctionScore(Protocol.Schema.FunctionScore score)
        {
            if (score.Functions.Count != 1)
            {
                throw Refused($"function_score: currently only one rerank function is supported, got {score.Functions.Count}");
            }

            var function = score.Functions[0];
            if (function.Type != Protocol.Schema.FunctionType.Rerank)
            {
                throw Refused($"function_score: function '{function.Name}' is {function.Type}, not a Rerank function");
            }

            // Keys as Milvus reads them: case-insensitive, the last of a repeated key wins.
            var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var p in function.Params)
            {
                values[p.Key] = p.Value;
            }

            var reranker = values.GetValueOrDefault("reranker")?.Trim().ToLowerInvariant();
            switch (reranker)
            {
                case "rrf":
                    return HybridRanker.Rrf(values.TryGetValue("k", out var k)
                        ? double.TryParse(k, NumberStyles.Float, CultureInfo.InvariantCulture, out var kv) ? kv : throw Refused($"function_score: param k:{k} is not a number")
                        : 60);
                case "weighted":
                    JsonElement weights;
                    try
                    {
                        using var doc = JsonLimits.ParseText(values.GetValueOrDefault("weights") ?? throw Refused("function_score: weights not found for the weighted reranker"));
                        weights = doc.RootElement.Clone();
                    }
                    catch (JsonException)
                    {
                        throw Refused($"function_score: weights must be a JSON array of numbers, got {values["weights"]}");
                    }

                    var norm = false;
                    if (values.TryGetValue("norm_score", out var n) && !bool.TryParse(n, out norm))
                    {
                        throw Refused($"function_score: norm_score must be true or false, got {n}");
                    }

                    return HybridRanker.Weighted(Weights(weights), norm);
                default:
                    throw Refused($"function_score: rerank function '{reranker ?? ""}' is not supported by Quiver; use reranker rrf or weighted");
            }
        }

        private static float[] Weights(JsonElement weights) => weights.ValueKind == JsonValueKind.Array
            ? [.. weights.EnumerateArray().Select(w => (float)Number(w, "weights"))]
            : throw Refused($"the weighted ranker's weights must be an array of numbers, got {weights.GetRawText()}");

        private static double Number(JsonElement value, string name) => value.ValueKind == JsonValueKind.Number
            ? value.GetDouble()
            : throw Refused($"rank param {name} must be a number, got {value.GetRawText()}");

        private static MilvusException Refused(string reason) => new(MilvusCode.ParameterInvalid, reason);
    }
}
