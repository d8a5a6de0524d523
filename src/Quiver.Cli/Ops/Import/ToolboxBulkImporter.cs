using Quiver.Toolbox.Import;
using Quiver.Client;
using Quiver.Server.Import;

namespace Quiver.Cli.Ops.Import;

/// <summary>
/// The server's bulk importer (<see cref="IBulkImporter"/>, plugged in by <c>quiver serve</c>): the same reader and
/// <see cref="RowImporter"/> as <c>quiver import</c>, run by <see cref="FileJobImport"/> (which cluster nodes run too). A job first reads and checks every row of every file without
/// writing (format, types, dimension, keys repeated in a file), so bad data fails the job with nothing imported and a
/// reason naming file, line or row, and field; then it imports file by file in batches. A failure during the second
/// pass (a key that already exists in the collection, the server stopping) keeps the batches acknowledged before it.
/// Job options: <c>format</c> (jsonl, csv, parquet, npy, fvecs; default from each file's extension),
/// <c>vector_field</c> and <c>id_start</c> (for <c>.npy</c> / <c>.fvecs</c>), <c>batch_size</c> (default 1,000),
/// <c>upsert</c> (<c>true</c>: replace rows with the same key). Files are opened only through
/// <see cref="BulkImportJob.OpenFile"/> (confined to the import root, checked at every open), and the reasons it gives
/// name file, line or row and field, never what the file holds.
/// </summary>
internal sealed class ToolboxBulkImporter : IBulkImporter
{
    /// <inheritdoc />
    public async Task ImportAsync(QuiverEngine engine, BulkImportJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(job);
        var schema = (await engine.DescribeCollectionAsync(job.Collection, job.Database, cancellationToken).ConfigureAwait(false)).Schema;
        await FileJobImport.RunAsync(QuiverClient.FromEngine(engine), schema, Quiver.Cluster.Nodes.ServerImportJobs.FileJobOf(job), cancellationToken).ConfigureAwait(false);
    }
}
