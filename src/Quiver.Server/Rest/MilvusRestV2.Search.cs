using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Server.Milvus;
using Quiver.Server.Milvus.Data;

namespace Quiver.Server.Rest;

internal static partial class MilvusRestV2
{
    // ---- search and hybrid search ----

    // A REST search is read from its JSON straight into the values the Milvus rules take (SearchInput: vectors in the
    // engine's forms, template values, typed settings) and runs through the same rules as a gRPC search
    // (MilvusGrpcService.SearchColumnsAsync), with no Milvus message between: the pipeline takes the input's database
    // and collection, the gate its typed searches.

    private static async Task<JsonNode?> SearchAsync(RestRequest r)
    {
        var collection = r.RequiredString("collectionName");
        var data = r.RequiredArray("data");
        // Read before the call without the schema (vectors read as floats), so that the gate sees nq, dimension and
        // top-k; the vector field is resolved inside the call.
        var (filter, source) = SearchOf(r.Body, "$", data, r.Root.GetProperty("data"));
        var outputFields = r.OptionalStrings("outputFields") ?? [];
        var partitions = r.OptionalStrings("partitionNames") ?? [];
        // Consistency is read for its refusal only: every search sees every acknowledged write (docs/server-data.md).
        SetConsistency(r, out _, out _);
        var grouping = r.OptionalString("groupingField");
        if (!string.IsNullOrEmpty(grouping))
        {
            source.Pairs["group_by_field"] = grouping;
            if (r.OptionalLong("groupSize") is > 0 and var size)
            {
                source.Pairs["group_size"] = size.ToString(CultureInfo.InvariantCulture);
                source.Pairs["strict_group_size"] = (r.OptionalBool("strictGroupSize") ?? false) ? "true" : "false";
            }
        }
        var input = InputOf(r, collection, partitions, outputFields, filter, data.Count, source);
        // The vector field is resolved on the schema the search looks up (one lookup per search).
        var answer = await r.CallAsync("Search", input, async (q, context) =>
            new Answered<MilvusGrpcService.SearchAnswer>(await r.Service.SearchColumnsAsync(q, context,
                c => source.Resolve(c, "$", data)).ConfigureAwait(false)), [source.Typed]).ConfigureAwait(false);
        var search = answer.Value!;
        // A search iterator page (asked for through search params) is written from its columns as hits are.
        WriteHits(r, search.Output, search.Hits ?? search.Page!.Hits, search.Settings.RoundDecimal);
        return null;
    }

