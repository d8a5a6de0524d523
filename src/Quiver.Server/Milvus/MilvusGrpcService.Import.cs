using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Quiver.Protocol.Milvus;
using Quiver.Server.Import;
using ProtoImportState = Quiver.Protocol.Common.ImportState;

namespace Quiver.Server.Milvus;

/// <summary>Bulk import (Milvus's <c>Import</c>, <c>GetImportState</c>, <c>ListImportTasks</c>): jobs over files on the
/// server's machine under its import root, run by <see cref="BulkImportJobs"/>.</summary>
internal sealed partial class MilvusGrpcService
{
    private BulkImportJobs ImportJobs => Services.GetRequiredService<BulkImportJobs>();

    /// <inheritdoc />
    public override async Task<ImportResponse> Import(ImportRequest request, ServerCallContext context)
    {
        var target = Loads.Require(Database(request.DbName, context), request.CollectionName);
        var options = request.Options.ToDictionary(o => o.Key, o => o.Value, StringComparer.Ordinal);
        var job = await ImportJobs.SubmitAsync(target.Database, target.Name, request.PartitionName, [.. request.Files], options, context.CancellationToken)
            .ConfigureAwait(false);
        var response = new ImportResponse { Status = MilvusStatus.Ok() };
        response.Tasks.Add(job.Id);
        return response;
    }

    /// <inheritdoc />
    public override Task<GetImportStateResponse> GetImportState(GetImportStateRequest request, ServerCallContext context)
    {
        var job = ImportJobs.Get(request.Task);
        if (job is null || !MayImport(context, job))
        {
            // A job the caller may not see answers as one that does not exist: ids are guessable.
            throw TaskNotFound(request.Task);
        }

        return Task.FromResult(ImportStateOf(job));
    }

    /// <summary>The refusal of a progress call naming a job that does not exist or that the caller may not see.</summary>
    internal static MilvusException TaskNotFound(long id) =>
        new(MilvusCode.ParameterInvalid, $"import task {id} not found (jobs are kept until the server restarts)");

    /// <inheritdoc />
    public override Task<ListImportTasksResponse> ListImportTasks(ListImportTasksRequest request, ServerCallContext context)
    {
        var db = Database(request.DbName, context);
        var collection = string.IsNullOrEmpty(request.CollectionName) ? null : Loads.Require(db, request.CollectionName).Name;
        var response = new ListImportTasksResponse { Status = MilvusStatus.Ok() };
        response.Tasks.AddRange(ImportJobs.List(db, collection, 0).Where(j => MayImport(context, j))
            .Take(request.Limit > 0 ? (int)Math.Min(request.Limit, int.MaxValue) : int.MaxValue).Select(ImportStateOf));
        return Task.FromResult(response);
    }

    /// <summary>Whether the caller may see <paramref name="job"/>: GetImportState and ListImportTasks carry no privilege
    /// of their own in Milvus's table, so a job is shown to those who hold the Import privilege on its collection (any
    /// caller when authentication is off). Its state and failure reason can quote the files' contents.</summary>
    private bool MayImport(ServerCallContext context, BulkImportJob job)
    {
        var user = CallInfo.Of(context).User;
        if (!_options.Security.AuthEnabled || user is null)
        {
            return !_options.Security.AuthEnabled;
        }

        var store = Services.GetRequiredService<Security.SecurityStore>();
        return store.IsPermitted(user, "Collection", "PrivilegeImport", job.Database, [job.Collection]);
    }

    /// <summary>A job as Milvus reports it: state, rows, and <c>infos</c> with the collection, files, progress and reason.</summary>
    internal GetImportStateResponse ImportStateOf(BulkImportJob job) => ImportStateOf(new ImportJobView(
        job.Id, job.State, job.ImportedRows, job.TotalRows, job.Progress, job.Reason, job.Collection, job.Partition,
        [.. job.Files.Select(f => Path.GetRelativePath(ImportJobs.Root, f))], job.Created),
        _engine.ResolveCollection(job.Collection, job.Database)?.Id ?? 0);

    /// <summary>A job as Milvus reports it, whoever keeps it (this server's <see cref="BulkImportJobs"/>, a cluster's job
    /// records): state, rows, and <c>infos</c> with the collection, files, progress and reason.</summary>
    internal static GetImportStateResponse ImportStateOf(ImportJobView job, long collectionId)
    {
        var response = new GetImportStateResponse
        {
            Status = MilvusStatus.Ok(),
            Id = job.Id,
            State = job.State switch
            {
                BulkImportState.Pending => ProtoImportState.ImportPending,
                BulkImportState.Importing => ProtoImportState.ImportStarted,
                BulkImportState.Completed => ProtoImportState.ImportCompleted,
                _ => ProtoImportState.ImportFailed,
            },
            RowCount = job.ImportedRows,
            CollectionId = collectionId,
            CreateTs = job.Created.ToUnixTimeSeconds(),
        };
        response.Infos.Add(new Protocol.Common.KeyValuePair { Key = "collection", Value = job.Collection });
        response.Infos.Add(new Protocol.Common.KeyValuePair { Key = "partition", Value = job.Partition ?? "_default" });
        response.Infos.Add(new Protocol.Common.KeyValuePair { Key = "files", Value = string.Join(',', job.Files) });
        response.Infos.Add(new Protocol.Common.KeyValuePair { Key = "progress_percent", Value = job.Progress.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        if (job.TotalRows is { } total)
        {
            response.Infos.Add(new Protocol.Common.KeyValuePair { Key = "total_rows", Value = total.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }

        if (job.Reason is { } reason)
        {
            response.Infos.Add(new Protocol.Common.KeyValuePair { Key = "failed_reason", Value = reason });
        }

        return response;
    }
}

/// <summary>What a progress call reports of an import job: its id, state, counters and reason, its target, and its files
/// relative to the import root.</summary>
internal sealed record ImportJobView(long Id, BulkImportState State, long ImportedRows, long? TotalRows, int Progress, string? Reason,
    string Collection, string? Partition, IReadOnlyList<string> Files, DateTimeOffset Created)
{
    /// <summary>Progress in percent as <see cref="BulkImportJob.Progress"/> reports it: 100 when completed, else imported
    /// over total rows (at most 99), 0 before the rows are counted.</summary>
    public static int ProgressOf(BulkImportState state, long imported, long? total) => state == BulkImportState.Completed ? 100
        : total is > 0 and var t ? (int)Math.Min(99, 100 * imported / t) : 0;
}
