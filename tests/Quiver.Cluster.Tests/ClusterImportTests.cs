using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Grpc.Net.Client;
using Quiver.Client;
using Quiver.Protocol.Milvus;
using Quiver.Server.Hosting;
using Quiver.Server.Import;
using Quiver.Testing;
using Quiver.Toolbox.Import;
using Xunit.Abstractions;
using ProtoKeyValuePair = Quiver.Protocol.Common.KeyValuePair;
using ProtoSchema = Quiver.Protocol.Schema;

namespace Quiver.Cluster.Tests;

/// <summary>Bulk import on a cluster (docs/cluster.md, "Bulk import"): three nodes over a 3-server JetStream cluster,
/// child processes on loopback, and a standalone server running the same import code (<see cref="FileJobImport"/>, as
/// <c>quiver serve</c>'s importer does) as the oracle. A job is accepted by one node, reads that node's import root and
/// is seen by every node; its answers, refusals, progress and listings equal the standalone server's, over gRPC and REST,
/// and the rows land on the shards their keys hash to.</summary>
public sealed partial class ClusterImportTests(ITestOutputHelper output)
{
    private const string Collection = "imported";

    /// <summary>How long a job may take on a loaded machine: a safety net, never a measure.</summary>
    private static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(4);

    [NatsFact]
    public async Task ImportOnThreeShards_AnswersAsTheStandaloneServer_OnEveryNode_OverGrpcAndRest()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3);
        using var folder = new TempFolder("quiver-oracle");
        await using var oracle = await OracleImporter.StartServerAsync(folder.Path);
        var oracleRoot = Path.Combine(folder.Path, "import");
        // Each node reads its own import root; the job is accepted by node 0, so its files are there.
        var nodeRoot = Path.Combine(nodes.DataPath(0), "import");
        await WriteFilesAsync(oracleRoot, nodeRoot);

        using var single = GrpcChannel.ForAddress($"http://127.0.0.1:{oracle.Port}");
        var channels = Enumerable.Range(0, 3).Select(i => GrpcChannel.ForAddress(nodes.Address(i))).ToArray();
        try
        {
            var standalone = new MilvusService.MilvusServiceClient(single);
            var node = channels.Select(c => new MilvusService.MilvusServiceClient(c)).ToArray();
            Assert.Equal(0, (await standalone.CreateCollectionAsync(Create())).Code);
            Assert.Equal(0, (await node[1].CreateCollectionAsync(Create())).Code);

            // Refusals, in the standalone server's words (each root's path written as ROOT).
            string Said(Protocol.Common.Status status, string root) => $"{status.Code} {status.Reason.Replace(root, "ROOT", StringComparison.Ordinal)}";
            foreach (var (label, request) in new (string, ImportRequest)[]
            {
                ("a missing collection", Import("missing", "rows.jsonl")),
                ("no files", Import(Collection)),
                ("a missing file", Import(Collection, "nope.jsonl")),
                ("a file outside the root", Import(Collection, "../outside.jsonl")),
                ("a missing partition", WithPartition(Import(Collection, "rows.jsonl"), "nopart")),
            })
            {
                var expected = Said((await standalone.ImportAsync(request)).Status, oracleRoot);
                var actual = Said((await node[0].ImportAsync(request)).Status, nodeRoot);
                output.WriteLine($"{label}: standalone {expected}; node {actual}");
                Assert.NotEqual("0 ", expected[..2]);
                Assert.Equal(expected, actual);
            }

            Assert.Equal(
                Said((await standalone.GetImportStateAsync(new GetImportStateRequest { Task = 987654321 })).Status, oracleRoot),
                Said((await node[2].GetImportStateAsync(new GetImportStateRequest { Task = 987654321 })).Status, nodeRoot));
            Assert.Equal(
                Said((await standalone.ListImportTasksAsync(new ListImportTasksRequest { CollectionName = "missing" })).Status, oracleRoot),
                Said((await node[2].ListImportTasksAsync(new ListImportTasksRequest { CollectionName = "missing" })).Status, nodeRoot));

            // A job accepted by node 0, followed through node 1; then a job with a bad row, which fails with nothing written.
            var expectedDone = await RunAsync(standalone, standalone, Import(Collection, "rows.jsonl"));
            var done = await RunAsync(node[0], node[1], Import(Collection, "rows.jsonl"), nodes);
            Assert.True(done.State == Protocol.Common.ImportState.ImportCompleted, Shown(done) + "\n" + nodes.Output(0));
            Assert.Equal(2500, done.RowCount);
            Assert.Equal(Shown(expectedDone), Shown(done));
            var expectedBad = await RunAsync(standalone, standalone, Import(Collection, "bad.jsonl"));
            var bad = await RunAsync(node[0], node[2], Import(Collection, "bad.jsonl"), nodes);
            Assert.True(bad.State == Protocol.Common.ImportState.ImportFailed, Shown(bad));
            Assert.Equal(Shown(expectedBad), Shown(bad));

            // A job whose rows pass the checks and are refused when written (every key is already stored): failed as the
            // standalone fails it, with its reason and the total its checks counted.
            var expectedStored = await RunAsync(standalone, standalone, Import(Collection, "rows.jsonl"));
            var stored = await RunAsync(node[0], node[2], Import(Collection, "rows.jsonl"), nodes);
            Assert.True(stored.State == Protocol.Common.ImportState.ImportFailed, Shown(stored));
            Assert.Equal(Shown(expectedStored), Shown(stored));

            // Listed by any node, with and without the collection, newest first, as the standalone server lists them.
            foreach (var request in new[] { new ListImportTasksRequest(), new ListImportTasksRequest { CollectionName = Collection }, new ListImportTasksRequest { Limit = 1 } })
            {
                var expected = await standalone.ListImportTasksAsync(request);
                var actual = await node[2].ListImportTasksAsync(request);
                Assert.Equal(0, actual.Status.Code);
                Assert.Equal(expected.Tasks.Select(Shown), actual.Tasks.Select(Shown));
            }

            Assert.Equal([stored.Id, bad.Id, done.Id], (await node[1].ListImportTasksAsync(new ListImportTasksRequest())).Tasks.Select(t => t.Id));

            // REST: created through node 0, its progress through node 2, listed and described through node 1.
            using var standaloneRest = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{oracle.Port}") };
            var rest = Enumerable.Range(0, 3).Select(i => new HttpClient { BaseAddress = new Uri(nodes.Address(i)) }).ToArray();
            try
            {
                var expectedJob = await RestJobAsync(standaloneRest, standaloneRest);
                var job = await RestJobAsync(rest[0], rest[2], nodes);
                Assert.Equal(expectedJob, job);
                var expectedList = Without(await PostAsync(standaloneRest, "/v2/vectordb/jobs/import/list", new { collectionName = Collection }), "jobId");
                var list = Without(await PostAsync(rest[1], "/v2/vectordb/jobs/import/list", new { collectionName = Collection }), "jobId");
                Assert.Equal(expectedList, list);
                foreach (var body in new object[] { new { jobId = "987654321" }, new { jobId = "x" }, new { } })
                {
                    Assert.Equal(
                        (await PostAsync(standaloneRest, "/v2/vectordb/jobs/import/describe", body)).ToJsonString(),
                        (await PostAsync(rest[1], "/v2/vectordb/jobs/import/describe", body)).ToJsonString());
                }
            }
            finally
            {
                foreach (var http in rest)
                {
                    http.Dispose();
                }
            }

            // The rows: every row of the two good files, as the standalone server holds them; each on the shard its key
            // hashes to (a delete by key through a node reaches only that shard: every deleted row is gone).
            await using var client = await QuiverClient.ConnectAsync(new QuiverClientOptions { Address = nodes.Address(2), Timeout = TimeSpan.FromMinutes(3) });
            await using var reference = await QuiverClient.ConnectAsync(new QuiverClientOptions { Address = $"http://127.0.0.1:{oracle.Port}" });
            await client.LoadCollectionAsync(Collection);
            await reference.LoadCollectionAsync(Collection);
            Assert.Equal(await RowsAsync(reference), await RowsAsync(client));
            Assert.Equal(2550, (await RowsAsync(client)).Count);
            await client.DeleteAsync(Collection, [.. Enumerable.Range(0, 1000).Select(i => (object)(long)i)]);
            Assert.Equal(1550L, Assert.Single(await client.QueryAsync(Collection, new QueryRequest { OutputFields = ["count(*)"], Consistency = ConsistencyLevel.Strong }))["count(*)"]);
        }
        finally
        {
            foreach (var channel in channels)
            {
                channel.Dispose();
            }
        }
    }

    /// <summary>The node running a job is killed (SIGKILL, by its PID) once the job's record shows progress; the file is in
    /// that node's import root only (the job reads the copy the cluster's object store took when it was accepted). The
    /// next node to read the job takes it over and resumes it from the record's progress: the job ends Completed with
    /// every row, and the collection holds each file row exactly once (its title names it; with keys from the file, its
    /// key too; with auto_id keys, count(*) counts no extra row).</summary>
    [NatsTheory]
    [InlineData(false)]
    [InlineData(true)]
    public Task ANodeKilledMidImport_ItsJobIsResumedByAnotherNode_EveryRowStoredOnce(bool autoId) => KilledMidImportAsync(autoId, readers: true);

    /// <summary>As <see cref="ANodeKilledMidImport_ItsJobIsResumedByAnotherNode_EveryRowStoredOnce"/>, but nobody reads the
    /// job through the API after the kill (no progress call, no listing: the test reads the job's record straight from
    /// KV): a node's periodic sweep of the jobs (<c>ClusterImports.StartSweeping</c>) finds the job's node gone, takes the
    /// job over and resumes it, and the job ends Completed with each file row stored once. Before the sweep, the record
    /// stayed Importing, naming the dead node, for good.</summary>
    [NatsFact]
    public Task ANodeKilledMidImport_WithNoReader_ItsJobIsTakenOverByASweep_EveryRowStoredOnce() => KilledMidImportAsync(autoId: false, readers: false);

    /// <summary>As <see cref="ANodeKilledMidImport_ItsJobIsResumedByAnotherNode_EveryRowStoredOnce"/>, but the job's node
    /// is stopped gracefully (SIGTERM by its PID, as an operator stops <c>quiver node</c>): once it has exited, the job's
    /// record (read straight from KV) still holds the job running, with its progress, released by that node; the next
    /// node to read it takes it over and resumes it, and the job ends Completed with each file row stored once. Before,
    /// the stop failed the job ("the node stopped during the import", or the error of a write cut off by the silo's stop).</summary>
    [NatsTheory]
    [InlineData(false)]
    [InlineData(true)]
    public Task ANodeStoppedMidImport_HandsItsJobOver_AnotherNodeCompletesIt_EveryRowStoredOnce(bool autoId) => KilledMidImportAsync(autoId, readers: true, stop: true);

    /// <summary>The job of a 16,000-row file accepted by node 2, which is killed once the job's record shows progress;
    /// its state is then followed through node 0's progress calls (<paramref name="readers"/>) or, with no call that reads
    /// a job, from its record in KV.</summary>
    private async Task KilledMidImportAsync(bool autoId, bool readers, bool stop = false)
    {
        const int Rows = 16_000;
        const int Batch = 100;
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3);
        var root = Path.Combine(nodes.DataPath(2), "import");
        Directory.CreateDirectory(root);
        await File.WriteAllTextAsync(Path.Combine(root, "big.jsonl"), autoId ? Keyless(Lines(0, Rows)) : Lines(0, Rows));

        var channels = Enumerable.Range(0, 3).Select(i => GrpcChannel.ForAddress(nodes.Address(i))).ToArray();
        await using var connection = nats.Connect();
        try
        {
            var node = channels.Select(c => new MilvusService.MilvusServiceClient(c)).ToArray();
            Assert.Equal(0, (await node[0].CreateCollectionAsync(Create(autoId))).Code);
            var request = Import(Collection, "big.jsonl");
            request.Options.Add(new ProtoKeyValuePair { Key = "batch_size", Value = Batch.ToString(CultureInfo.InvariantCulture) });
            var started = await node[2].ImportAsync(request);
            Assert.True(started.Status.Code == 0, started.Status.Reason);
            var id = Assert.Single(started.Tasks);
            // Retried as the nodes' own requests are: on a loaded machine a JetStream API request can go unanswered
            // ("No API response received from the server", seen here at load 50).
            var kv = new NATS.Client.KeyValueStore.NatsKVContext(new NATS.Client.JetStream.NatsJSContext(connection));
            var jobs = await Retry.UntilAsync(JobTimeout, async c => await kv.GetStoreAsync(Nodes.ClusterImports.Bucket(nodes.Cluster), c), CancellationToken.None);
            async Task<GetImportStateResponse> ReadAsync(CancellationToken ct)
            {
                if (readers)
                {
                    return await node[0].GetImportStateAsync(new GetImportStateRequest { Task = id }, cancellationToken: ct);
                }

                // The record as the bucket's leader holds it, in the progress call's terms.
                var job = Nodes.ClusterImportJob.FromBytes((await Retry.UntilAsync(JobTimeout, c => KvLeaderReads.GetAsync(jobs, $"job-{id}", 0, c), ct)).Value!);
                var state = new GetImportStateResponse
                {
                    State = job.State switch
                    {
                        BulkImportState.Completed => Protocol.Common.ImportState.ImportCompleted,
                        BulkImportState.Failed => Protocol.Common.ImportState.ImportFailed,
                        BulkImportState.Pending => Protocol.Common.ImportState.ImportPending,
                        _ => Protocol.Common.ImportState.ImportStarted,
                    },
                    RowCount = job.ImportedRows,
                };
                state.Infos.Add(new ProtoKeyValuePair { Key = "node", Value = job.Node });
                state.Infos.Add(new ProtoKeyValuePair { Key = "reason", Value = job.Reason ?? "" });
                return state;
            }

            // Wait until the job has stored progress, then kill the node running it.
            GetImportStateResponse before;
            using (var timeout = new CancellationTokenSource(JobTimeout))
            {
                while ((before = await ReadAsync(timeout.Token)).State != Protocol.Common.ImportState.ImportCompleted && before.RowCount == 0)
                {
                    await Task.Delay(20, timeout.Token);
                }
            }

            if (stop)
            {
                async Task<Nodes.ClusterImportJob> RecordAsync() =>
                    Nodes.ClusterImportJob.FromBytes((await Retry.UntilAsync(JobTimeout, c => KvLeaderReads.GetAsync(jobs, $"job-{id}", 0, c), CancellationToken.None)).Value!);
                var runner = (await RecordAsync()).Node;
                nodes.Terminate(2);
                var code = await nodes.ExitCodeAsync(2, JobTimeout);
                var left = await RecordAsync();
                output.WriteLine($"stopped the job's node at {before.State} rows={before.RowCount}: exit {code}; its record: {left.State} rows={left.ImportedRows} released={left.Released} node={(left.Node == runner ? "the stopped one" : left.Node)}");
                // Released by the stopped node, or already taken over by another node's sweep; never failed.
                Assert.True(left.State != BulkImportState.Failed && (left.Released || left.Node != runner) && left.ImportedRows >= before.RowCount,
                    $"after the stop the record is {left.State} rows={left.ImportedRows} released={left.Released} reason={left.Reason}\n{nodes.Output(2)}");
            }
            else
            {
                nodes.Kill(2);
            }

            output.WriteLine($"{(stop ? "stopped" : "killed")} the job's node at {before.State} rows={before.RowCount}");
            GetImportStateResponse done;
            using (var timeout = new CancellationTokenSource(JobTimeout))
            {
                try
                {
                    while ((done = await ReadAsync(timeout.Token)).State
                        is Protocol.Common.ImportState.ImportPending or Protocol.Common.ImportState.ImportStarted)
                    {
                        await Task.Delay(50, timeout.Token);
                    }
                }
                catch (Exception e) when (timeout.IsCancellationRequested && e is OperationCanceledException or Grpc.Core.RpcException)
                {
                    throw Unfinished($"job {id}", "resumed", nodes, e);
                }
            }

            output.WriteLine(Shown(done));
            Assert.True(before.State != Protocol.Common.ImportState.ImportCompleted && before.RowCount < Rows, $"the job ended before its node was killed ({before.RowCount} rows)");
            Assert.True(done.State == Protocol.Common.ImportState.ImportCompleted, Shown(done) + "\n" + nodes.Output(0) + "\n" + nodes.Output(1));
            Assert.Equal(Rows, done.RowCount);

            await using var client = await QuiverClient.ConnectAsync(new QuiverClientOptions { Address = nodes.Address(1), Timeout = TimeSpan.FromMinutes(3) });
            await client.LoadCollectionAsync(Collection);
            Assert.Equal((long)Rows, Assert.Single(await client.QueryAsync(Collection, new QueryRequest { OutputFields = ["count(*)"], Consistency = ConsistencyLevel.Strong }))["count(*)"]);
            var stored = await client.QueryAsync(Collection, new QueryRequest { Filter = "id >= 0", OutputFields = ["id", "title", "vector"], Limit = Rows, Consistency = ConsistencyLevel.Strong });
            var expected = Lines(0, Rows).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!)
                .Select(l => $"{l["title"]} {(autoId ? "" : l["id"])} {l["vector"]!.ToJsonString()}").Order(StringComparer.Ordinal);
            Assert.Equal(expected, stored.Select(r => $"{r["title"]} {(autoId ? "" : r["id"])} {System.Text.Json.JsonSerializer.Serialize(r["vector"])}").Order(StringComparer.Ordinal));
            Assert.Equal(Rows, stored.Select(r => r["id"]).Distinct().Count());
        }
        finally
        {
            foreach (var channel in channels)
            {
                channel.Dispose();
            }
        }
    }

    /// <summary>A batch that some shards refuse (one key of it is already stored, and inserting a stored key is refused by
    /// the shard that holds it) while the others store their rows: the job fails, and the rows it reports are exactly the
    /// rows it stored (the collection's count less the row stored before), the other shards' part of that batch included.</summary>
    [NatsFact]
    public async Task ABatchSomeShardsRefuse_CountsTheRowsTheOtherShardsStored()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 1);
        var root = Path.Combine(nodes.DataPath(0), "import");
        Directory.CreateDirectory(root);
        await File.WriteAllTextAsync(Path.Combine(root, "rows.jsonl"), Lines(0, 300));
        using var channel = GrpcChannel.ForAddress(nodes.Address(0));
        var node = new MilvusService.MilvusServiceClient(channel);
        Assert.Equal(0, (await node.CreateCollectionAsync(Create())).Code);
        await using var client = await QuiverClient.ConnectAsync(new QuiverClientOptions { Address = nodes.Address(0), Timeout = TimeSpan.FromMinutes(3) });
        await client.InsertAsync(Collection, [new Dictionary<string, object?> { ["id"] = 150L, ["title"] = "before", ["vector"] = new[] { 1f, 2f, 3f, 4f } }]);

        var request = Import(Collection, "rows.jsonl");
        request.Options.Add(new ProtoKeyValuePair { Key = "batch_size", Value = "100" });
        var failed = await RunAsync(node, node, request, nodes);
        output.WriteLine(Shown(failed));
        Assert.True(failed.State == Protocol.Common.ImportState.ImportFailed, Shown(failed));
        await client.LoadCollectionAsync(Collection);
        var count = (long)Assert.Single(await client.QueryAsync(Collection, new QueryRequest { OutputFields = ["count(*)"], Consistency = ConsistencyLevel.Strong }))["count(*)"]!;
        var stored = await client.QueryAsync(Collection, new QueryRequest { Filter = "id >= 100 and id < 200", OutputFields = ["id"], Limit = 100, Consistency = ConsistencyLevel.Strong });

        // The second batch (keys 100..199) was stored in part: more than the first batch, less than two.
        Assert.InRange(count - 1, 101, 199);
        Assert.Equal(count - 1, failed.RowCount);
        Assert.Equal(count - 101 + 1, stored.Count);
    }

    /// <summary>JSON lines <paramref name="lines"/> without their <c>id</c> (for an auto_id collection).</summary>
    private static string Keyless(string lines) => string.Concat(lines.Split('\n', StringSplitOptions.RemoveEmptyEntries)
        .Select(l => { var row = JsonNode.Parse(l)!.AsObject(); row.Remove("id"); return row.ToJsonString() + "\n"; }));

    /// <summary>A job's answer as a caller sees it, less what differs between any two servers (its id, the collection's
    /// id, the time it was created).</summary>
    private static string Shown(GetImportStateResponse state) =>
        $"{state.Status?.Code ?? 0} {state.State} rows={state.RowCount} " + string.Join(';', state.Infos.Select(i => $"{i.Key}={i.Value}"));

    /// <summary>Submits <paramref name="request"/> through <paramref name="submit"/> and reads its state through
    /// <paramref name="poll"/> until it completes or fails.</summary>
    private static async Task<GetImportStateResponse> RunAsync(MilvusService.MilvusServiceClient submit, MilvusService.MilvusServiceClient poll, ImportRequest request, QuiverNodes? nodes = null)
    {
        var started = await submit.ImportAsync(request);
        Assert.True(started.Status.Code == 0, started.Status.Reason);
        var id = Assert.Single(started.Tasks);
        using var timeout = new CancellationTokenSource(JobTimeout);
        GetImportStateResponse? state = null;
        try
        {
            while (true)
            {
                state = await poll.GetImportStateAsync(new GetImportStateRequest { Task = id }, cancellationToken: timeout.Token);
                Assert.True(state.Status.Code == 0, state.Status.Reason);
                if (state.State is Protocol.Common.ImportState.ImportCompleted or Protocol.Common.ImportState.ImportFailed)
                {
                    return state;
                }

                await Task.Delay(50, timeout.Token);
            }
        }
        catch (Exception e) when (timeout.IsCancellationRequested && e is OperationCanceledException or Grpc.Core.RpcException)
        {
            throw Unfinished($"gRPC job {id}", state is null ? "never read" : Shown(state), nodes, e);
        }
    }

    /// <summary>A job that did not finish within the safety net: its last state seen and every node's log lines, so that
    /// the failure says where it stopped.</summary>
    private static Xunit.Sdk.XunitException Unfinished(string job, string last, QuiverNodes? nodes, Exception cause) =>
        new($"{job} did not finish within {JobTimeout.TotalMinutes} min (safety net); last seen: {last}"
            + (nodes is null ? "" : string.Concat(Enumerable.Range(0, 3).Select(i => $"\n--- node {i}:\n{nodes.Output(i)}"))), cause);

    /// <summary>A REST job over <paramref name="file"/> created through <paramref name="create"/>, its progress read through
    /// <paramref name="poll"/> until done: the final progress and description, less the job id.</summary>
    private static async Task<string> RestJobAsync(HttpClient create, HttpClient poll, QuiverNodes? nodes = null, string file = "more.jsonl")
    {
        var created = await PostAsync(create, "/v2/vectordb/jobs/import/create", new { collectionName = Collection, files = new[] { new[] { file } } });
        Assert.True(created["code"]!.GetValue<int>() == 0, created.ToJsonString());
        var id = created["data"]!["jobId"]!.GetValue<string>();
        using var timeout = new CancellationTokenSource(JobTimeout);
        JsonObject? progress = null;
        try
        {
            while (true)
            {
                progress = await PostAsync(poll, "/v2/vectordb/jobs/import/get_progress", new { jobId = id }, timeout.Token);
                Assert.True(progress["code"]!.GetValue<int>() == 0, progress.ToJsonString());
                if (progress["data"]!["state"]!.GetValue<string>() is "Completed" or "Failed")
                {
                    var described = await PostAsync(poll, "/v2/vectordb/jobs/import/describe", new { jobId = id });
                    return Without(progress, "jobId") + "\n" + Without(described, "jobId");
                }

                await Task.Delay(50, timeout.Token);
            }
        }
        catch (OperationCanceledException e) when (timeout.IsCancellationRequested)
        {
            throw Unfinished($"REST job {id}", progress?.ToJsonString() ?? "never read", nodes, e);
        }
    }

    private static async Task<JsonObject> PostAsync(HttpClient http, string path, object body, CancellationToken ct = default)
    {
        using var response = await http.PostAsJsonAsync(path, body, ct);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))!.AsObject();
    }

    /// <summary><paramref name="answer"/> as JSON with every <paramref name="key"/> removed, at any depth.</summary>
    private static string Without(JsonNode answer, string key)
    {
        var copy = answer.DeepClone();
        void Strip(JsonNode? node)
        {
            if (node is JsonObject o)
            {
                o.Remove(key);
                foreach (var (_, child) in o)
                {
                    Strip(child);
                }
            }
            else if (node is JsonArray a)
            {
                foreach (var child in a)
                {
                    Strip(child);
                }
            }
        }

        Strip(copy);
        return copy.ToJsonString();
    }

    private static async Task<List<string>> RowsAsync(IQuiverClient client) =>
        [.. (await client.QueryAsync(Collection, new QueryRequest { Filter = "id >= 0", OutputFields = ["id", "title", "vector"], Limit = 16384, Consistency = ConsistencyLevel.Strong }))
            .Select(r => $"{r["id"]} {r["title"]} {System.Text.Json.JsonSerializer.Serialize(r["vector"])}")
            .Order(StringComparer.Ordinal)];

    /// <summary>The import tests' three files in each of <paramref name="folders"/>: <c>rows.jsonl</c> (2,500 rows),
    /// <c>more.jsonl</c> (50) and <c>bad.jsonl</c> (5 good rows, then one whose vector has 2 dimensions of 4).</summary>
    private static async Task WriteFilesAsync(params string[] folders)
    {
        foreach (var folder in folders)
        {
            Directory.CreateDirectory(folder);
            await File.WriteAllTextAsync(Path.Combine(folder, "rows.jsonl"), Lines(0, 2500));
            await File.WriteAllTextAsync(Path.Combine(folder, "more.jsonl"), Lines(5000, 50));
            await File.WriteAllTextAsync(Path.Combine(folder, "bad.jsonl"), Lines(9000, 5) + "{\"id\":9100,\"title\":\"x\",\"vector\":[1,2]}\n");
        }
    }

    private static string Lines(int from, int count) => string.Concat(Enumerable.Range(from, count)
        .Select(i => string.Create(CultureInfo.InvariantCulture, $"{{\"id\":{i},\"title\":\"t{i}\",\"vector\":[{i % 97},{i % 13},0.5,{-i}]}}\n")));

    private static ImportRequest Import(string collection, params string[] files)
    {
        var request = new ImportRequest { CollectionName = collection };
        request.Files.AddRange(files);
        return request;
    }

    private static ImportRequest WithPartition(ImportRequest request, string partition)
    {
        request.PartitionName = partition;
        return request;
    }

    /// <summary>The collection in three shards (one on the standalone server, which ignores the count for its rows).</summary>
    private static CreateCollectionRequest Create(bool autoId = false)
    {
        var schema = new ProtoSchema.CollectionSchema { Name = Collection };
        schema.Fields.Add(new ProtoSchema.FieldSchema { Name = "id", DataType = ProtoSchema.DataType.Int64, IsPrimaryKey = true, AutoID = autoId });
        var title = new ProtoSchema.FieldSchema { Name = "title", DataType = ProtoSchema.DataType.VarChar };
        title.TypeParams.Add(new ProtoKeyValuePair { Key = "max_length", Value = "32" });
        schema.Fields.Add(title);
        var vector = new ProtoSchema.FieldSchema { Name = "vector", DataType = ProtoSchema.DataType.FloatVector };
        vector.TypeParams.Add(new ProtoKeyValuePair { Key = "dim", Value = "4" });
        schema.Fields.Add(vector);
        return new CreateCollectionRequest { CollectionName = Collection, ShardsNum = 3, Schema = schema.ToByteString() };
    }

}

/// <summary>The standalone server's importer as <c>quiver serve</c> plugs it in (<c>ToolboxBulkImporter</c>: the toolbox's
/// two passes over the engine's own client), for the standalone servers the import tests take as their oracle.</summary>
internal sealed class OracleImporter : IBulkImporter
{
    /// <summary>A standalone server on loopback over <paramref name="dataPath"/> with this importer (import root
    /// <c>import</c> below it).</summary>
    public static Task<QuiverServer> StartServerAsync(string dataPath) => QuiverServer.StartAsync(new ServerOptions
    {
        DataPath = dataPath, Host = "127.0.0.1", Port = 0, Import = new BulkImportOptions { Importer = new OracleImporter() },
    });

    public async Task ImportAsync(QuiverEngine engine, BulkImportJob job, CancellationToken cancellationToken)
    {
        var schema = (await engine.DescribeCollectionAsync(job.Collection, job.Database, cancellationToken)).Schema;
        await FileJobImport.RunAsync(QuiverClient.FromEngine(engine), schema, Nodes.ServerImportJobs.FileJobOf(job), cancellationToken);
    }
}
