using NATS.Client.JetStream;
using NATS.Client.ObjectStore;
using Quiver.Server.Import;
using Quiver.Server.Milvus;

namespace Quiver.Cluster.Nodes;

/// <summary>Import files that are objects already in the cluster's object store (docs/cluster.md, "Bulk import"): a
/// request's file <c>object:NAME</c> names object <c>NAME</c> of object-store bucket <c>{cluster}-import-objects</c>
/// (<see cref="ObjectsBucket"/>), which users fill beforehand (<c>quiver cluster upload</c>, <see cref="UploadObjectAsync"/>;
/// or any NATS object-store client), as Milvus's <c>Import</c> names keys in its bucket. The accepting node checks that
/// each named object exists and uploads nothing for it; whichever node runs the job downloads the object itself, so no
/// node's disk need hold the file. The job leaves the object where it is (it is the user's, as in Milvus's bucket).</summary>
internal sealed partial class ClusterImports
{
    /// <summary>The prefix of a request's file that names an object of <see cref="ObjectsBucket"/>.</summary>
    public const string ObjectScheme = "object:";

    private INatsObjStore? _objects;

    /// <summary>The object-store bucket of the objects import requests may name (<see cref="ObjectScheme"/>).</summary>
    public static string ObjectsBucket(string cluster) => $"{cluster}-import-objects";

    /// <summary>The object a request's (or a record's) file names, or null for a file of the import root.</summary>
    internal static string? ObjectOf(string file) => file.StartsWith(ObjectScheme, StringComparison.Ordinal) ? file[ObjectScheme.Length..] : null;

    /// <summary>The refusal of a request naming object <paramref name="name"/>, which bucket <paramref name="bucket"/>
    /// does not hold (an empty name included).</summary>
    internal static MilvusException ObjectMissing(string name, string bucket) => new(MilvusCode.ParameterInvalid,
        $"import: object '{name}' does not exist in the cluster's object store (bucket '{bucket}'; quiver cluster upload puts a file there)");

    /// <summary>Opens (creating it once) the bucket of import objects of <paramref name="cluster"/>.</summary>
    internal static Task<INatsObjStore> OpenObjectsAsync(INatsJSContext jetStream, string cluster, int replicas, CancellationToken ct) =>
        Retry.UntilAsync(RecordTimeout, async c => await new NatsObjContext(jetStream)
            .CreateObjectStoreAsync(new NatsObjConfig(ObjectsBucket(cluster)) { NumberOfReplicas = replicas }, c).ConfigureAwait(false), ct);

