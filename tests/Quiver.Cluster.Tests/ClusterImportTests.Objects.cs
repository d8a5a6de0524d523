using Grpc.Net.Client;
using NATS.Client.JetStream;
using NATS.Client.ObjectStore;
using Quiver.Client;
using Quiver.Cluster.Nodes;
using Quiver.Protocol.Milvus;
using Quiver.Testing;

namespace Quiver.Cluster.Tests;

/// <summary>Import requests naming objects already in the cluster's object store (docs/cluster.md, "Bulk import"):
/// files put into bucket <c>{cluster}-import-objects</c> by <c>Quiver.Cluster upload</c> (the command
/// <c>quiver cluster upload</c> runs), named <c>object:NAME</c>.</summary>
public sealed partial class ClusterImportTests
{
    /// <summary>No node's import root holds the files: they are uploaded as objects from a folder of the test's own. A job
    /// naming them over gRPC (accepted by node 1, followed through node 2) and one over REST (created through node 2,
    /// followed through node 0) answer as a standalone server importing the same files from its import root (the file
    /// names aside), a job over a bad object fails as the standalone fails it, and the collection then holds exactly the
    /// standalone's rows. A request naming an object the bucket does not hold is refused before any job exists, over
    /// gRPC and REST, naming the object; the objects stay in the bucket after their jobs (they are the user's).</summary>
    [NatsFact]
    public async Task AnImportNamingStoredObjects_RunsWithNoFileOnAnyNode_AndAnswersAsTheStandaloneServer()
    {
        await using var nats = await NatsCluster.StartAsync();
        await using var nodes = await QuiverNodes.StartAsync(nats.Url, 3);
        using var folder = new TempFolder("quiver-oracle");
        await using var oracle = await OracleImporter.StartServerAsync(folder.Path);
        var oracleRoot = Path.Combine(folder.Path, "import");
        using var uploads = new TempFolder("quiver-uploads");
        await WriteFilesAsync(oracleRoot, uploads.Path);

        // Uploaded by the node program's own command, under names of the test's choosing ("more.jsonl" by its file name).
        foreach (var (file, name) in new[] { ("rows.jsonl", "batch/2026/rows.jsonl"), ("more.jsonl", null), ("bad.jsonl", "bad.jsonl") })
        {
            var (code, stdout, stderr) = await QuiverNodes.RunProgramAsync(
                ["upload", "--config", nodes.ConfigPath(0), Path.Combine(uploads.Path, file), .. name is null ? Array.Empty<string>() : [name]]);
            Assert.True(code == 0, stderr);
            output.WriteLine(stdout);
        }

        var bucket = ClusterImports.ObjectsBucket(nodes.Cluster);
        using var single = GrpcChannel.ForAddress($"http://127.0.0.1:{oracle.Port}");
        var channels = Enumerable.Range(0, 3).Select(i => GrpcChannel.ForAddress(nodes.Address(i))).ToArray();
        var rest = Enumerable.Range(0, 3).Select(i => new HttpClient { BaseAddress = new Uri(nodes.Address(i)) }).ToArray();
        try
        {
            var standalone = new MilvusService.MilvusServiceClient(single);
            var node = channels.Select(c => new MilvusService.MilvusServiceClient(c)).ToArray();
            Assert.Equal(0, (await standalone.CreateCollectionAsync(Create())).Code);
            Assert.Equal(0, (await node[0].CreateCollectionAsync(Create())).Code);

            // Refusals: an object the bucket does not hold (alone, after one it holds, or with no name at all).
            foreach (var (files, missing) in new (string[] Files, string Missing)[]
            {
                (["object:nope.jsonl"], "nope.jsonl"),
                (["object:batch/2026/rows.jsonl", "object:batch/rows.jsonl"], "batch/rows.jsonl"),
                (["object:"], ""),
            })
            {
                var expected = ClusterImports.ObjectMissing(missing, bucket);
                var refused = await node[1].ImportAsync(Import(Collection, files));
                Assert.Equal((1100, expected.Message), (refused.Status.Code, refused.Status.Reason));
                Assert.Empty(refused.Tasks);
                var restRefused = await PostAsync(rest[2], "/v2/vectordb/jobs/import/create", new { collectionName = Collection, files = new[] { files } });
                Assert.Equal((1100, expected.Message), (restRefused["code"]!.GetValue<int>(), restRefused["message"]!.GetValue<string>()));
            }

            Assert.Empty((await node[0].ListImportTasksAsync(new ListImportTasksRequest())).Tasks);

            // The jobs, each against the standalone's job over the same file in its import root.
            string Named(string shown) => shown.Replace("object:batch/2026/rows.jsonl", "rows.jsonl", StringComparison.Ordinal)
                .Replace("object:more.jsonl", "more.jsonl", StringComparison.Ordinal).Replace("object:bad.jsonl", "bad.jsonl", StringComparison.Ordinal);
            var expectedDone = await RunAsync(standalone, standalone, Import(Collection, "rows.jsonl"));
            var done = await RunAsync(node[1], node[2], Import(Collection, "object:batch/2026/rows.jsonl"), nodes);
            Assert.True(done.State == Protocol.Common.ImportState.ImportCompleted, Shown(done) + "\n" + nodes.Output(1));
            Assert.Equal(2500, done.RowCount);
            Assert.Equal(Shown(expectedDone), Named(Shown(done)));
            var expectedBad = await RunAsync(standalone, standalone, Import(Collection, "bad.jsonl"));
            var bad = await RunAsync(node[2], node[0], Import(Collection, "object:bad.jsonl"), nodes);
            Assert.True(bad.State == Protocol.Common.ImportState.ImportFailed, Shown(bad));
            Assert.Equal(Shown(expectedBad), Named(Shown(bad)));

            using var standaloneRest = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{oracle.Port}") };
            Assert.Equal(await RestJobAsync(standaloneRest, standaloneRest), Named(await RestJobAsync(rest[2], rest[0], nodes, "object:more.jsonl")));

            // The rows are the standalone's; no node's import root holds a file; the objects are still in the bucket.
            await using var client = await QuiverClient.ConnectAsync(new QuiverClientOptions { Address = nodes.Address(0), Timeout = TimeSpan.FromMinutes(3) });
            await using var reference = await QuiverClient.ConnectAsync(new QuiverClientOptions { Address = $"http://127.0.0.1:{oracle.Port}" });
            await client.LoadCollectionAsync(Collection);
            await reference.LoadCollectionAsync(Collection);
            Assert.Equal(await RowsAsync(reference), await RowsAsync(client));
            Assert.Equal(2550, (await RowsAsync(client)).Count);
            for (var i = 0; i < 3; i++)
            {
                var root = Path.Combine(nodes.DataPath(i), "import");
                Assert.True(!Directory.Exists(root) || !Directory.EnumerateFileSystemEntries(root).Any(), root);
            }

            await using var connection = nats.Connect();
            var objects = await new NatsObjContext(new NatsJSContext(connection)).GetObjectStoreAsync(bucket);
            foreach (var (name, file) in new[] { ("batch/2026/rows.jsonl", "rows.jsonl"), ("more.jsonl", "more.jsonl"), ("bad.jsonl", "bad.jsonl") })
            {
                Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(uploads.Path, file)), await objects.GetBytesAsync(name));
            }
        }
        finally
        {
            foreach (var channel in channels)
            {
                channel.Dispose();
            }

            foreach (var http in rest)
            {
                http.Dispose();
            }
        }
    }
}
