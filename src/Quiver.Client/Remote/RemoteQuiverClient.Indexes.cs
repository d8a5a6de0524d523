using System.Globalization;
using System.Text.Json;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using Quiver.Protocol.Milvus;

namespace Quiver.Client.Remote;

internal sealed partial class RemoteQuiverClient
{
    /// <summary>Milvus's code for "index not found", which DescribeIndex also answers for a collection with no index.</summary>
    private const int IndexNotFound = 700;

    /// <summary>CreateIndex with <c>extra_params</c> <c>index_type</c>, <c>metric_type</c> (the definition's, else the
    /// field's when the server stated it) and <c>params</c> (a JSON object of the build parameters), as Milvus's SDKs
    /// send them.</summary>
    public async Task CreateIndexAsync(string collection, IndexDefinition index, string? database = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(index);
        var schema = await SchemaAsync(collection, database, cancellationToken).ConfigureAwait(false);
        var request = ToMilvus(collection, index, schema, database);
        await InvokeAsync("CreateIndex", o => _milvus.CreateIndexAsync(request, o), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The CreateIndexRequest of an index definition.</summary>
    internal static CreateIndexRequest ToMilvus(string collection, IndexDefinition index, RemoteSchema schema, string? database)
    {
        var field = schema.Schema.Find(index.FieldName);
        MetricType? metric = index.Metric ?? (field is { IsVector: true } && schema.StatedMetrics.Contains(field.Name) ? field.Metric : null);
        var request = new CreateIndexRequest
        {
            DbName = Db(database),
            CollectionName = collection,
            FieldName = index.FieldName,
            IndexName = index.IndexName ?? "",
        };
        request.ExtraParams.Add(new KeyValuePair { Key = "index_type", Value = index.IndexType });
        if (metric is { } m)
        {
            request.ExtraParams.Add(new KeyValuePair { Key = SchemaConverter.MetricKey, Value = SchemaConverter.MetricName(m) });
        }

        request.ExtraParams.Add(new KeyValuePair { Key = "params", Value = ParamsJson(index.Params) });
        return request;
    }

    public async Task<IReadOnlyList<IndexInfo>> DescribeIndexesAsync(
        string collection, string? fieldOrIndexName = null, string? database = null, CancellationToken cancellationToken = default)
    {
        var all = await DescribeIndexMessagesAsync(collection, database, cancellationToken).ConfigureAwait(false);
        var list = all
            .Where(d => fieldOrIndexName is null || d.IndexName == fieldOrIndexName || d.FieldName == fieldOrIndexName)
            .Select(FromMilvus)
            .ToList();
        if (fieldOrIndexName is not null && list.Count == 0)
        {
            throw new QuiverException(QuiverErrorCode.NotFound, $"collection '{collection}' has no index on or named '{fieldOrIndexName}'");
        }

        return list;
    }

    /// <summary>Every index of a collection (DescribeIndex with no name); empty when the server answers "index not found".</summary>
    private async Task<IReadOnlyList<IndexDescription>> DescribeIndexMessagesAsync(string collection, string? database, CancellationToken cancellationToken)
    {
        var request = new DescribeIndexRequest { DbName = Db(database), CollectionName = collection };
        try
        {
            var r = await InvokeAsync("DescribeIndex", o => _milvus.DescribeIndexAsync(request, o), r => r.Status, cancellationToken).ConfigureAwait(false);
            return r.IndexDescriptions;
        }
        catch (QuiverServerException e) when (e.ServerCode == IndexNotFound)
        {
            return [];
        }
    }

    /// <summary>The engine's view of an IndexDescription: <c>index_type</c>, <c>metric_type</c> and the <c>params</c> JSON
    /// object (or loose keys) of its params, rows and state.</summary>
    internal static IndexInfo FromMilvus(IndexDescription d)
    {
        var type = "";
        var metric = MetricType.Cosine;
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in d.Params)
        {
            switch (p.Key)
            {
                case "index_type": type = p.Value; break;
                case SchemaConverter.MetricKey: metric = SchemaConverter.ParseMetric(p.Value); break;
                case "params": ReadParamsJson(p.Value, parameters); break;
                default: parameters[p.Key] = p.Value; break;
            }
        }

        return new IndexInfo
        {
            IndexName = d.IndexName,
            FieldName = d.FieldName,
            IndexType = type,
            Metric = metric,
            Params = parameters,
            TotalRows = d.TotalRows,
            IndexedRows = d.IndexedRows,
            Progress = d.TotalRows == 0 ? 1.0 : Math.Clamp((double)d.IndexedRows / d.TotalRows, 0, 1),
            State = d.State switch
            {
                Protocol.Common.IndexState.Finished => Quiver.IndexState.Finished,
                Protocol.Common.IndexState.Failed => Quiver.IndexState.Failed,
                _ => Quiver.IndexState.InProgress,
            },
            FailReason = string.IsNullOrEmpty(d.IndexStateFailReason) ? null : d.IndexStateFailReason,
        };
    }

    public async Task DropIndexAsync(string collection, string? indexName = null, string? database = null, CancellationToken cancellationToken = default)
    {
        if (indexName is null)
        {
            // The engine's rule: no name means the collection's only index.
            var all = await DescribeIndexMessagesAsync(collection, database, cancellationToken).ConfigureAwait(false);
            if (all.Count != 1)
            {
                throw new QuiverException(QuiverErrorCode.InvalidArgument, $"drop index: collection '{collection}' has {all.Count} indexes; name one");
            }

            indexName = all[0].IndexName;
        }

        var request = new DropIndexRequest { DbName = Db(database), CollectionName = collection, IndexName = indexName };
        await InvokeAsync("DropIndex", o => _milvus.DropIndexAsync(request, o), cancellationToken).ConfigureAwait(false);
    }

    public async Task WaitForIndexAsync(string collection, string? database = null, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var infos = await DescribeIndexesAsync(collection, null, database, cancellationToken).ConfigureAwait(false);
            if (infos.All(i => i.State == Quiver.IndexState.Finished))
            {
                return;
            }

            if (infos.FirstOrDefault(i => i.State == Quiver.IndexState.Failed) is { } failed)
            {
                throw new QuiverException(QuiverErrorCode.Unavailable, $"index '{failed.IndexName}' of '{collection}' failed to build: {failed.FailReason}");
            }

            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Build or search parameters as the JSON object Milvus reads: numbers as numbers, other text as strings.</summary>
    internal static string ParamsJson(IEnumerable<KeyValuePair<string, string>> parameters, double? radius = null, double? rangeFilter = null)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            foreach (var (key, value) in parameters)
            {
                if (long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var integer))
                {
                    w.WriteNumber(key, integer);
                }
                else if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
                {
                    w.WriteNumber(key, number);
                }
                else
                {
                    w.WriteString(key, value);
                }
            }

            if (radius is { } r)
            {
                w.WriteNumber("radius", r);
            }

            if (rangeFilter is { } f)
            {
                w.WriteNumber("range_filter", f);
            }

            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void ReadParamsJson(string json, Dictionary<string, string> target)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            foreach (var p in doc.RootElement.EnumerateObject())
            {
                target[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
            }
        }
        catch (JsonException)
        {
            target["params"] = json;
        }
    }
}
