using Microsoft.Extensions.DependencyInjection;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using Orleans.Serialization;
using Quiver.Cluster.Nodes;

namespace Quiver.Cluster.Tests;

/// <summary>What a failed grain call carries back (<see cref="GrainBoundary"/>): every failure a grain can meet crosses
/// Orleans's serializer as an exception the caller can read (CI once failed a placement with a
/// <c>CodecNotFoundException</c> for NATS's <c>NatsJSApiException</c>), and the cluster's buckets open when several
/// nodes open them at once (<see cref="KvBuckets"/>).</summary>
[Collection("Nats")]
public sealed class GrainBoundaryTests(NatsFixture nats)
{
    /// <summary>Orleans's serializer with this cluster's serializers, as every silo has it.</summary>
    private static readonly Serializer Wire = new ServiceCollection()
        .AddSerializer(s => s.AddAssembly(typeof(NodeContext).Assembly))
        .BuildServiceProvider()
        .GetRequiredService<Serializer>();

    public static TheoryData<string> Failures => [.. FailureCases.Keys];

    private static readonly Dictionary<string, (Exception Thrown, Type Seen, QuiverErrorCode? Code, string Message)> FailureCases = new()
    {
        ["JetStream API error"] = (Api(400, 10058, "stream name already in use"), typeof(QuiverException), QuiverErrorCode.Unavailable, "stream name already in use"),
        ["KV error"] = (new NatsKVException("Invalid bucket name"), typeof(QuiverException), QuiverErrorCode.Unavailable, "Invalid bucket name"),
        ["Quiver error over a NATS one"] = (new QuiverException(QuiverErrorCode.NotFound, "replica 2 of 'default/c' is not loaded", Api(503, 10008, "no leader")), typeof(QuiverException), QuiverErrorCode.NotFound, "replica 2 of 'default/c' is not loaded"),
        ["filter error"] = (new FilterException("unknown field 'x'", 3, "x"), typeof(QuiverException), QuiverErrorCode.BadFilter, "unknown field 'x' at position 3 (near 'x')"),
        ["timeout over a NATS one"] = (new TimeoutException("the set grain did not answer", Api(408, 0, "request timeout")), typeof(TimeoutException), null, "the set grain did not answer"),
        ["one NATS error in an aggregate"] = (new AggregateException(Api(500, 10049, "stream restore failed")), typeof(QuiverException), QuiverErrorCode.Unavailable, "stream restore failed"),
        ["any other"] = (new InvalidOperationException("Sequence contains no elements"), typeof(QuiverException), QuiverErrorCode.Unavailable, "InvalidOperationException"),
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void AFailure_CrossesOrleansSerializer_AsAnExceptionWithItsCodeAndMessage(string failure)
    {
        var (thrown, seen, code, message) = FailureCases[failure];
        var bytes = Wire.SerializeToArray<Exception>(GrainBoundary.Wrap(thrown));
        var back = Wire.Deserialize<Exception>(bytes);

        Assert.IsType(seen, back);
        Assert.Contains(message, back.Message);
        Assert.Null(back.InnerException);
        if (code is { } expected)
        {
            Assert.Equal(expected, ((QuiverException)back).Code);
        }
    }

    [Fact]
    public void OrleansOwnFailure_CrossesAsItself()
    {
        var thrown = new SiloUnavailableException("silo 127.0.0.1:11111 is dead");
        Assert.Same(thrown, GrainBoundary.Wrap(thrown));
        var back = Wire.Deserialize<Exception>(Wire.SerializeToArray<Exception>(thrown));
        Assert.IsType<SiloUnavailableException>(back);
    }

    [NatsFact]
    public async Task ABucketOpenedByManyAtOnce_OpensForEveryone_AsOneBucket()
    {
        // As the nodes of a cluster and the placements racing on each of them open a bucket nobody has created yet.
        var name = NatsFixture.Unique("kvrace");
        var kv = nats.KeyValue;
        var stores = await Task.WhenAll(Enumerable.Range(0, 24).Select(_ => Task.Run(() => KvBuckets.OpenAsync(kv, name, 3, TimeSpan.FromSeconds(60), CancellationToken.None))));

        await stores[0].PutAsync("k", new byte[] { 7 });
        foreach (var store in stores)
        {
            // From the stream's leader: a direct get may be answered by a replica that has not applied the put yet (CI saw
            // "Key not found" so), which says nothing of whether the handles name one bucket.
            Assert.Equal(new byte[] { 7 }, await KvLeaderReads.ValueAsync(store, "k", CancellationToken.None));
        }

        var stream = await nats.JetStream.GetStreamAsync($"KV_{name}");
        Assert.Equal(3, stream.Info.Config.NumReplicas);
        Assert.Equal(1, stream.Info.Config.MaxMsgsPerSubject);
    }

    [NatsFact]
    public async Task ABucketThatExists_IsOpenedAsItIs_NotSentAConfigurationUpdate()
    {
        // A bucket some earlier version (or an operator) made differently, here in memory: opening it must not send an
        // update, which the server refuses for a storage change and which stalls while one of its servers is down.
        var name = NatsFixture.Unique("kvmem");
        await nats.KeyValue.CreateStoreAsync(new NatsKVConfig(name) { NumberOfReplicas = 3, History = 1, Storage = NatsKVStorageType.Memory });

        var store = await KvBuckets.OpenAsync(nats.KeyValue, name, 3, TimeSpan.FromSeconds(60), CancellationToken.None);

        await store.PutAsync("k", new byte[] { 1 });
        var stream = await nats.JetStream.GetStreamAsync($"KV_{name}");
        Assert.Equal(StreamConfigStorage.Memory, stream.Info.Config.Storage);
    }

    private static NatsJSApiException Api(int code, int errCode, string description) =>
        new(new ApiError { Code = code, ErrCode = errCode, Description = description });
}
