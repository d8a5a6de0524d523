using System.Text.Json;
using Grpc.Core;
using Quiver.Protocol.Milvus;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using Status = Quiver.Protocol.Common.Status;

namespace Quiver.Server.Milvus;

/// <summary>Vector indexes: create, describe, drop and progress (docs/server-catalog.md).</summary>
internal sealed partial class MilvusGrpcService
{
    /// <inheritdoc />
    public override async Task<Status> CreateIndex(CreateIndexRequest request, ServerCallContext context)
    {
        var target = Loads.Require(Database(request.DbName, context), request.CollectionName);
        var definition = IndexDefinitionOf(request);
        if (!request.ExtraParams.Any(p => p.Key == "metric_type")
            && _engine.GetCollection(target.Name, target.Database).Schema.Find(request.FieldName) is { DataType: Quiver.DataType.BinaryVector })
        {
            // Milvus's default metric of a binary field's index is HAMMING (COSINE is a float metric).
            definition = definition with { Metric = MetricType.Hamming };
        }

        try
        {
            await _engine.CreateIndexAsync(target.Name, definition, target.Database, context.CancellationToken).ConfigureAwait(false);
        }
        catch (QuiverException e) when (e.Code == QuiverErrorCode.AlreadyExists)
        {
            // Milvus answers success when the same index is created again, and an error for a different one.
            if (!await IsSameIndexAsync(target, definition, context).ConfigureAwait(false))
            {
                throw;
            }
        }

        return MilvusStatus.Ok();
    }

    /// <inheritdoc />
    public override async Task<DescribeIndexResponse> DescribeIndex(DescribeIndexRequest request, ServerCallContext context)
    {
        var target = Loads.Require(Database(request.DbName, context), request.CollectionName);
        var response = new DescribeIndexResponse { Status = MilvusStatus.Ok() };
        foreach (var index in await FindIndexesAsync(target, request.IndexName, request.FieldName, context).ConfigureAwait(false))
        {
            var description = new Protocol.Milvus.IndexDescription
            {
                IndexName = index.IndexName,
                IndexID = index.Id,
                FieldName = index.FieldName,
                IndexedRows = index.IndexedRows,
                TotalRows = index.TotalRows,
                PendingIndexRows = index.PendingRows,
                State = (Protocol.Common.IndexState)(int)index.State,
                IndexStateFailReason = index.FailReason ?? "",
            };
            description.Params.Add(new KeyValuePair { Key = "index_type", Value = index.IndexType });
            description.Params.Add(new KeyValuePair { Key = "metric_type", Value = MetricName(index.Metric) });
            description.Params.Add(new KeyValuePair { Key = "params", Value = JsonSerializer.Serialize(index.Params) });
            description.Params.AddRange(index.Properties.Select(p => new KeyValuePair { Key = p.Key, Value = p.Value }));
            response.IndexDescriptions.Add(description);
        }

        return response;
    }

    /// <inheritdoc />
    public override async Task<Status> DropIndex(DropIndexRequest request, ServerCallContext context)
    {
        var target = Loads.Require(Database(request.DbName, context), request.CollectionName);
        var indexes = await FindIndexesAsync(target, request.IndexName, request.FieldName, context).ConfigureAwait(false);
        // Milvus refuses to drop the index of a loaded collection; Quiver's searches hold reference-counted index
        // handles and fall back to exact search, so the drop is safe while loaded and searching.
        foreach (var index in indexes)
        {
            await _engine.DropIndexAsync(target.Name, index.IndexName, target.Database, context.CancellationToken).ConfigureAwait(false);
        }

        return MilvusStatus.Ok();
    }

    /// <inheritdoc />
    public override async Task<GetIndexStateResponse> GetIndexState(GetIndexStateRequest request, ServerCallContext context)
    {
        var target = Loads.Require(Database(request.DbName, context), request.CollectionName);
        var indexes = await FindIndexesAsync(target, request.IndexName, request.FieldName, context).ConfigureAwait(false);
        var failed = indexes.FirstOrDefault(i => i.State == Quiver.IndexState.Failed);
        var state = failed is not null ? Protocol.Common.IndexState.Failed
            : indexes.All(i => i.State == Quiver.IndexState.Finished) ? Protocol.Common.IndexState.Finished : Protocol.Common.IndexState.InProgress;
        return new GetIndexStateResponse { Status = MilvusStatus.Ok(), State = state, FailReason = failed?.FailReason ?? "" };
    }

