using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Protocol.Common;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using Quiver.Server.Milvus;
using Quiver.Wire;
using WireConsistency = Quiver.Protocol.Common.ConsistencyLevel;
using WireField = Quiver.Protocol.Schema.FieldSchema;
using WireQuery = Quiver.Protocol.Milvus.QueryRequest;
using WireSchema = Quiver.Protocol.Schema.CollectionSchema;
using WireSearch = Quiver.Protocol.Milvus.SearchRequest;
using WireType = Quiver.Protocol.Schema.DataType;

namespace Quiver.Server.Rest;

internal static partial class MilvusRestV2
{
    // ---- entities ----

    // The data endpoints run one call each through the pipeline (gate, limits, metrics and audit count it once, under
    // the RPC it stands for) and call the service's transport-free methods; the schema is read inside the call, after
    // the gate, from the engine (cached per schema version), never through DescribeCollection.

    private static async Task<JsonNode?> InsertAsync(RestRequest r)
    {
        var collection = r.RequiredString("collectionName");
        var rows = RowsOf(r);
        // The gate reads num_rows for the rows-per-request limit; the rows are converted inside the call.
        var request = new InsertRequest
        {
            DbName = r.DatabaseOrDefault,
            CollectionName = collection,
            PartitionName = r.OptionalString("partitionName") ?? "",
            NumRows = (uint)rows.Count,
        };
        var result = await r.CallAsync("Insert", request,
            (q, context) => WriteRowsAsync(r, q.CollectionName, q.PartitionName, rows, upsert: false, context)).ConfigureAwait(false);
        return new JsonObject { ["insertCount"] = result.InsertCnt, ["insertIds"] = IdsJson(result.IDs, r.AllowInt64) };
    }

    private static async Task<JsonNode?> UpsertAsync(RestRequest r)
    {
        var collection = r.RequiredString("collectionName");
        var rows = RowsOf(r);
        // The gate reads num_rows for the rows-per-request limit; the rows are converted inside the call.
        var request = new UpsertRequest
        {
            DbName = r.DatabaseOrDefault,
            CollectionName = collection,
            PartitionName = r.OptionalString("partitionName") ?? "",
            NumRows = (uint)rows.Count,
        };
        var result = await r.CallAsync("Upsert", request,
            (q, context) => WriteRowsAsync(r, q.CollectionName, q.PartitionName, rows, upsert: true, context)).ConfigureAwait(false);
        return new JsonObject { ["upsertCount"] = result.UpsertCnt, ["upsertIds"] = IdsJson(result.IDs, r.AllowInt64) };
    }

    /// <summary>The rows of a write body: its text kept by <see cref="RestRowsBody"/>, else the parsed <c>data</c> (a
    /// non-empty array, refused with 1802/1801 otherwise).</summary>
    private static BodyRows RowsOf(RestRequest r)
    {
        if (r.Rows is { } kept)
        {
            return new BodyRows(kept, default, kept.Count);
        }

        var element = r.RequiredArrayElement("data");
        return new BodyRows(null, element, element.GetArrayLength());
    }

    /// <summary>A write body's rows, as text or as the parsed array.</summary>
    private readonly record struct BodyRows(RestRowsBody? Text, JsonElement Element, int Count);

    /// <summary>REST rows written through the service: the JSON rows straight into engine columns for the collection's
    /// current schema (<see cref="RestJsonReader"/>; a value that does not fit is 1804 naming row and field). An auto-id
    /// key is left out on insert.</summary>
    private static Task<Protocol.Milvus.MutationResult> WriteRowsAsync(RestRequest r, string collection, string partition, BodyRows rows,
        bool upsert, Grpc.Core.ServerCallContext context) =>
        r.Service.WriteAsync(r.DatabaseOrDefault, collection, partition, (schema, zone) => rows.Text is { } text
            ? ReadRows(schema, text.Rows.Span, text.Count, insert: !upsert, zone)
            : ReadRows(schema, rows.Element, insert: !upsert, zone), upsert, context);

    /// <summary>The rows of an insert or upsert body as engine columns; a row value that does not fit is Milvus's 1804.</summary>
    internal static ColumnBatch ReadRows(CollectionSchema schema, JsonElement rows, bool insert, TimeZoneInfo? zone = null)
    {
        try
        {
            return RestJsonReader.Read(schema, rows, insert, zone);
        }
        catch (RestDataException e)
        {
            throw InvalidInsertData(e);
        }
    }

