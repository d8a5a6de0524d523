using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using Quiver.Cluster.Nodes;
using Quiver.Protocol.Milvus;
using ProtoStatus = Quiver.Protocol.Common.Status;

namespace Quiver.Cluster.Tests;

/// <summary>REST reads routed by the catalog entry a node remembers, after their collection was dropped and created again
/// through another node (<c>RestRouting.RunAsync</c>), as <see cref="AReadByARememberedEntry_AfterADropAndCreateThroughAnotherNode_IsAnsweredByTheNewCollection"/>
/// for gRPC: the first node's catalog never watches the bucket, so nothing reaches it but what it reads; oracle: the rows
/// sent to the new collection, exactly (a search's hits by brute force over them).</summary>
public sealed partial class InProcessClusterTests
{
    [NatsFact]
    public async Task RestReadsByARememberedEntry_AfterADropAndCreateThroughAnotherNode_AreAnsweredByTheNewCollection()
    {
        await using var cluster = await StartAsync();
        var (first, second, otherCatalog) = await TwoAccessLayersAsync(cluster);
        await using var _ = otherCatalog;
        await using var restNode = await RestNodeAsync(cluster, first);
        var rest = restNode.Routing;

        var old = Enumerable.Range(0, 40).Select(i => (long)i).ToArray();
        var fresh = Enumerable.Range(100, 20).Select(i => (long)i).ToArray();
        float[] probe = [1f, 0f];
        // The 5 nearest of the new rows to the probe in L2, by brute force.
        var nearest = fresh.OrderBy(id => Vector((int)id) is var v ? ((v[0] - probe[0]) * (v[0] - probe[0])) + ((v[1] - probe[1]) * (v[1] - probe[1])) : 0).Take(5).ToArray();
        var reads = new (string Path, Func<string, JsonObject> Body, Action<string, JsonObject> Check)[]
        {
            ("/entities/query", n => new JsonObject { ["collectionName"] = n, ["filter"] = "id >= 0", ["outputFields"] = new JsonArray("id"), ["limit"] = 100, ["consistencyLevel"] = "Strong" },
                (n, a) => Assert.Equal(fresh, Keys(a).Order())),
            ("/entities/get", n => new JsonObject { ["collectionName"] = n, ["id"] = new JsonArray([.. fresh.Select(k => (JsonNode)k)]), ["outputFields"] = new JsonArray("id"), ["consistencyLevel"] = "Strong" },
                (n, a) => Assert.Equal(fresh, Keys(a).Order())),
            ("/entities/search", n => new JsonObject { ["collectionName"] = n, ["data"] = new JsonArray(new JsonArray(probe[0], probe[1])), ["annsField"] = "vector", ["limit"] = 5, ["outputFields"] = new JsonArray("id"), ["consistencyLevel"] = "Strong" },
                (n, a) => Assert.Equal(nearest, Keys(a))),
            ("/collections/has", n => new JsonObject { ["collectionName"] = n },
                (n, a) => Assert.True((int)a["code"]! == 0 && (bool)a["data"]!["has"]!, a.ToJsonString())),
            ("/collections/describe", n => new JsonObject { ["collectionName"] = n },
                (n, a) => Assert.True((int)a["code"]! == 0 && (string)a["data"]!["collectionName"]! == n, a.ToJsonString())),
        };

        // Each read on its own collection of 1 and of 3 shards, each filled through the first node and read there over
        // REST (so its catalog remembers the entry), then dropped and created again with other rows through the second.
        var cases = reads.SelectMany(r => new[] { 1, 3 }.Select(shards => (Read: r, Shards: shards, Name: $"re{r.Path.Replace('/', '_')}_{shards}"))).ToArray();
        var remembered = new Dictionary<string, string>();
        foreach (var (_, shards, name) in cases)
        {
            await CreateFilledAsync(first, name, shards, old);
            Assert.Equal(old, Keys(await restNode.CallAsync("/entities/query", reads[0].Body(name))).Order());
            remembered[name] = (await _context!.Catalog.EntryAsync("default", name, CancellationToken.None)).Id;
        }

        foreach (var (_, shards, name) in cases)
        {
            AssertOk(ProtoStatus.Parser.ParseFrom(await CallAsync(second, "DropCollection", new DropCollectionRequest { CollectionName = name })));
            await CreateFilledAsync(second, name, shards, fresh);
            // The first node still remembers the dropped collection's storage id, as until its watch delivered the change.
            Assert.Equal(remembered[name], (await _context!.Catalog.EntryAsync("default", name, CancellationToken.None)).Id);
        }

        // Each read through the first node answers the new collection after one re-read of its entry; read again, it is
        // routed by the current entry with no further re-read.
        var retries = 0;
        foreach (var (read, _, name) in cases)
        {
            read.Check(name, await restNode.CallAsync(read.Path, read.Body(name)));
            Assert.Equal(++retries, rest.StaleEntryRetries);
            Assert.NotEqual(remembered[name], (await _context!.Catalog.EntryAsync("default", name, CancellationToken.None)).Id);
            read.Check(name, await restNode.CallAsync(read.Path, read.Body(name)));
            Assert.Equal(retries, rest.StaleEntryRetries);
        }

        // A collection that is not there at all is still answered "does not exist", without a re-read.
        Assert.Equal(100, (int)(await restNode.CallAsync("/entities/query", reads[0].Body("never_created")))["code"]!);
        Assert.False((bool)(await restNode.CallAsync("/collections/has", reads[3].Body("never_created")))["data"]!["has"]!);
        Assert.Equal(retries, rest.StaleEntryRetries);
    }

    /// <summary>The first node's REST access layer (<paramref name="first"/> its gRPC routing) on the running test cluster,
    /// with the node's security over the cluster's bucket.</summary>
    private async Task<RestNode> RestNodeAsync(InProcessCluster cluster, MilvusRouting first)
    {
        var security = await ClusterSecurity.OpenAsync(new NatsKVContext(new NatsJSContext(nats.Connection)), _context!.Config, CancellationToken.None);
        _context.Security = security;
        var services = new ServiceCollection();
        NodeSecurity.Register(services, security, _context.Config);
        services.AddSingleton(first);
        return new RestNode(new RestRouting(cluster.Client, _context, NullLogger<RestRouting>.Instance), services.BuildServiceProvider(), security);
    }

    /// <summary>The keys (<c>id</c>) of the rows a REST read answered, which must have succeeded.</summary>
    private static long[] Keys(JsonObject answer)
    {
        Assert.True((int)answer["code"]! == 0, answer.ToJsonString());
        return [.. answer["data"]!.AsArray().Select(row => long.Parse(row!["id"]!.ToString(), System.Globalization.CultureInfo.InvariantCulture))];
    }

    /// <summary>A node's REST access layer called in process: each call a request of its own, answered with HTTP 200.</summary>
    private sealed class RestNode(RestRouting routing, ServiceProvider provider, ClusterSecurity security) : IAsyncDisposable
    {
        public RestRouting Routing => routing;

        public async Task<JsonObject> CallAsync(string path, JsonObject body)
        {
            var http = new DefaultHttpContext { RequestServices = provider };
            http.Request.Path = RestRouting.Prefix + path;
            http.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body.ToJsonString()));
            var answer = new MemoryStream();
            http.Response.Body = answer;
            await routing.RunAsync(http);
            Assert.Equal(StatusCodes.Status200OK, http.Response.StatusCode);
            return (JsonObject)JsonNode.Parse(answer.ToArray())!;
        }

        public async ValueTask DisposeAsync()
        {
            await provider.DisposeAsync();
            await security.DisposeAsync();
        }
    }
}