    /// <inheritdoc />
    public override async Task<GetIndexBuildProgressResponse> GetIndexBuildProgress(GetIndexBuildProgressRequest request, ServerCallContext context)
    {
        var target = Loads.Require(Database(request.DbName, context), request.CollectionName);
        var indexes = await FindIndexesAsync(target, request.IndexName, request.FieldName, context).ConfigureAwait(false);
        return new GetIndexBuildProgressResponse
        {
            Status = MilvusStatus.Ok(),
            IndexedRows = indexes.Sum(i => i.IndexedRows),
            TotalRows = indexes.Sum(i => i.TotalRows),
        };
    }

    /// <summary>The indexes a request names by index name or field name (all when neither); Milvus's "index not found"
    /// (700) when none matches.</summary>
    private async Task<IReadOnlyList<IndexInfo>> FindIndexesAsync(CollectionRef target, string indexName, string fieldName, ServerCallContext context)
    {
        var all = await _engine.DescribeIndexesAsync(target.Name, null, target.Database, context.CancellationToken).ConfigureAwait(false);
        var matches = all.Where(i => (string.IsNullOrEmpty(indexName) || i.IndexName == indexName) && (string.IsNullOrEmpty(fieldName) || i.FieldName == fieldName))
            .ToList();
        if (matches.Count == 0)
        {
            var what = !string.IsNullOrEmpty(indexName) ? $"[indexName={indexName}]" : !string.IsNullOrEmpty(fieldName) ? $"[field={fieldName}]" : "";
            throw new MilvusException(MilvusCode.IndexNotFound, $"index not found[collection={target.Name}]{what}");
        }

        return matches;
    }

    private async Task<bool> IsSameIndexAsync(CollectionRef target, IndexDefinition definition, ServerCallContext context)
    {
        var existing = await _engine.DescribeIndexesAsync(target.Name, null, target.Database, context.CancellationToken).ConfigureAwait(false);
        return existing.Any(i => i.FieldName == definition.FieldName
            && i.IndexName == (definition.IndexName ?? definition.FieldName)
            && string.Equals(i.IndexType, definition.IndexType, StringComparison.OrdinalIgnoreCase)
            && i.Metric == definition.Metric
            && i.Params.Count == definition.Params.Count
            && i.Params.All(p => definition.Params.TryGetValue(p.Key, out var v) && v == p.Value));
    }

    /// <summary>The engine's index definition of a Milvus CreateIndex: <c>index_type</c> (default AUTOINDEX),
    /// <c>metric_type</c> (default COSINE, as in Milvus), build parameters either as a <c>params</c> JSON object (what SDKs
    /// send) or as top-level pairs.</summary>
    internal static IndexDefinition IndexDefinitionOf(CreateIndexRequest request)
    {
        string? indexType = null;
        string? metric = null;
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in request.ExtraParams)
        {
            switch (pair.Key)
            {
                case "index_type":
                    indexType = pair.Value;
                    break;
                case "metric_type":
                    metric = pair.Value;
                    break;
                case "params":
                    AddJsonParams(pair.Value, parameters);
                    break;
                default:
                    parameters[pair.Key] = pair.Value;
                    break;
            }
        }

        // mmap.enabled is an index property, not a build parameter (AlterIndex changes it later).
        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        if (parameters.Remove("mmap.enabled", out var mmap))
        {
            properties["mmap.enabled"] = mmap;
        }

        return new IndexDefinition
        {
            Properties = properties,
            FieldName = request.FieldName,
            IndexName = string.IsNullOrEmpty(request.IndexName) ? null : request.IndexName,
            IndexType = string.IsNullOrEmpty(indexType) ? "AUTOINDEX" : indexType,
            Metric = string.IsNullOrEmpty(metric) ? MetricType.Cosine : ParseMetric(metric),
            Params = parameters,
        };
    }

    /// <summary>A Milvus metric_type name (L2, IP, COSINE, any case); ParameterInvalid naming it otherwise.</summary>
    internal static MetricType ParseMetric(string name) => VectorCodec.TryParseMetric(name, out var metric)
        ? metric
        : throw new MilvusException(MilvusCode.ParameterInvalid, $"metric_type '{name}' is not supported; Quiver has L2, IP, COSINE, HAMMING, JACCARD and BM25");

    /// <summary>Milvus's name of a metric.</summary>
    internal static string MetricName(MetricType metric) => metric.MilvusName();

    private static void AddJsonParams(string json, Dictionary<string, string> parameters)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return;
        }

        try
        {
            using var document = JsonLimits.ParseText(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new MilvusException(MilvusCode.ParameterInvalid, $"index params '{json}' is not a JSON object");
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                parameters[property.Name] = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.GetRawText();
            }
        }
        catch (JsonException e)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, $"index params '{json}' is not valid JSON: {e.Message}");
        }
    }
}
