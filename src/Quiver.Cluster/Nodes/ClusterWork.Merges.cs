using System.Globalization;
using System.Text.Json;
using NATS.Client.ObjectStore;
using Quiver.Catalog;
using Quiver.Shards;
using Quiver.Storage;

namespace Quiver.Cluster.Nodes;

/// <summary>
/// Merges of compaction as work any node takes (docs/cluster.md, "Compaction as work"). A shard's engine plans its
/// merges and keeps every rule about deletes (<see cref="QuiverOptions.MergesElsewhere"/>): it chooses the rows to keep
/// (live once the log is durable, not expired), journals the deletes that arrive later and carries them over to the
/// merged rows, and commits the swap to its manifest. Only the copy of the rows runs elsewhere: the shard uploads the
/// merge (<see cref="SegmentMerge"/>, with its kept rows) as a plan object and queues a record as an index build is
/// queued; a node takes it by compare-and-set, downloads the sources' files from the shard's object store, writes the
/// merged segment with the shard's own code (<see cref="SegmentMerge.Run"/>), uploads it and commits it from the
/// revision its take wrote, so one result is ever committed. The shard copies it under the merged segment's name, opens
/// and checks it, and deletes the record, the result and the plan.
/// </summary>
internal sealed partial class ClusterWork
{
    /// <summary>The plan's JSON: the manifest's settings without indentation (a plan holds every kept row's number).</summary>
    private static readonly JsonSerializerOptions PlanJson = new(ManifestFile.Json) { WriteIndented = false };

    /// <summary>The record of the merge into segment <paramref name="mergedId"/> of the shard stored as
    /// <paramref name="storage"/> (the id is new, allocated by the shard's engine for the merge).</summary>
    public static string MergeKey(string storage, long mergedId) =>
        string.Create(CultureInfo.InvariantCulture, $"merge.{storage}.{mergedId}");

    /// <summary>Merges this node wrote and committed.</summary>
    public int Merged => Volatile.Read(ref _merged);

    private int _merged;

    /// <summary>What a shard's engine calls instead of writing a merge (<see cref="QuiverOptions.MergesElsewhere"/>);
    /// the arguments are <see cref="For"/>'s.</summary>
    public Func<SegmentMerge, CancellationToken, Task> MergeFor(string storage, string cacheRoot, IFileSystem fs) =>
        (merge, ct) => MergeElsewhereAsync(storage, cacheRoot, fs, merge, ct);

    /// <summary>Uploads the merge as a plan object, queues it, waits until a node committed the merged segment, and copies
    /// it to <see cref="SegmentMerge.MergedPath"/> through <paramref name="fs"/>. When the shard stops waiting (it closes),
    /// the record and the plan are removed, so that no node writes a merge nobody will adopt (a taker's commit is then
    /// refused and its result deleted); a shard that crashes leaves them (docs/cluster.md).</summary>
    internal async Task MergeElsewhereAsync(string storage, string cacheRoot, IFileSystem fs, SegmentMerge merge, CancellationToken ct)
    {
        var key = MergeKey(storage, merge.MergedId);
        var plan = string.Create(CultureInfo.InvariantCulture, $"work/merge.{merge.MergedId}.plan");
        var files = await FilesAsync(storage, ct).ConfigureAwait(false)
            ?? throw new QuiverException(QuiverErrorCode.Unavailable, $"the object store of shard '{storage}' is gone");
        var bytes = JsonSerializer.SerializeToUtf8Bytes(merge, PlanJson);
        await Retry.UntilAsync(RecordTimeout, async c => await files.PutAsync(plan, bytes, c).ConfigureAwait(false), ct).ConfigureAwait(false);
        var queued = new IndexBuildJob
        {
            Storage = storage,
            Plan = plan,
            Sources = [.. merge.Sources.Select(s => ObjectName(cacheRoot, s.Path))],
        };
        try
        {
            await ElsewhereAsync(key, queued, merge.MergedPath, fs, $"merge into segment {merge.MergedId}", ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await AbandonAsync(key, queued).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Removes the record of a merge its shard no longer waits for, and its plan, within a few seconds or not at
    /// all.</summary>
    private async Task AbandonAsync(string key, IndexBuildJob job)
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            var store = await StoreAsync(bound.Token).ConfigureAwait(false);
            await store.DeleteAsync(key, cancellationToken: bound.Token).ConfigureAwait(false);
            await DeletePlanAsync(job, bound.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NATS.Client.KeyValueStore.NatsKVException or OperationCanceledException or NATS.Client.Core.NatsException)
        {
            // Left: taken and written by a node, then never adopted (docs/cluster.md, "Compaction as work").
        }
    }

    /// <summary>Downloads the merge's plan and its sources' files into <paramref name="folder"/> and writes the merged
    /// segment there; answers its file and its name.</summary>
    private static async Task<(string File, string Name)> MergeHereAsync(INatsObjStore files, IndexBuildJob job, string folder, CancellationToken ct)
    {
        var planFile = Path.Combine(folder, "plan");
        await DownloadAsync(files, job.Plan!, planFile, ct).ConfigureAwait(false);
        var merge = JsonSerializer.Deserialize<SegmentMerge>(await File.ReadAllBytesAsync(planFile, ct).ConfigureAwait(false), PlanJson)
            ?? throw new JsonException("null merge");
        if (job.Sources is not { } sources || sources.Count != merge.Sources.Count)
        {
            throw new InvalidDataException($"the merge names {merge.Sources.Count} sources, its record {job.Sources?.Count ?? 0}");
        }

        var local = new List<string>(sources.Count);
        for (var i = 0; i < sources.Count; i++)
        {
            local.Add(Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"source{i}")));
            await DownloadAsync(files, sources[i], local[i], ct).ConfigureAwait(false);
        }

        var output = Path.Combine(folder, "merged");
        await Task.Run(() => merge.Run(PhysicalFileSystem.Instance, local, output), ct).ConfigureAwait(false);
        return (output, SegmentMeta.SegmentFileName(merge.MergedId));
    }

    /// <summary>Deletes the plan object of a merge (nothing for an index build).</summary>
    private async Task DeletePlanAsync(IndexBuildJob job, CancellationToken ct)
    {
        if (job.Plan is { } plan && await FilesAsync(job.Storage, ct).ConfigureAwait(false) is { } files)
        {
            await DeleteObjectAsync(files, plan, ct).ConfigureAwait(false);
        }
    }
}