    /// <summary>As <see cref="ReadRows(CollectionSchema, JsonElement, bool, TimeZoneInfo)"/>, from the text of the rows (one pass, no
    /// document), with the same answers.</summary>
    internal static ColumnBatch ReadRows(CollectionSchema schema, ReadOnlySpan<byte> rows, int count, bool insert, TimeZoneInfo? zone = null)
    {
        try
        {
            return RestJsonReader.Read(schema, rows, count, insert, zone);
        }
        catch (RestDataException e)
        {
            throw InvalidInsertData(e);
        }
    }

    private static MilvusException InvalidInsertData(RestDataException e) =>
        new(MilvusCode.InvalidInsertData, "fail to deal with insert data, error: " + e.Message);

    /// <summary>An Int64 value as Milvus's REST API returns it: a string, or a number when the client allows.</summary>
    internal static JsonNode Int64Node(long value, bool allowInt64) =>
        allowInt64 ? JsonValue.Create(value) : JsonValue.Create(value.ToString(CultureInfo.InvariantCulture));

    /// <summary>Primary keys as Milvus's REST API returns them (Int64 as strings unless the client allows numbers).</summary>
    internal static JsonArray IdsJson(IDs? ids, bool allowInt64) => ids?.IdFieldCase switch
    {
        IDs.IdFieldOneofCase.IntId => new JsonArray(ids.IntId.Data.Select(id => (JsonNode?)Int64Node(id, allowInt64)).ToArray()),
        IDs.IdFieldOneofCase.StrId => Strings(ids.StrId.Data),
        _ => [],
    };

    private static async Task<JsonNode?> DeleteAsync(RestRequest r)
    {
        var collection = r.RequiredString("collectionName");
        var filter = r.OptionalString("filter");
        var byId = string.IsNullOrEmpty(filter);
        if (byId && r.Body["id"] is null)
        {
            throw RestRequest.Missing("filter", "string (or 'id')");
        }
        var request = new DeleteRequest
        {
            DbName = r.DatabaseOrDefault,
            CollectionName = collection,
            PartitionName = r.OptionalString("partitionName") ?? "",
            Expr = filter ?? "",
        };
        RestTemplates.Add(r.Body["exprParams"], "$.exprParams", request.ExprTemplateValues);
        // A delete by id builds its key filter on the schema the delete looks up (one lookup per delete).
        var result = await r.CallAsync("Delete", request, (q, context) => r.Service.DeleteAsync(q, context,
            byId ? c => q.Expr = IdFilter(r.Service.ProtoSchema(c), r.Body["id"]!) : null)).ConfigureAwait(false);
        return new JsonObject { ["deleteCount"] = result.DeleteCnt };
    }

