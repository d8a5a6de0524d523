using System.Collections.Concurrent;
using Quiver.Cluster.Nodes;
using Quiver.Server.Import;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

/// <summary>Jobs naming import objects (<c>object:NAME</c>, bucket <c>{cluster}-import-objects</c>) whose objects change
/// between the job's acceptance and its run.</summary>
public sealed partial class ClusterImportJobsTests
{
    /// <summary>The node's first job is held at its run (jobs run one at a time, in order) while the jobs queued behind it
    /// are accepted and their objects then change: a job whose object was replaced fails naming it (a run, or a resumed
    /// run, over other bytes than those accepted would skip rows it never sent), one whose object was deleted fails naming
    /// it, and a job mixing a file of the import root with an object reads exactly the file's and the object's bytes and
    /// completes; the objects stay in the bucket after their jobs.</summary>
    [NatsFact]
    public async Task JobsNamingImportObjects_ReadTheObjectsTheyWereAcceptedWith_OrFailNamingThem()
    {
        using var data = new TempFolder("quiver-import-jobs");
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        var read = new ConcurrentDictionary<long, string[]>();
        ImportRun run = async (job, opened, writes, afterBatch, ct) =>
        {
            if (Interlocked.Increment(ref runs) == 1)
            {
                await held.Task.WaitAsync(ct);
            }

            read[job.Id] = [.. opened.Files.Select(File.ReadAllText)];
            await Counting()(job, opened, writes, afterBatch, ct);
        };
        var cluster = NatsFixture.Unique("imports");
        await using var jobs = await StartAsync(data, s => s, run, cluster);
        var bucket = ClusterImports.ObjectsBucket(cluster);
        var uploads = 0;
        async Task PutAsync(string name, string text)
        {
            var path = data.Sub($"upload-{++uploads}");
            await File.WriteAllTextAsync(path, text);
            await ClusterImports.UploadObjectAsync(nats.JetStream, cluster, 3, path, name, CancellationToken.None);
        }

        Task<long> Submit(params string[] files) =>
            jobs.Imports.SubmitAsync("default", "c", null, files, new Dictionary<string, string>(), _ => Task.FromResult(true), CancellationToken.None);

        await PutAsync("o.jsonl", "accepted\n");
        await PutAsync("q.jsonl", "deleted\n");
        await PutAsync("dir/p.jsonl", "kept\n");
        var first = await Submit("rows.jsonl");
        var replaced = await Submit("object:o.jsonl");
        var deleted = await Submit("object:q.jsonl");
        var mixed = await Submit("rows.jsonl", "object:dir/p.jsonl");
        await PutAsync("o.jsonl", "other\n");
        var objects = await nats.Objects.GetObjectStoreAsync(bucket);
        await objects.DeleteAsync("q.jsonl");
        held.SetResult();

        Assert.Equal(BulkImportState.Completed, (await FinishedAsync(jobs.Imports, first)).State);
        var wasReplaced = await FinishedAsync(jobs.Imports, replaced);
        Assert.Equal((BulkImportState.Failed, $"import: object 'o.jsonl' was replaced in the cluster's object store (bucket '{bucket}') after the job was accepted; import it again as a new job"),
            (wasReplaced.State, wasReplaced.Reason));
        var wasDeleted = await FinishedAsync(jobs.Imports, deleted);
        Assert.Equal((BulkImportState.Failed, $"import: object 'q.jsonl' no longer exists in the cluster's object store (bucket '{bucket}')"),
            (wasDeleted.State, wasDeleted.Reason));
        var done = await FinishedAsync(jobs.Imports, mixed);
        Assert.Equal((BulkImportState.Completed, (string?)null), (done.State, done.Reason));
        Assert.Equal(["rows.jsonl", "object:dir/p.jsonl"], done.Files);
        Assert.Equal(["{}\n", "kept\n"], read[mixed]);
        Assert.False(read.ContainsKey(replaced) || read.ContainsKey(deleted));
        Assert.Equal("other\n", System.Text.Encoding.UTF8.GetString(await objects.GetBytesAsync("o.jsonl")));
        Assert.Equal("kept\n", System.Text.Encoding.UTF8.GetString(await objects.GetBytesAsync("dir/p.jsonl")));
    }
}
