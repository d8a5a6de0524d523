using System.Collections.Concurrent;
using Grpc.Core;
using Quiver.Server.Clients;
using Quiver.Testing;
using Xunit.Abstractions;

namespace Quiver.Server.Tests.Ops;

/// <summary>
/// <c>quiver serve</c> killed with SIGKILL while clients insert through the gRPC API: after a restart every row whose
/// insert was acknowledged is there with its vector, and every insert batch is all there or not at all. Needs the
/// Insert RPC (the data handlers); without it the inserts answer "unimplemented" and the test fails on its first ack.
/// </summary>
[Trait("Category", "Long")]
public sealed class DurabilityKillTests(ITestOutputHelper output)
{
    private const int Dim = 8;
    private const int Batch = 20;
    private const int Clients = 4;

    [Fact]
    public async Task Serve_KilledDuringIngest_KeepsEveryAcknowledgedRow()
    {
        using var folder = new TempFolder();
        var data = Path.Combine(folder.Path, "data");
        await using (var engine = await QuiverEngine.OpenAsync(data))
        {
            await engine.CreateCollectionAsync("docs", ObservabilityTests.Schema(Dim));
        }

        var iterations = TestTier.Pick(3, 30);
        var random = new Random(20261126);
        var acknowledged = new ConcurrentDictionary<long, float[]>();
        var batches = new ConcurrentBag<long>(); // first id of every batch sent, acknowledged or not
        long nextBatch = 0;
        for (var iteration = 0; iteration < iterations; iteration++)
        {
            await using var serve = await ServeProcess.StartAsync(data, ["--durability", "Always"]);
            var (channel, client) = serve.Connect();
            using (channel)
            {
                using var firstAck = new SemaphoreSlim(0);
                using var stop = new CancellationTokenSource();
                var writers = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
                {
                    var rowRandom = new Random(iteration * 100 + c);
                    while (!stop.IsCancellationRequested)
                    {
                        var first = Interlocked.Increment(ref nextBatch) * Batch;
                        var ids = Enumerable.Range(0, Batch).Select(i => first + i).ToArray();
                        var vectors = Enumerable.Range(0, Batch * Dim).Select(_ => rowRandom.NextSingle()).ToArray();
                        batches.Add(first);
                        Protocol.Milvus.MutationResult response;
                        try
                        {
                            response = await client.InsertAsync(MilvusRequests.Insert("docs", ids, vectors, Dim));
                        }
                        catch (RpcException)
                        {
                            return; // the server died under us: this batch is unacknowledged
                        }
                        Assert.True(response.Status.Code == 0, $"insert answered {response.Status.Code}: {response.Status.Reason}");
                        Assert.Equal(Batch, response.InsertCnt);
                        for (var i = 0; i < Batch; i++)
                        {
                            acknowledged[ids[i]] = vectors.AsSpan(i * Dim, Dim).ToArray();
                        }
                        firstAck.Release();
                    }
                })).ToList();

                var acked = firstAck.WaitAsync(TimeSpan.FromSeconds(60));
                if (await Task.WhenAny(acked, Task.WhenAll(writers)) != acked)
                {
                    await Task.WhenAll(writers); // a writer failed before any ack: its assertion is the error
                }
                Assert.True(await acked, "no insert was acknowledged\n" + serve.Transcript());
                await Task.Delay(random.Next(50, 800));
                await serve.KillAsync();
                await stop.CancelAsync();
                await Task.WhenAll(writers);
            }
            output.WriteLine($"iteration {iteration}: {acknowledged.Count} rows acknowledged so far");
        }

        await using (var engine = await QuiverEngine.OpenAsync(data))
        {
            var keys = acknowledged.Keys.Order().Select(k => (object)k).ToList();
            var rows = await engine.GetAsync("docs", keys);
            Assert.Equal(keys.Count, rows.Count);
            foreach (var row in rows)
            {
                Assert.Equal(acknowledged[(long)row["id"]!], (float[])row["vector"]!);
            }
            foreach (var first in batches)
            {
                var present = (await engine.GetAsync("docs", Enumerable.Range(0, Batch).Select(i => (object)(first + i)).ToList())).Count;
                Assert.True(present is 0 or Batch, $"batch {first}: {present} of {Batch} rows survived; a batch is atomic");
            }
        }
    }
}