    /// <summary>The filter <c>pk in [...]</c> for the body's <c>id</c> (one key or a list).</summary>
    internal static string IdFilter(WireSchema schema, JsonNode id)
    {
        var primary = schema.Fields.FirstOrDefault(f => f.IsPrimaryKey)
            ?? throw new MilvusException(MilvusCode.ParameterInvalid, $"collection {schema.Name} has no primary field");
        var items = id is JsonArray array ? array.ToList() : [id];
        if (items.Count == 0)
        {
            throw RestRequest.Missing("id", "primary key or non-empty list of primary keys");
        }
        var keys = new List<string>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var path = id is JsonArray ? $"$.id[{i}]" : "$.id";
            var item = items[i] ?? throw RestRequest.Format(path, "must be a primary key, got null");
            keys.Add(primary.DataType == WireType.Int64
                ? RestRequest.LongOf(item, path).ToString(CultureInfo.InvariantCulture)
                : Quoted(RestRequest.StringOf(item, path) ?? ""));
        }
        return $"{primary.Name} in [{string.Join(",", keys)}]";
    }

    /// <summary>A string literal of Milvus's filter language.</summary>
    private static string Quoted(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private static async Task<JsonNode?> QueryAsync(RestRequest r)
    {
        var outputFields = r.OptionalStrings("outputFields") ?? ["*"];
        var request = new WireQuery
        {
            DbName = r.DatabaseOrDefault,
            CollectionName = r.RequiredString("collectionName"),
            Expr = r.OptionalString("filter") ?? "",
            OutputFields = { outputFields },
            PartitionNames = { r.OptionalStrings("partitionNames") ?? [] },
        };
        RestTemplates.Add(r.Body["exprParams"], "$.exprParams", request.ExprTemplateValues);
        SetConsistency(r, out var level, out var useDefault);
        request.ConsistencyLevel = level;
        request.UseDefaultConsistency = useDefault;
        var offset = r.OptionalLong("offset") ?? 0;
        var limit = r.OptionalLong("limit") ?? 100;
        var count = outputFields.Count == 1 && outputFields[0].Trim().Equals("count(*)", StringComparison.OrdinalIgnoreCase);
        if (offset > 0)
        {
            request.QueryParams.Add(new KeyValuePair { Key = "offset", Value = offset.ToString(CultureInfo.InvariantCulture) });
        }
        if (limit > 0 && !count)
        {
            request.QueryParams.Add(new KeyValuePair { Key = "limit", Value = limit.ToString(CultureInfo.InvariantCulture) });
        }
        if (r.OptionalString(Timestamptz.TimezoneProperty) is { } timezone)
        {
            request.QueryParams.Add(new KeyValuePair { Key = Timestamptz.TimezoneProperty, Value = timezone });
        }

        await QueryRowsAsync(r, request, null).ConfigureAwait(false);
        return null;
    }

    /// <summary>Runs a query (or a get, whose filter <paramref name="filter"/> builds inside the call from the schema the
    /// call looked up) and writes its rows straight from the engine's columns.</summary>
    private static async Task QueryRowsAsync(RestRequest r, WireQuery request, Func<WireSchema, string>? filter)
    {
        var answer = await r.CallAsync("Query", request, async (q, context) =>
            new Answered<MilvusGrpcService.QueryAnswer>(await r.Service.QueryColumnsAsync(q, context,
                filter is null ? null : c => q.Expr = filter(r.Service.ProtoSchema(c))).ConfigureAwait(false))).ConfigureAwait(false);
        var query = answer.Value!;
        if (query.Count is { } count)
        {
            r.WriteData = w =>
            {
                w.WriteStartArray();
                w.WriteStartObject();
                w.WritePropertyName(MilvusGrpcService.CountStar);
                RestJsonWriter.WriteInt64(w, count, r.AllowInt64);
                w.WriteEndObject();
                w.WriteEndArray();
            };
            return;
        }
        var rows = query.Rows!;
        var fields = rows.Columns.Select(c => query.Schema.Find(c.Name)).OfType<FieldSchema>().ToList();
        r.WriteData = w => RestJsonWriter.WriteRows(w, fields, rows, query.Output!.Names, null, null, r.AllowInt64);
    }

    private static async Task<JsonNode?> GetAsync(RestRequest r)
    {
        var collection = r.RequiredString("collectionName");
        var id = r.Body["id"] ?? throw RestRequest.Missing("id", "primary key or list of primary keys");
        var request = new WireQuery
        {
            DbName = r.DatabaseOrDefault,
            CollectionName = collection,
            OutputFields = { r.OptionalStrings("outputFields") ?? ["*"] },
            PartitionNames = { r.OptionalStrings("partitionNames") ?? [] },
            UseDefaultConsistency = true,
        };
        await QueryRowsAsync(r, request, schema => IdFilter(schema, id)).ConfigureAwait(false);
        return null;
    }

    private static void SetConsistency(RestRequest r, out WireConsistency level, out bool useDefault)
    {
        var name = r.OptionalString("consistencyLevel");
        useDefault = string.IsNullOrEmpty(name);
        level = useDefault ? WireConsistency.Bounded : RestSchema.ParseConsistency(name!, "$.consistencyLevel");
    }

    private static async Task<JsonNode?> SearchAsync(RestRequest r)
    {
        var collection = r.RequiredString("collectionName");
        var data = r.RequiredArray("data");
        // Built before the call without the schema (vectors read as floats), so that the gate sees nq, dimension and
        // top-k; the vector field is resolved inside the call.
        var request = SearchRequestOf(r, r.Body, "$", null, collection, data, r.Root.GetProperty("data"), out var floatDim, out var values);
        request.OutputFields.Add(r.OptionalStrings("outputFields") ?? []);
        request.PartitionNames.Add(r.OptionalStrings("partitionNames") ?? []);
        SetConsistency(r, out var level, out var useDefault);
        request.ConsistencyLevel = level;
        request.UseDefaultConsistency = useDefault;
        var grouping = r.OptionalString("groupingField");
        if (!string.IsNullOrEmpty(grouping))
        {
            values.Pairs["group_by_field"] = grouping;
            if (r.OptionalLong("groupSize") is > 0 and var size)
            {
                values.Pairs["group_size"] = size.ToString(CultureInfo.InvariantCulture);
                values.Pairs["strict_group_size"] = (r.OptionalBool("strictGroupSize") ?? false) ? "true" : "false";
            }
        }
        // The gate and the handler take the settings typed (read once, inside the call); the vector field is resolved on
        // the schema the search looks up (one lookup per search).
        var typed = values.Typed(request);
        var answer = await r.CallAsync("Search", request, async (q, context) =>
            new Answered<MilvusGrpcService.SearchAnswer>(await r.Service.SearchColumnsAsync(q, context,
                c => values.Complete(typed, ResolveVectorField(q, r.Service.ProtoSchema(c), r.Body, "$", data, floatDim)),
                typed).ConfigureAwait(false)), [typed]).ConfigureAwait(false);
        var search = answer.Value!;
        if (search.Hits is not { } hits)
        {
            // A search iterator page (asked for through search params) keeps Milvus's result form.
            return SearchRows(r, search.Page!.Results);
        }
        WriteHits(r, search.Output, hits, search.Settings.RoundDecimal);
        return null;
    }

    /// <summary>A search's or hybrid search's hits as Milvus's REST API prints them, straight from the engine's columns:
    /// one flat list of rows (<c>id</c>, <c>distance</c>, output fields) over all queries, the per-query counts in the
    /// top-level <c>topks</c>.</summary>
    private static void WriteHits(RestRequest r, Milvus.Data.OutputFields output, SearchColumns hits, int roundDecimal)
    {
        r.Extra["topks"] = new JsonArray(hits.Counts.Select(k => (JsonNode?)(long)k).ToArray());
        r.WriteData = w => RestJsonWriter.WriteRows(w, output.Declared, hits.Fields, output.Names, hits.Ids,
            RoundScores(hits.Scores, roundDecimal), r.AllowInt64);
    }

    /// <summary>Scores rounded as Milvus rounds them for <c>round_decimal</c> (-1: as computed).</summary>
    private static float[] RoundScores(float[] scores, int roundDecimal) => roundDecimal < 0
        ? scores
        : [.. scores.Select(s => (float)Math.Round(s, Math.Min(roundDecimal, 15), MidpointRounding.AwayFromZero))];

    /// <summary>Search results in Milvus's result form as Milvus's REST API prints them: one flat list of rows (<c>id</c>,
    /// <c>distance</c>, output fields) over all queries, with the per-query counts in the top-level <c>topks</c>. The
    /// columns are read back into engine columns and written by the same writer as a search's.</summary>
    private static JsonArray? SearchRows(RestRequest r, SearchResultData? data)
    {
        if (data is null || data.TopK == 0)
        {
            return [];
        }
        r.Extra["topks"] = new JsonArray(data.Topks.Select(k => (JsonNode?)k).ToArray());
        var count = data.FieldsData.Count > 0 ? FieldDataReader.RowCount(data.FieldsData[0]) : PrimaryKeys.Count(data.Ids);
        var (rows, fields) = FieldDataReader.ReadResult(data.FieldsData, count);
        var ids = data.Ids?.IdFieldCase == IDs.IdFieldOneofCase.StrId
            ? new FieldColumn { Name = RestJsonWriter.IdKey, Strings = [.. data.Ids.StrId.Data] }
            : new FieldColumn { Name = RestJsonWriter.IdKey, Longs = [.. data.Ids?.IntId?.Data ?? []] };
        r.WriteData = w => RestJsonWriter.WriteRows(w, fields.Fields, rows, data.OutputFields, ids, [.. data.Scores], r.AllowInt64);
        return null;
    }

    /// <summary>One search request from a search body (the top-level one or a hybrid_search sub-request at
    /// <paramref name="path"/>): vectors, anns field, filter, limit, offset and search params, as Milvus forms them.
    /// Without <paramref name="schema"/> the vectors are read as float vectors of any dimension and the anns field is
    /// the one named (see <see cref="ResolveVectorField"/>). With <paramref name="dataElement"/> (<paramref name="data"/>
    /// as parsed), plain float vectors are read from it without building nodes, and <paramref name="floatDim"/> is their
    /// length (0 when they were read the general way). The search's settings go to <paramref name="values"/>, not into
    /// the request's <c>search_params</c>.</summary>
    private static WireSearch SearchRequestOf(RestRequest r, JsonObject body, string path, WireSchema? schema, string collection,
        JsonArray data, JsonElement? dataElement, out int floatDim, out RestSearchValues values)
    {
        floatDim = 0;
        values = new RestSearchValues();
        var annsField = RestRequest.StringOf(body["annsField"], path + ".annsField") ?? "";
        // Without the schema, objects in data are sparse vectors ({"index": value}); anything else reads as float vectors.
        var field = schema is null
            ? new WireField { Name = annsField, DataType = data.FirstOrDefault() is JsonObject ? WireType.SparseFloatVector : WireType.FloatVector }
            : VectorField(schema, annsField);
        // Before the schema is known, texts (a search of a function's output field) are read as texts; the schema's
        // field decides in ResolveVectorField.
        var textInput = field.IsFunctionOutput || (schema is null && data.Count > 0 && data[0]?.GetValueKind() == System.Text.Json.JsonValueKind.String);
        var request = new WireSearch
        {
            DbName = r.DatabaseOrDefault,
            CollectionName = collection,
            Dsl = RestRequest.StringOf(body["filter"], path + ".filter") ?? "",
            DslType = DslType.BoolExprV1,
            Nq = data.Count,
        };
        if (schema is null && dataElement is { } element && RestVectors.TryFloatPlaceholderGroup(element) is var (group, dim))
        {
            request.PlaceholderGroup = group;
            floatDim = dim;
        }
        else
        {
            request.PlaceholderGroup = RestVectors.ToPlaceholderGroup(data, field, textInput, path + ".data");
        }
        RestTemplates.Add(body["exprParams"], path + ".exprParams", request.ExprTemplateValues);
        var limit = body["limit"] is { } l ? RestRequest.LongOf(l, path + ".limit") : 100;
        var offset = body["offset"] is { } o ? RestRequest.LongOf(o, path + ".offset") : 0;
        var searchParams = RestRequest.ObjectOf(body["searchParams"], path + ".searchParams");
        var inner = RestRequest.ObjectOf(searchParams?["params"], path + ".searchParams.params") ?? [];
        // Milvus accepts the inner params both nested ({"params": {...}}) and flat (radius, range_filter, ef...); the
        // nested value wins.
        foreach (var (key, value) in inner)
        {
            values.Params[key] = Milvus.Data.SearchParamsParser.ParamText(value);
        }
        if (searchParams is not null)
        {
            foreach (var (key, value) in searchParams)
            {
                if (key is not ("params" or "metricType" or "metric_type" or "ignoreGrowing" or "hints"))
                {
                    values.Params.TryAdd(key, Milvus.Data.SearchParamsParser.ParamText(value));
                }
            }
        }
        var metric = searchParams?["metricType"] ?? searchParams?["metric_type"] ?? body["metricType"];
        if (metric is not null)
        {
            values.Pairs["metric_type"] = RestRequest.ParamText(metric);
        }
        var ignoreGrowing = searchParams?["ignoreGrowing"] ?? body["ignoreGrowing"];
        values.Pairs["ignore_growing"] = ignoreGrowing is not null && RestRequest.BoolOf(ignoreGrowing, path + ".ignoreGrowing") ? "true" : "false";
        if (searchParams?["hints"] is { } hints)
        {
            values.Pairs["hints"] = RestRequest.ParamText(hints);
        }
        values.Pairs["round_decimal"] = "-1";
        values.Pairs["topk"] = limit.ToString(CultureInfo.InvariantCulture);
        values.Pairs["offset"] = offset.ToString(CultureInfo.InvariantCulture);
        values.Pairs["anns_field"] = field.Name;
        if (RestRequest.StringOf(body[Timestamptz.TimezoneProperty], path + ".timezone") is { } timezone)
        {
            values.Pairs[Timestamptz.TimezoneProperty] = timezone;
        }

        return request;
    }

    /// <summary>
    /// A REST search's settings as the values Milvus's <c>search_params</c> pairs would carry, held as text key by key:
    /// the body's own keys (<see cref="Pairs"/>: limit, offset, metric, anns field, grouping, ...) and its
    /// <c>searchParams</c> object (<see cref="Params"/>, whose keys win, as a <c>params</c> JSON's do over the pairs).
    /// Read into typed settings by the one reader gRPC's pairs go through
    /// (<see cref="Milvus.Data.SearchParamsParser.FromValues"/>), once per call, without JSON text or pairs between.
    /// </summary>
    private sealed class RestSearchValues
    {
        /// <summary>The values the body's own keys give.</summary>
        public Dictionary<string, string> Pairs { get; } = new(StringComparer.Ordinal);

        /// <summary>The members of <c>searchParams</c> (its <c>params</c> object's over its own).</summary>
        public Dictionary<string, string> Params { get; } = new(StringComparer.Ordinal);

        /// <summary>The search as the gate and the handler take it: nq and dimension counted on
        /// <paramref name="request"/>'s query vectors as the gate counts a gRPC search's, the settings read on first use.</summary>
        public Milvus.Data.TypedSearch Typed(WireSearch request)
        {
            var (nq, dimension) = Security.SecurityGate.Shape(request);
            return new Milvus.Data.TypedSearch(nq, dimension, Read);
        }

        /// <summary>Names the vector field the call resolved, unless the <c>searchParams</c> name one themselves (which
        /// win, as over gRPC).</summary>
        public void Complete(Milvus.Data.TypedSearch typed, string field) => typed.Complete(settings => settings with
        {
            AnnsField = Params.TryGetValue("anns_field", out var named) ? Milvus.Data.SearchParamsParser.NonEmptyText(named) : field,
        });

        private Milvus.Data.SearchSettings Read()
        {
            var values = new Dictionary<string, string>(Pairs, StringComparer.Ordinal);
            foreach (var (key, value) in Params)
            {
                values[key] = value;
            }
            return Milvus.Data.SearchParamsParser.FromValues(values);
        }
    }

    /// <summary>Completes a request built without the schema: the vector field resolved (named, or the only one), the
    /// vectors read again for its type and dimension (unless they were read as float vectors of <paramref name="floatDim"/>
    /// floats and the field is a FLOAT_VECTOR field of that dimension: reading them again would write the same bytes),
    /// the anns field named.</summary>
    private static string ResolveVectorField(WireSearch request, WireSchema schema, JsonObject body, string path, JsonArray data,
        int floatDim = 0)
    {
        var field = VectorField(schema, RestRequest.StringOf(body["annsField"], path + ".annsField") ?? "");
        if (floatDim == 0 || field.DataType != WireType.FloatVector || field.IsFunctionOutput || RestVectors.Dim(field) != floatDim)
        {
            request.PlaceholderGroup = RestVectors.ToPlaceholderGroup(data, field, field.IsFunctionOutput, path + ".data");
        }
        return field.Name;
    }

    /// <summary>The vector field a search targets: <paramref name="annsField"/>, or the only vector field.</summary>
    private static WireField VectorField(WireSchema schema, string annsField)
    {
        if (annsField.Length > 0)
        {
            return schema.Fields.FirstOrDefault(f => f.Name == annsField && RestSchema.IsVector(f.DataType))
                ?? throw new MilvusException(MilvusCode.IncorrectParameterFormat,
                    $"invalid parameter format, error: cannot find a vector field named '{annsField}'");
        }
        var vectors = schema.Fields.Where(f => RestSchema.IsVector(f.DataType)).ToList();
        return vectors.Count switch
        {
            1 => vectors[0],
            0 => throw new MilvusException(MilvusCode.IncorrectParameterFormat,
                $"invalid parameter format, error: collection {schema.Name} has no vector field"),
            _ => throw new MilvusException(MilvusCode.IncorrectParameterFormat,
                $"invalid parameter format, error: search without annsField, but found multiple vector fields: " +
                string.Join(", ", vectors.Select(v => v.Name))),
        };
    }

    private static async Task<JsonNode?> HybridSearchAsync(RestRequest r)
    {
        var collection = r.RequiredString("collectionName");
        var searches = r.RequiredArray("search");
        var outputFields = r.OptionalStrings("outputFields") ?? [];
        var partitions = r.OptionalStrings("partitionNames") ?? [];
        var request = new Protocol.Milvus.HybridSearchRequest
        {
            DbName = r.DatabaseOrDefault,
            CollectionName = collection,
            OutputFields = { outputFields },
            PartitionNames = { partitions },
        };
        SetConsistency(r, out var level, out var useDefault);
        request.ConsistencyLevel = level;
        request.UseDefaultConsistency = useDefault;
        var floatDims = new int[searches.Count];
        var values = new RestSearchValues[searches.Count];
        var typed = new Milvus.Data.TypedSearch[searches.Count];
        for (var i = 0; i < searches.Count; i++)
        {
            var path = $"$.search[{i}]";
            var body = RestRequest.ObjectOf(searches[i], path) ?? throw RestRequest.Format(path, "must be an object, got null");
            var data = body["data"] as JsonArray is { Count: > 0 } array ? array : throw RestRequest.Missing($"search[{i}].data", "non-empty array");
            var sub = SearchRequestOf(r, body, path, null, collection, data, r.Root.GetProperty("search")[i].GetProperty("data"), out floatDims[i],
                out values[i]);
            typed[i] = values[i].Typed(sub);
            sub.OutputFields.Add(outputFields);
            sub.PartitionNames.Add(partitions);
            request.Requests.Add(sub);
        }
        var rerank = r.OptionalObject("rerank") ?? throw RestRequest.Missing("rerank", "object {strategy, params}");
        request.RankParams.Add(new KeyValuePair
        {
            Key = "strategy",
            Value = RestRequest.StringOf(rerank["strategy"], "$.rerank.strategy") ?? throw RestRequest.Missing("rerank.strategy", "string"),
        });
        request.RankParams.Add(new KeyValuePair { Key = "params", Value = (rerank["params"] ?? new JsonObject()).ToJsonString() });
        request.RankParams.Add(new KeyValuePair { Key = "limit", Value = (r.OptionalLong("limit") ?? 100).ToString(CultureInfo.InvariantCulture) });
        request.RankParams.Add(new KeyValuePair { Key = "offset", Value = (r.OptionalLong("offset") ?? 0).ToString(CultureInfo.InvariantCulture) });
        request.RankParams.Add(new KeyValuePair { Key = "round_decimal", Value = "-1" });
        var grouping = r.OptionalString("groupingField");
        if (!string.IsNullOrEmpty(grouping))
        {
            request.RankParams.Add(new KeyValuePair { Key = "group_by_field", Value = grouping });
            if (r.OptionalLong("groupSize") is > 0 and var size)
            {
                request.RankParams.Add(new KeyValuePair { Key = "group_size", Value = size.ToString(CultureInfo.InvariantCulture) });
            }
        }
        // The hybrid search's own timezone (Quiver's body key, as on query and search) travels where Milvus reads it.
        if (r.OptionalString(Timestamptz.TimezoneProperty) is { } timezone)
        {
            request.RankParams.Add(new KeyValuePair { Key = Timestamptz.TimezoneProperty, Value = timezone });
        }
        // Each request's vector field is resolved on the schema the hybrid search looks up (one lookup per call), and the
        // fused hits are written from the engine's columns, as a search's are.
        var answer = await r.CallAsync("HybridSearch", request, async (q, context) =>
            new Answered<MilvusGrpcService.HybridAnswer>(await r.Service.HybridSearchColumnsAsync(q, context, c =>
            {
                var schema = r.Service.ProtoSchema(c);
                for (var i = 0; i < q.Requests.Count; i++)
                {
                    values[i].Complete(typed[i], ResolveVectorField(q.Requests[i], schema, (JsonObject)searches[i]!, $"$.search[{i}]",
                        (JsonArray)((JsonObject)searches[i]!)["data"]!, floatDims[i]));
                }
            }, typed).ConfigureAwait(false)), typed).ConfigureAwait(false);
        var hybrid = answer.Value!;
        WriteHits(r, hybrid.Output, hybrid.Hits, hybrid.RoundDecimal);
        return null;
    }
}