    private static async Task<JsonNode?> HybridSearchAsync(RestRequest r)
    {
        var collection = r.RequiredString("collectionName");
        var searches = r.RequiredArray("search");
        var outputFields = r.OptionalStrings("outputFields") ?? [];
        var partitions = r.OptionalStrings("partitionNames") ?? [];
        SetConsistency(r, out _, out _);
        var requests = new SearchInput[searches.Count];
        var sources = new RestSearchSource[searches.Count];
        for (var i = 0; i < searches.Count; i++)
        {
            var path = $"$.search[{i}]";
            var body = RestRequest.ObjectOf(searches[i], path) ?? throw RestRequest.Format(path, "must be an object, got null");
            var data = body["data"] as JsonArray is { Count: > 0 } array ? array : throw RestRequest.Missing($"search[{i}].data", "non-empty array");
            var (filter, source) = SearchOf(body, path, data, r.Root.GetProperty("search")[i].GetProperty("data"));
            sources[i] = source;
            // Offset, grouping, partitions and output fields belong to the hybrid search; the rules ignore them per request.
            requests[i] = InputOf(r, collection, partitions, outputFields, filter, data.Count, source);
        }
        var rerank = r.OptionalObject("rerank") ?? throw RestRequest.Missing("rerank", "object {strategy, params}");
        var strategy = RestRequest.StringOf(rerank["strategy"], "$.rerank.strategy") ?? throw RestRequest.Missing("rerank.strategy", "string");
        // The ranker's parameters are read from the body as parsed (absent or null: none), by the rules, where a gRPC
        // hybrid search's rank_params are read.
        JsonElement? parameters = r.Root.GetProperty("rerank").TryGetProperty("params", out var given) && given.ValueKind != JsonValueKind.Null
            ? given
            : null;
        var rank = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["limit"] = (r.OptionalLong("limit") ?? 100).ToString(CultureInfo.InvariantCulture),
            ["offset"] = (r.OptionalLong("offset") ?? 0).ToString(CultureInfo.InvariantCulture),
            ["round_decimal"] = "-1",
        };
        var grouping = r.OptionalString("groupingField");
        if (!string.IsNullOrEmpty(grouping))
        {
            rank["group_by_field"] = grouping;
            if (r.OptionalLong("groupSize") is > 0 and var size)
            {
                rank["group_size"] = size.ToString(CultureInfo.InvariantCulture);
            }
        }
        // The hybrid search's own timezone (Quiver's body key, as on query and search).
        if (r.OptionalString(Timestamptz.TimezoneProperty) is { } timezone)
        {
            rank[Timestamptz.TimezoneProperty] = timezone;
        }
        var input = new HybridSearchInput
        {
            Database = r.DatabaseOrDefault,
            Collection = collection,
            Partitions = partitions,
            OutputFields = outputFields,
            Requests = requests,
            Rank = () => MilvusGrpcService.HybridRankParams.Of(strategy, parameters, rank),
        };
        // Each request's vector field is resolved on the schema the hybrid search looks up (one lookup per call), and the
        // fused hits are written from the engine's columns, as a search's are.
        var answer = await r.CallAsync("HybridSearch", input, async (q, context) =>
            new Answered<MilvusGrpcService.HybridAnswer>(await r.Service.HybridSearchColumnsAsync(q, context, c =>
            {
                for (var i = 0; i < sources.Length; i++)
                {
                    sources[i].Resolve(c, $"$.search[{i}]", (JsonArray)((JsonObject)searches[i]!)["data"]!);
                }
            }).ConfigureAwait(false)), [.. sources.Select(s => s.Typed)]).ConfigureAwait(false);
        var hybrid = answer.Value!;
        WriteHits(r, hybrid.Output, hybrid.Hits, hybrid.RoundDecimal);
        return null;
    }

    /// <summary>A search of the body as the rules take it.</summary>
    private static SearchInput InputOf(RestRequest r, string collection, IReadOnlyList<string> partitions, IReadOnlyList<string> outputFields,
        string filter, int nq, RestSearchSource source) => new()
    {
        Database = r.DatabaseOrDefault,
        Collection = collection,
        Partitions = partitions,
        OutputFields = outputFields,
        Filter = filter,
        StatedNq = nq,
        Source = source,
    };

    /// <summary>One search of a search body (the top-level one or a hybrid_search sub-request at <paramref name="path"/>):
    /// its filter, and its vectors, template values and settings as the rules read them. The vectors are read before the
    /// schema is known, as float vectors of any dimension (sparse vectors when the first is an object, texts when it is a
    /// string); <paramref name="dataElement"/> (<paramref name="data"/> as parsed) gives plain float vectors without
    /// building nodes. <see cref="RestSearchSource.Resolve"/> reads them again for the field's type where needed.</summary>
    private static (string Filter, RestSearchSource Source) SearchOf(JsonObject body, string path, JsonArray data, JsonElement dataElement)
    {
        var annsField = RestRequest.StringOf(body["annsField"], path + ".annsField") ?? "";
        var filter = RestRequest.StringOf(body["filter"], path + ".filter") ?? "";
        var floatDim = 0;
        RestQueries queries;
        if (RestVectors.TryFloats(dataElement) is var (floats, dim))
        {
            queries = new RestQueries(Protocol.Common.PlaceholderType.FloatVector, Floats: floats);
            floatDim = dim;
        }
        else
        {
            // Without the schema, objects in data are sparse vectors ({"index": value}), strings are texts (a search of a
            // function's output field); anything else reads as float vectors.
            var type = data.FirstOrDefault() is JsonObject ? DataType.SparseFloatVector : DataType.FloatVector;
            var textInput = data.Count > 0 && data[0]?.GetValueKind() == JsonValueKind.String;
            queries = RestVectors.Read(data, type, 0, textInput, path + ".data");
        }
        var source = new RestSearchSource(queries, floatDim, annsField, RestTemplates.Values(body["exprParams"], path + ".exprParams"));
        var limit = body["limit"] is { } l ? RestRequest.LongOf(l, path + ".limit") : 100;
        var offset = body["offset"] is { } o ? RestRequest.LongOf(o, path + ".offset") : 0;
        var searchParams = RestRequest.ObjectOf(body["searchParams"], path + ".searchParams");
        var inner = RestRequest.ObjectOf(searchParams?["params"], path + ".searchParams.params") ?? [];
        // Milvus accepts the inner params both nested ({"params": {...}}) and flat (radius, range_filter, ef...); the
        // nested value wins.
        foreach (var (key, value) in inner)
        {
            source.Params[key] = SearchParamsParser.ParamText(value);
        }
        if (searchParams is not null)
        {
            foreach (var (key, value) in searchParams)
            {
                if (key is not ("params" or "metricType" or "metric_type" or "ignoreGrowing" or "hints"))
                {
                    source.Params.TryAdd(key, SearchParamsParser.ParamText(value));
                }
            }
        }
        var metric = searchParams?["metricType"] ?? searchParams?["metric_type"] ?? body["metricType"];
        if (metric is not null)
        {
            source.Pairs["metric_type"] = RestRequest.ParamText(metric);
        }
        var ignoreGrowing = searchParams?["ignoreGrowing"] ?? body["ignoreGrowing"];
        source.Pairs["ignore_growing"] = ignoreGrowing is not null && RestRequest.BoolOf(ignoreGrowing, path + ".ignoreGrowing") ? "true" : "false";
        if (searchParams?["hints"] is { } hints)
        {
            source.Pairs["hints"] = RestRequest.ParamText(hints);
        }
        source.Pairs["round_decimal"] = "-1";
        source.Pairs["topk"] = limit.ToString(CultureInfo.InvariantCulture);
        source.Pairs["offset"] = offset.ToString(CultureInfo.InvariantCulture);
        source.Pairs["anns_field"] = annsField;
        if (RestRequest.StringOf(body[Timestamptz.TimezoneProperty], path + ".timezone") is { } timezone)
        {
            source.Pairs[Timestamptz.TimezoneProperty] = timezone;
        }
        return (filter, source);
    }

    /// <summary>
    /// A REST search as the Milvus rules read it: its queries (read before the call without the schema, then for the
    /// resolved field's type, <see cref="Resolve"/>), its filter's template values, and its settings held as text key by
    /// key: the body's own keys (<see cref="Pairs"/>: limit, offset, metric, anns field, grouping, ...) and its
    /// <c>searchParams</c> object (<see cref="Params"/>, whose keys win, as a <c>params</c> JSON's do over gRPC's pairs),
    /// read into typed settings by the one reader gRPC's pairs go through (<see cref="SearchParamsParser.FromValues"/>),
    /// once per call.
    /// </summary>
    private sealed class RestSearchSource : SearchSource
    {
        private RestQueries _queries;
        private readonly int _floatDim;
        private readonly string _annsField;
        private readonly IReadOnlyDictionary<string, object?>? _templates;

        public RestSearchSource(RestQueries queries, int floatDim, string annsField, IReadOnlyDictionary<string, object?>? templates)
        {
            _queries = queries;
            _floatDim = floatDim;
            _annsField = annsField;
            _templates = templates;
            // nq and dimension as the gate counts a gRPC search's: the queries sent, the first float vector's length.
            Typed = new TypedSearch(queries.Count, queries.Dimension, Read);
        }

        /// <summary>The values the body's own keys give.</summary>
        public Dictionary<string, string> Pairs { get; } = new(StringComparer.Ordinal);

        /// <summary>The members of <c>searchParams</c> (its <c>params</c> object's over its own).</summary>
        public Dictionary<string, string> Params { get; } = new(StringComparer.Ordinal);

        /// <summary>The search as the gate and the rules take its settings.</summary>
        public TypedSearch Typed { get; }

        /// <inheritdoc />
        public override SearchSettings Settings(MilvusGrpcService service) => Typed.Settings;

        /// <inheritdoc />
        public override IReadOnlyDictionary<string, object?>? FilterParams() => _templates;

        /// <inheritdoc />
        public override QueryValues Read(FieldSchema field) => ReadOne(field, _queries.Type, _queries.Floats, _queries.Rows, _queries.Texts);

        /// <summary>Completes the search on the collection the call looked up: the vector field resolved (named, or the
        /// only one) and named in the settings unless the <c>searchParams</c> name one themselves (which win, as over
        /// gRPC); the vectors read again for its type and dimension, unless they were read as float vectors of the
        /// field's dimension and the field is a FLOAT_VECTOR field that no function fills (reading them again would give
        /// the same floats).</summary>
        public void Resolve(ResolvedCollection collection, string path, JsonArray data)
        {
            var field = VectorField(collection, _annsField);
            var textInput = collection.Schema.Functions.Any(f => f.OutputFieldNames.Contains(field.Name));
            if (_floatDim == 0 || field.DataType != DataType.FloatVector || textInput || field.Dimension != _floatDim)
            {
                _queries = RestVectors.Read(data, field.DataType, field.Dimension ?? 0, textInput, path + ".data");
            }
            Typed.Complete(settings => settings with
            {
                AnnsField = Params.TryGetValue("anns_field", out var named) ? SearchParamsParser.NonEmptyText(named) : field.Name,
            });
        }

        private SearchSettings Read()
        {
            var values = new Dictionary<string, string>(Pairs, StringComparer.Ordinal);
            foreach (var (key, value) in Params)
            {
                values[key] = value;
            }
            return SearchParamsParser.FromValues(values);
        }
    }

    /// <summary>The vector field a search targets: <paramref name="annsField"/>, or the only vector field.</summary>
    private static FieldSchema VectorField(ResolvedCollection collection, string annsField)
    {
        var fields = collection.Schema.Fields;
        if (annsField.Length > 0)
        {
            return fields.FirstOrDefault(f => f.Name == annsField && (f.IsVector || f.IsSparseVector))
                ?? throw new MilvusException(MilvusCode.IncorrectParameterFormat,
                    $"invalid parameter format, error: cannot find a vector field named '{annsField}'");
        }
        var vectors = fields.Where(f => f.IsVector || f.IsSparseVector).ToList();
        return vectors.Count switch
        {
            1 => vectors[0],
            0 => throw new MilvusException(MilvusCode.IncorrectParameterFormat,
                $"invalid parameter format, error: collection {collection.Name} has no vector field"),
            _ => throw new MilvusException(MilvusCode.IncorrectParameterFormat,
                $"invalid parameter format, error: search without annsField, but found multiple vector fields: " +
                string.Join(", ", vectors.Select(v => v.Name))),
        };
    }
}
