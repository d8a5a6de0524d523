using System.Globalization;
using Quiver.Protocol.Common;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using Quiver.Protocol.Milvus;
using Quiver.Wire;

namespace Quiver.Client.Remote;

internal sealed partial class RemoteQuiverClient
{
    public Task<MutationResult> InsertAsync(
        string collection, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, string? partition = null, string? database = null,
        CancellationToken cancellationToken = default) =>
        WriteAsync(collection, rows, partition, database, upsert: false, cancellationToken);

    public Task<MutationResult> UpsertAsync(
        string collection, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, string? partition = null, string? database = null,
        CancellationToken cancellationToken = default) =>
        WriteAsync(collection, rows, partition, database, upsert: true, cancellationToken);

    private async Task<MutationResult> WriteAsync(
        string collection, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, string? partition, string? database, bool upsert,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var schema = RemoteFunctions.ForWrites((await SchemaAsync(collection, database, cancellationToken).ConfigureAwait(false)).Schema);
        var columns = FieldDataWriter.Write(schema, ColumnBatch.FromRows(schema, rows, upsert), NullForm.Compact);
        SendNaiveTimestampsAsGiven(schema, rows, columns);
        MutationResult result;
        if (upsert)
        {
            var request = new UpsertRequest { DbName = Db(database), CollectionName = collection, PartitionName = partition ?? "", NumRows = (uint)rows.Count };
            request.FieldsData.Add(columns);
            var r = await InvokeAsync("Upsert", o => _milvus.UpsertAsync(request, o), r => r.Status, cancellationToken).ConfigureAwait(false);
            result = ToResult(r, r.UpsertCnt);
        }
        else
        {
            var request = new InsertRequest { DbName = Db(database), CollectionName = collection, PartitionName = partition ?? "", NumRows = (uint)rows.Count };
            request.FieldsData.Add(columns);
            var r = await InvokeAsync("Insert", o => _milvus.InsertAsync(request, o), r => r.Status, cancellationToken).ConfigureAwait(false);
            result = ToResult(r, r.InsertCnt);
        }

        return result;
    }