    /// <summary>Puts the local file <paramref name="path"/> into the bucket of import objects as <paramref name="name"/>
    /// (replacing an object of that name), answering the object's size in bytes: <c>quiver cluster upload</c>.</summary>
    public static async Task<long> UploadObjectAsync(INatsJSContext jetStream, string cluster, int replicas, string path, string name, CancellationToken ct)
    {
        if (name.Length == 0)
        {
            throw new ArgumentException("an object needs a name", nameof(name));
        }

        var objects = await OpenObjectsAsync(jetStream, cluster, replicas, ct).ConfigureAwait(false);
        await using var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        var stored = await Retry.UntilAsync(RecordTimeout, async c =>
        {
            source.Position = 0;
            return await objects.PutAsync(name, source, leaveOpen: true, c).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
        return (long)stored.Size;
    }

    /// <summary>The files of a request checked: for a file of the import root its full path (opened once, as the
    /// standalone server checks it), for an object null once the bucket is found to hold it; and the digest of each
    /// object (null for the others; the list null when no file is an object). Throws <see cref="MilvusException"/>
    /// naming the first file or object that is not there.</summary>
    private async Task<(List<string?> Paths, List<string?>? Digests)> ResolveFilesAsync(IReadOnlyList<string> files, CancellationToken ct)
    {
        var paths = new List<string?>(files.Count);
        var digests = new List<string?>(files.Count);
        foreach (var file in files)
        {
            if (ObjectOf(file) is not { } name)
            {
                paths.Add(BulkImportJobs.Resolve(Root, file));
                digests.Add(null);
                continue;
            }

            var digest = name.Length == 0 ? null : await DigestOfAsync(name, ct).ConfigureAwait(false);
            paths.Add(null);
            digests.Add(digest ?? throw ObjectMissing(name, ObjectsBucket(_node.Config.Cluster)));
        }

        return (paths, digests.Any(d => d is not null) ? digests : null);
    }

    /// <summary>The digest of import object <paramref name="name"/>, or null when the bucket does not hold it.</summary>
    private async Task<string?> DigestOfAsync(string name, CancellationToken ct)
    {
        var objects = await ObjectsAsync(ct).ConfigureAwait(false);
        return await Retry.UntilAsync(RecordTimeout, async c =>
        {
            try
            {
                var info = await objects.GetInfoAsync(name, cancellationToken: c).ConfigureAwait(false);
                return info.Deleted ? null : info.Digest ?? "";
            }
            catch (NatsObjNotFoundException)
            {
                return null;
            }
        }, ct).ConfigureAwait(false);
    }

    /// <summary>Fails the run of <paramref name="job"/> when the object its file <paramref name="index"/> names was
    /// replaced since the job was accepted (<paramref name="read"/>, the digest of what was read, is not
    /// <paramref name="accepted"/>): a run resumed over other bytes would skip rows it never sent.</summary>
    private void CheckDigest(ClusterImportJob job, int index, string? read, string? accepted)
    {
        if (accepted is not null && !string.Equals(read ?? "", accepted, StringComparison.Ordinal))
        {
            throw new InvalidOperationException(
                $"import: object '{ObjectOf(job.Files[index])}' was replaced in the cluster's object store (bucket '{ObjectsBucket(_node.Config.Cluster)}') after the job was accepted; import it again as a new job");
        }
    }

    private async Task<INatsObjStore> ObjectsAsync(CancellationToken ct) =>
        _objects ??= await OpenObjectsAsync(_node.JetStream, _node.Config.Cluster, _node.Config.Replicas, ct).ConfigureAwait(false);

    /// <summary>Where file <paramref name="index"/> of <paramref name="job"/> is read from: the import object it names, or
    /// the copy its accepting node stored.</summary>
    private async Task<(INatsObjStore Store, string Name, string Missing, string? Digest)> SourceOfAsync(ClusterImportJob job, int index, CancellationToken ct)
    {
        if (ObjectOf(job.Files[index]) is { } name)
        {
            return (await ObjectsAsync(ct).ConfigureAwait(false), name,
                $"import: object '{name}' no longer exists in the cluster's object store (bucket '{ObjectsBucket(_node.Config.Cluster)}')",
                job.Digests is { } digests && index < digests.Count ? digests[index] : null);
        }

        return (await FilesAsync(ct).ConfigureAwait(false), ObjectName(job.Id, index),
            $"import: the stored copy of '{job.Files[index]}' is missing from the cluster's object store", null);
    }

    /// <summary>The name a job's file is staged under: its last path part (which the importer reads the format from), or
    /// <c>object</c> when that part is empty or names a folder.</summary>
    private static string StagedName(string file)
    {
        var name = Path.GetFileName(ObjectOf(file) ?? file);
        return name is "" or "." or ".." ? "object" : name;
    }
}

/// <summary><c>quiver cluster upload --config FILE PATH [--name NAME]</c> (and <c>Quiver.Cluster upload --config FILE PATH
/// [NAME]</c>): puts a local file into the cluster's bucket of import objects, where an import request names it as
/// <c>object:NAME</c> (by default the file's own name), without joining the cluster.</summary>
internal static class ImportObjectUpload
{
    public const string Usage = "upload --config FILE PATH [NAME]";

    public static async Task<int> RunAsync(NodeConfig config, string path, string? name, TextWriter output, TextWriter error, CancellationToken ct)
    {
        name ??= Path.GetFileName(path);
        if (!File.Exists(path))
        {
            await error.WriteLineAsync($"quiver cluster upload: '{path}' is not a file").ConfigureAwait(false);
            return 2;
        }

        if (name.Length == 0)
        {
            await error.WriteLineAsync("quiver cluster upload: the object's name is empty").ConfigureAwait(false);
            return 2;
        }

        await using var nats = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts { Url = config.Nats, Name = "quiver-upload", RequestTimeout = TimeSpan.FromSeconds(5) });
        await nats.ConnectAsync().ConfigureAwait(false);
        var size = await ClusterImports.UploadObjectAsync(new NatsJSContext(nats), config.Cluster, config.Replicas, path, name, ct).ConfigureAwait(false);
        await output.WriteLineAsync(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"uploaded '{path}' ({size} bytes) to bucket {ClusterImports.ObjectsBucket(config.Cluster)}: an import names it as {ClusterImports.ObjectScheme}{name}")).ConfigureAwait(false);
        return 0;
    }
}
