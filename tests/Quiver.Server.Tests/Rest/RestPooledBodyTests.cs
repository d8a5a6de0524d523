using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Quiver.Server.Hosting;
using Quiver.Server.Milvus;
using Quiver.Server.Rest;

namespace Quiver.Server.Tests.Rest;

/// <summary>
/// Issue 13 (the server path): a read endpoint's REST body is read into a buffer from the shared pool and its parsed
/// document's storage goes back to the pool when the request ends (<see cref="RestBody.ReadPooledAsync"/>), and every
/// answer is written into a pooled buffer (<see cref="PooledBufferWriter"/>). Allocation counts on one thread show the
/// buffers are reused rather than allocated per request; the bytes read and written are those of the unpooled code on
/// random inputs; and through the server, concurrent searches and queries with distinct bodies each answer their own exact
/// results, so no request reads a buffer another has been handed.
/// </summary>
public sealed class RestPooledBodyTests
{
    private static DefaultHttpContext Context(byte[] body, bool declareLength)
    {
        var http = new DefaultHttpContext();
        http.Request.Body = new MemoryStream(body, writable: false);
        http.Request.ContentLength = declareLength ? body.Length : null;
        return http;
    }

    /// <summary>Reads, parses and releases <paramref name="body"/> as a pooled read endpoint does; returns the bytes this
    /// thread allocated. A MemoryStream completes every read at once, so the whole read runs on this thread.</summary>
    private static long PooledRead(byte[] body, bool declareLength, InFlightBytes budget)
    {
        var http = Context(body, declareLength);
        using var lease = new InFlightLease(budget);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var read = RestBody.ReadPooledAsync(http, 4 << 20, lease);
        Assert.True(read.IsCompletedSuccessfully);
        using (var pooled = read.Result)
        {
            Assert.Equal(JsonValueKind.Object, pooled.Parse().ValueKind);
        }
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    private static long UnpooledRead(byte[] body, bool declareLength, InFlightBytes budget)
    {
        var http = Context(body, declareLength);
        using var lease = new InFlightLease(budget);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var read = RestBody.ReadAsync(http, 4 << 20, lease);
        Assert.True(read.IsCompletedSuccessfully);
        Assert.Equal(JsonValueKind.Object, RestBody.Parse(read.Result).ValueKind);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void PooledRead_OfA200kBBody_AllocatesAFractionOfIt_WhereTheUnpooledReadAllocatesItWhole(bool declareLength)
    {
        // 16 vectors of 768 numbers: about 200 kB of text and a document of about 12,000 values.
        var rng = new Random(7);
        var text = "{\"collectionName\":\"c\",\"data\":[" + string.Join(",", Enumerable.Range(0, 16).Select(_ =>
            "[" + string.Join(",", Enumerable.Range(0, 768).Select(_ => (rng.NextDouble() * 2 - 1).ToString("R", CultureInfo.InvariantCulture))) + "]")) + "]}";
        var body = Encoding.UTF8.GetBytes(text);
        var budget = new InFlightBytes(64 << 20);
        // The unpooled read first: its document rents its value table from the pool and never gives it back. Then
        // warm-ups for the pooled read (JIT, and the pool's first buffers of these sizes: the body and the value table
        // both come from the 256 kB bucket).
        UnpooledRead(body, declareLength, budget);
        var unpooled = UnpooledRead(body, declareLength, budget);
        PooledRead(body, declareLength, budget);
        PooledRead(body, declareLength, budget);

        var pooled = PooledRead(body, declareLength, budget);

        // The unpooled read allocates the body and the document's value table (about 12 bytes a value) every time; the
        // pooled one only its small objects (context-free: the stream and context were made before counting).
        Assert.True(unpooled >= body.Length, $"unpooled read allocated {unpooled} bytes for a {body.Length}-byte body");
        Assert.True(pooled < 8 * 1024, $"pooled read allocated {pooled} bytes for a {body.Length}-byte body (unpooled: {unpooled})");
        Assert.Equal(0, budget.Used);
    }

    [Fact]
    public async Task PooledRead_HoldsTheSameBytes_AndRefusesAsTheUnpooledRead_OnRandomBodies()
    {
        var rng = new Random(11);
        var budget = new InFlightBytes(64 << 20);
        for (var round = 0; round < 300; round++)
        {
            // Sizes around the first chunk and its doublings, with and without a declared length; a limit that some pass.
            var size = rng.Next(4) switch { 0 => rng.Next(0, 64), 1 => rng.Next(16 * 1024 - 8, 16 * 1024 + 8), 2 => rng.Next(1, 100_000), _ => rng.Next(32 * 1024, 70_000) };
            var body = new byte[size];
            rng.NextBytes(body);
            var declare = rng.Next(2) == 0;
            var limit = rng.Next(3) == 0 ? rng.Next(1, 80_000) : 1 << 20;
            using var leaseA = new InFlightLease(budget);
            using var leaseB = new InFlightLease(budget);
            var (expected, expectedError) = await Try(() => RestBody.ReadAsync(Context(body, declare), limit, leaseA));
            PooledBody? pooled = null;
            var (got, gotError) = await Try(async () => (pooled = await RestBody.ReadPooledAsync(Context(body, declare), limit, leaseB)).Memory);
            using (pooled)
            {
                Assert.Equal(expectedError, gotError);
                Assert.True(expected.Span.SequenceEqual(got.Span), $"round {round}: bytes differ");
                Assert.Equal(leaseA.Held, leaseB.Held);
            }
        }
        Assert.Equal(0, budget.Used);

        static async Task<(ReadOnlyMemory<byte>, string?)> Try(Func<Task<ReadOnlyMemory<byte>>> read)
        {
            try
            {
                return (await read(), null);
            }
            catch (MilvusException e)
            {
                return (default, $"{e.Code}: {e.Message}");
            }
        }
    }

    [Fact]
    public void PooledBufferWriter_WritesWhatArrayBufferWriterWrites_AndReusesItsBuffer()
    {
        var rng = new Random(5);
        for (var round = 0; round < 200; round++)
        {
            var expected = new ArrayBufferWriter<byte>();
            using var got = new PooledBufferWriter();
            var steps = rng.Next(1, 40);
            for (var s = 0; s < steps; s++)
            {
                var hint = rng.Next(3) == 0 ? 0 : rng.Next(1, 20_000);
                var count = rng.Next(0, Math.Max(1, hint) + 1);
                var chunk = new byte[count];
                rng.NextBytes(chunk);
                var a = expected.GetSpan(hint);
                var b = rng.Next(2) == 0 ? got.GetSpan(hint) : got.GetMemory(hint).Span;
                Assert.True(a.Length >= Math.Max(1, hint) && b.Length >= Math.Max(1, hint));
                chunk.CopyTo(a);
                chunk.CopyTo(b);
                expected.Advance(count);
                got.Advance(count);
            }
            Assert.Equal(expected.WrittenCount, got.WrittenCount);
            Assert.True(expected.WrittenSpan.SequenceEqual(got.WrittenMemory.Span), $"round {round}");
        }

        var answer = new byte[100_000];
        rng.NextBytes(answer);
        WriteAnswer(answer); // warm-up: the pool's buffers of these sizes
        var before = GC.GetAllocatedBytesForCurrentThread();
        WriteAnswer(answer);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // The writer object alone; an ArrayBufferWriter allocates every size it doubles through (256 B .. 128 kB).
        Assert.True(allocated < 1024, $"writing a 100 kB answer allocated {allocated} bytes");

        static void WriteAnswer(byte[] answer)
        {
            using var writer = new PooledBufferWriter();
            for (var offset = 0; offset < answer.Length; offset += 1000)
            {
                var part = answer.AsSpan(offset, Math.Min(1000, answer.Length - offset));
                part.CopyTo(writer.GetSpan(part.Length));
                writer.Advance(part.Length);
            }
            Assert.Equal(answer.Length, writer.WrittenCount);
        }
    }

    [Fact]
    public async Task ConcurrentSearchesAndQueries_WithPooledBodies_EachAnswerTheirOwnExactResult()
    {
        await using var server = await TestServer.StartAsync();
        const int Dim = 8, Rows = 300;
        var rng = new Random(17);
        var vectors = Enumerable.Range(0, Rows).Select(_ => Enumerable.Range(0, Dim).Select(_ => (float)rng.Next(0, 20)).ToArray()).ToArray();
        await RestFloatCollection.CreateAsync(server, "pool", vectors);

        // Bodies of different lengths (padding in the filter) so that buffers of several sizes are rented and handed on.
        var calls = Enumerable.Range(0, 96).Select(i => (Task)(i % 2 == 0 ? SearchAsync(i) : QueryAsync(i))).ToArray();
        await Task.WhenAll(calls);

        async Task SearchAsync(int i)
        {
            var q = Enumerable.Range(0, Dim).Select(_ => (float)Random.Shared.Next(0, 20)).ToArray();
            var pad = new string(' ', Random.Shared.Next(0, 20_000));
            var body = RestFloatCollection.SearchBody("pool", [q], 5);
            body["filter"] = "id >= 0" + pad;
            var hits = (await RestFloatCollection.PostOkAsync(server, "/entities/search", body.ToJsonString()))["data"]!.AsArray();
            Assert.Equal(RestFloatCollection.ExactDistances(vectors, q, 5),
                RestFloatCollection.Ids(hits).Select(id => RestFloatCollection.L2(vectors[id], q)).ToArray());
        }

        async Task QueryAsync(int i)
        {
            var tag = i % RestFloatCollection.Tags;
            var pad = new string(' ', Random.Shared.Next(0, 20_000));
            var body = new JsonObject
            {
                ["collectionName"] = "pool",
                ["filter"] = $"tag == {tag}" + pad,
                ["outputFields"] = new JsonArray("id", "tag"),
                ["limit"] = 100,
                ["consistencyLevel"] = "Strong",
            };
            var got = RestFloatCollection.Ids((await RestFloatCollection.PostOkAsync(server, "/entities/query", body.ToJsonString()))["data"]!.AsArray()).Order().ToArray();
            Assert.Equal(Enumerable.Range(0, Rows).Where(r => r % RestFloatCollection.Tags == tag).Select(r => (long)r).ToArray(), got);
        }
    }
}
