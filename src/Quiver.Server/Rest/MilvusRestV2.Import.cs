using System.Globalization;
using System.Text.Json.Nodes;
using Quiver.Protocol.Milvus;

namespace Quiver.Server.Rest;

/// <summary>REST v2 bulk-import jobs (<c>/v2/vectordb/jobs/import/*</c>), answered by the gRPC import handlers.</summary>
internal static partial class MilvusRestV2
{
    private static async Task<JsonNode?> CreateImportJobAsync(RestRequest r)
    {
        var request = new ImportRequest
        {
            DbName = r.DatabaseOrDefault,
            CollectionName = r.RequiredString("collectionName"),
            PartitionName = r.OptionalString("partitionName") ?? "",
        };

        // Milvus groups files in lists (one list per row-based file, or the .npy files of one set); Quiver imports
        // every file on its own, in order.
        var files = r.RequiredArray("files");
        for (var i = 0; i < files.Count; i++)
        {
            if (files[i] is JsonArray group)
            {
                for (var j = 0; j < group.Count; j++)
                {
                    request.Files.Add(RestRequest.StringOf(group[j], $"$.files[{i}][{j}]") ?? throw RestRequest.Missing($"$.files[{i}][{j}]", "string"));
                }
            }
            else
            {
                request.Files.Add(RestRequest.StringOf(files[i], $"$.files[{i}]") ?? throw RestRequest.Missing($"$.files[{i}]", "string"));
            }
        }

        if (r.OptionalObject("options") is { } options)
        {
            foreach (var (key, value) in options)
            {
                request.Options.Add(new Protocol.Common.KeyValuePair { Key = key, Value = RestRequest.ParamText(value) });
            }
        }

        var created = await r.CallAsync("Import", request, r.Service.Import).ConfigureAwait(false);
        return new JsonObject { ["jobId"] = created.Tasks[0].ToString(CultureInfo.InvariantCulture) };
    }

    private static async Task<JsonNode?> ListImportJobsAsync(RestRequest r)
    {
        var listed = await r.CallAsync("ListImportTasks",
            new ListImportTasksRequest { DbName = r.DatabaseOrDefault, CollectionName = r.OptionalString("collectionName") ?? "" },
            r.Service.ListImportTasks).ConfigureAwait(false);
        var records = new JsonArray();
        foreach (var task in listed.Tasks)
        {
            records.Add(new JsonObject
            {
                ["jobId"] = task.Id.ToString(CultureInfo.InvariantCulture),
                ["collectionName"] = Info(task, "collection"),
                ["state"] = ImportStateName(task.State),
                ["progress"] = int.Parse(Info(task, "progress_percent") ?? "0", CultureInfo.InvariantCulture),
            });
        }

        return new JsonObject { ["records"] = records };
    }

    private static async Task<JsonNode?> ImportJobProgressAsync(RestRequest r)
    {
        var idText = RestRequest.StringOf(r.Body["jobId"], "$.jobId") ?? throw RestRequest.Missing("$.jobId", "string");
        if (!long.TryParse(idText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id))
        {
            throw RestRequest.Format("$.jobId", $"'{idText}' is not a job id");
        }

        var task = await r.CallAsync("GetImportState", new GetImportStateRequest { Task = id }, r.Service.GetImportState).ConfigureAwait(false);
        var reply = new JsonObject
        {
            ["jobId"] = idText,
            ["collectionName"] = Info(task, "collection"),
            ["state"] = ImportStateName(task.State),
            ["progress"] = int.Parse(Info(task, "progress_percent") ?? "0", CultureInfo.InvariantCulture),
            ["importedRows"] = task.RowCount,
            ["reason"] = Info(task, "failed_reason") ?? "",
        };
        if (Info(task, "total_rows") is { } total)
        {
            reply["totalRows"] = long.Parse(total, CultureInfo.InvariantCulture);
        }

        var details = new JsonArray();
        foreach (var file in (Info(task, "files") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            details.Add(new JsonObject { ["fileName"] = file, ["state"] = ImportStateName(task.State) });
        }

        reply["details"] = details;
        return reply;
    }

    private static string? Info(GetImportStateResponse task, string key) => task.Infos.FirstOrDefault(i => i.Key == key)?.Value;

    /// <summary>The REST names of the job states (Milvus's <c>Pending</c>, <c>Importing</c>, <c>Completed</c>, <c>Failed</c>).</summary>
    private static string ImportStateName(Protocol.Common.ImportState state) => state switch
    {
        Protocol.Common.ImportState.ImportPending => "Pending",
        Protocol.Common.ImportState.ImportStarted => "Importing",
        Protocol.Common.ImportState.ImportCompleted => "Completed",
        _ => "Failed",
    };
}
