using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Server.Milvus;

namespace Quiver.Server.Console;

/// <summary><c>GET /console/api/indexes?db=D&amp;collection=C</c>: every index of the collection as REST v2's index
/// describe shows it (type, metric, state, failure, rows), its build parameters, and what that has no field for: its memory, the types AUTOINDEX
/// resolved to, and each sealed segment's part of the build (<see cref="IndexInfo.Segments"/>). One call for the whole
/// panel, which the page polls while a build runs. Read-only; gated as <c>DescribeIndex</c> on the collection.</summary>
internal static class ConsoleIndexes
{
    /// <summary>Describes the indexes of the query's collection.</summary>
    public static async Task<JsonObject> DescribeAsync(HttpContext http, CallInfo call)
    {
        var collection = http.Request.Query["collection"].ToString();
        if (collection.Length == 0)
        {
            throw new MilvusException(MilvusCode.ParameterMissing, "console indexes: the query parameter collection is missing");
        }
        var engine = http.RequestServices.GetRequiredService<QuiverEngine>();
        var infos = await engine.DescribeIndexesAsync(collection, null, call.TargetDatabase, http.RequestAborted).ConfigureAwait(false);
        var indexes = new JsonArray();
        foreach (var info in infos)
        {
            var segments = new JsonArray();
            foreach (var s in info.Segments)
            {
                segments.Add(new JsonObject
                {
                    ["segmentId"] = s.SegmentId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["rows"] = s.Rows,
                    ["state"] = s.State.ToString(),
                    ["fraction"] = s.Fraction,
                    ["indexType"] = s.IndexType,
                    ["memoryBytes"] = s.MemoryBytes,
                    ["error"] = s.Error,
                });
            }
            indexes.Add(new JsonObject
            {
                ["indexName"] = info.IndexName,
                ["fieldName"] = info.FieldName,
                ["indexType"] = info.IndexType,
                ["metricType"] = MilvusGrpcService.MetricName(info.Metric),
                ["params"] = new JsonObject(info.Params.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
                ["state"] = info.State.ToString(),
                ["failReason"] = info.FailReason,
                ["totalRows"] = info.TotalRows,
                ["indexedRows"] = info.IndexedRows,
                ["pendingRows"] = info.PendingRows,
                ["progress"] = info.Progress,
                ["memoryBytes"] = info.MemoryBytes,
                ["builtTypes"] = new JsonObject(info.BuiltTypes.Select(t => KeyValuePair.Create(t.Key, (JsonNode?)t.Value))),
                ["segments"] = segments,
            });
        }
        return new JsonObject { ["collection"] = collection, ["indexes"] = indexes };
    }
}