    /// <summary>TIMESTAMPTZ text without an offset goes to the server without one, as Milvus's SDKs send it, so that the
    /// server reads it in the collection's <c>timezone</c> as it is when the write arrives (the client does not know the
    /// zone, or may know an old one). The rows were checked reading such text as UTC, whose RFC 3339 text is the same
    /// wall-clock time with a <c>Z</c>: the <c>Z</c> is taken off. Text with an offset, and other values, stay absolute.</summary>
    private static void SendNaiveTimestampsAsGiven(CollectionSchema schema, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, IEnumerable<Protocol.Schema.FieldData> columns)
    {
        foreach (var column in columns)
        {
            if (schema.Find(column.FieldName) is not { DataType: DataType.Timestamptz } field || column.Scalars?.StringData is not { } texts)
            {
                continue;
            }

            // Compact columns carry values for the rows valid_data marks, in row order; others one per row.
            for (int r = 0, at = 0; r < rows.Count; r++)
            {
                if (column.ValidData.Count > 0 && !column.ValidData[r])
                {
                    continue;
                }

                var given = rows[r].TryGetValue(field.Name, out var value) ? value : null;
                var text = given as string ?? (given is System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.String } json ? json.GetString() : null);
                if (text is not null && IsNaive(text) && texts.Data[at].EndsWith('Z'))
                {
                    texts.Data[at] = texts.Data[at][..^1];
                }

                at++;
            }
        }
    }

    private static readonly TimeZoneInfo OneHourEast = TimeZoneInfo.CreateCustomTimeZone("quiver-naive-probe", TimeSpan.FromHours(1), "+01:00", "+01:00");

    /// <summary>Whether ISO 8601 text names a wall-clock time without an offset: it names different instants when read in
    /// two zones.</summary>
    private static bool IsNaive(string text) =>
        Timestamptz.TryParse(text, null, out var utc, out _) && Timestamptz.TryParse(text, OneHourEast, out var east, out _) && utc != east;

    public async Task<MutationResult> DeleteAsync(
        string collection, IReadOnlyList<object> keys, string? partition = null, string? database = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            return new MutationResult { Count = 0, Keys = [], Timestamp = 0 };
        }

        var schema = (await SchemaAsync(collection, database, cancellationToken).ConfigureAwait(false)).Schema;
        var filter = Expressions.KeyIn(schema.PrimaryKey, keys);
        var result = await DeleteWhereAsync(collection, filter, null, partition, database, cancellationToken).ConfigureAwait(false);
        return result with { Keys = keys };
    }

    public async Task<MutationResult> DeleteWhereAsync(
        string collection, string filter, IReadOnlyDictionary<string, object?>? filterParams = null, string? partition = null, string? database = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var request = new DeleteRequest
        {
            DbName = Db(database),
            CollectionName = collection,
            PartitionName = partition ?? "",
            Expr = Expressions.Filter(filter),
            ConsistencyLevel = Protocol.Common.ConsistencyLevel.Strong,
        };
        Expressions.AddTemplateValues(request.ExprTemplateValues, filterParams);
        var r = await InvokeAsync("Delete", o => _milvus.DeleteAsync(request, o), r => r.Status, cancellationToken).ConfigureAwait(false);
        return ToResult(r, r.DeleteCnt);
    }

    private static MutationResult ToResult(Protocol.Milvus.MutationResult r, long count) => new()
    {
        Count = count,
        Keys = PrimaryKeys.FromIds(r.IDs),
        Timestamp = (long)r.Timestamp,
    };

    public async Task FlushAsync(string collection, string? database = null, CancellationToken cancellationToken = default)
    {
        var request = new FlushRequest { DbName = Db(database) };
        request.CollectionNames.Add(collection);
        await InvokeAsync("Flush", o => _milvus.FlushAsync(request, o), r => r.Status, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<Row>> GetAsync(
        string collection, IReadOnlyList<object> keys, IReadOnlyList<string>? outputFields = null, IReadOnlyList<string>? partitions = null,
        string? database = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            return [];
        }

        var schema = (await SchemaAsync(collection, database, cancellationToken).ConfigureAwait(false)).Schema;
        var pk = schema.PrimaryKey;
        var rows = await QueryAsync(
            collection,
            new QueryRequest { Filter = Expressions.KeyIn(pk, keys), OutputFields = outputFields ?? ["*"], Partitions = partitions ?? [] },
            database,
            cancellationToken).ConfigureAwait(false);

        // Key order, as the engine answers; each key once.
        var byKey = new Dictionary<object, Row>();
        foreach (var row in rows)
        {
            if (row.TryGetValue(pk.Name, out var k) && k is not null)
            {
                byKey[k] = row;
            }
        }

        var ordered = new List<Row>(byKey.Count);
        var seen = new HashSet<object>();
        foreach (var key in keys)
        {
            object normalized = pk.DataType == DataType.Int64 ? Convert.ToInt64(key, CultureInfo.InvariantCulture) : key;
            if (seen.Add(normalized) && byKey.TryGetValue(normalized, out var row))
            {
                ordered.Add(row);
            }
        }

        return ordered;
    }

    public async Task<IReadOnlyList<Row>> QueryAsync(string collection, QueryRequest request, string? database = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var message = new Protocol.Milvus.QueryRequest
        {
            DbName = Db(database),
            CollectionName = collection,
            Expr = Expressions.Filter(request.Filter),
            ConsistencyLevel = ToMilvus(request.Consistency),
        };
        message.OutputFields.Add(request.OutputFields);
        message.PartitionNames.Add(request.Partitions);
        if (request.Limit is { } limit)
        {
            message.QueryParams.Add(Pair("limit", limit));
        }

        if (request.Offset != 0)
        {
            message.QueryParams.Add(Pair("offset", request.Offset));
        }

        if (request.Timezone is { } timezone)
        {
            message.QueryParams.Add(new KeyValuePair { Key = Timestamptz.TimezoneProperty, Value = timezone });
        }

        Expressions.AddTemplateValues(message.ExprTemplateValues, request.FilterParams);
        var r = await InvokeAsync("Query", o => _milvus.QueryAsync(message, o), r => r.Status, cancellationToken).ConfigureAwait(false);
        return SearchResultCodec.ReadRows(r.FieldsData);
    }

    public async Task<SearchResult> SearchAsync(string collection, SearchRequest request, string? database = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var cached = await SchemaAsync(collection, database, cancellationToken).ConfigureAwait(false);
        var message = ToMilvus(collection, request, cached, database);
        var r = await InvokeAsync("Search", o => _milvus.SearchAsync(message, o), r => r.Status, cancellationToken).ConfigureAwait(false);
        return SearchResultCodec.Read(r.Results, QueryCount(request));
    }

    /// <summary>The Milvus SearchRequest of a search, as Milvus's SDKs form it: the vectors in a placeholder group, the
    /// filter in <c>dsl</c>, and in <c>search_params</c> <c>anns_field</c>, <c>topk</c>, <c>offset</c>,
    /// <c>metric_type</c> (the request's, else the field's when the server stated it), <c>params</c> (a JSON object of
    /// the index search parameters with <c>radius</c> and <c>range_filter</c>), <c>group_by_field</c> and
    /// <c>group_size</c>.</summary>
    internal static Protocol.Milvus.SearchRequest ToMilvus(string collection, SearchRequest request, RemoteSchema schema, string? database)
    {
        var annsField = request.AnnsField;
        if (annsField is null)
        {
            var vectors = schema.Schema.Fields.Where(f => f.IsVector || f.IsSparseVector).ToList();
            annsField = vectors.Count == 1
                ? vectors[0].Name
                : throw new QuiverException(QuiverErrorCode.InvalidArgument, $"search: collection '{collection}' has {vectors.Count} vector fields; set AnnsField");
        }

        var field = schema.Schema.Find(annsField);
        MetricType? metric = request.Metric ?? (field is not null && schema.StatedMetrics.Contains(annsField) ? field.Metric : null);

        var message = new Protocol.Milvus.SearchRequest
        {
            DbName = Db(database),
            CollectionName = collection,
            Dsl = Expressions.Filter(request.Filter),
            DslType = DslType.BoolExprV1,
            PlaceholderGroup = Google.Protobuf.ByteString.CopyFrom(field is null ? Placeholders.Encode(request.Vectors) : Placeholders.Encode(field, request)),
            Nq = QueryCount(request),
            ConsistencyLevel = ToMilvus(request.Consistency),
        };
        message.OutputFields.Add(request.OutputFields);
        message.PartitionNames.Add(request.Partitions);
        message.SearchParams.Add(new KeyValuePair { Key = "anns_field", Value = annsField });
        message.SearchParams.Add(Pair("topk", request.Limit));
        message.SearchParams.Add(Pair("offset", request.Offset));
        message.SearchParams.Add(new KeyValuePair { Key = SchemaConverter.MetricKey, Value = metric is { } m ? SchemaConverter.MetricName(m) : "" });
        message.SearchParams.Add(new KeyValuePair { Key = "round_decimal", Value = "-1" });
        message.SearchParams.Add(new KeyValuePair { Key = "params", Value = ParamsJson(request.SearchParams, request.Radius, request.RangeFilter) });
        if (request.GroupByField is { } groupBy)
        {
            message.SearchParams.Add(new KeyValuePair { Key = "group_by_field", Value = groupBy });
            message.SearchParams.Add(Pair("group_size", request.GroupSize));
        }

        if (request.Timezone is { } timezone)
        {
            message.SearchParams.Add(new KeyValuePair { Key = Timestamptz.TimezoneProperty, Value = timezone });
        }

        Expressions.AddTemplateValues(message.ExprTemplateValues, request.FilterParams);
        return message;
    }

    /// <summary>How many queries a search carries: texts, sparse vectors or dense vectors, whichever it gives.</summary>
    private static int QueryCount(SearchRequest request) =>
        request.QueryTexts is { Count: > 0 } texts ? texts.Count : request.SparseVectors is { Count: > 0 } sparse ? sparse.Count : request.Vectors.Count;

    private static Protocol.Common.ConsistencyLevel ToMilvus(ConsistencyLevel level) => (Protocol.Common.ConsistencyLevel)(int)level;

    private static KeyValuePair Pair(string key, long value) => new() { Key = key, Value = value.ToString(CultureInfo.InvariantCulture) };
}
