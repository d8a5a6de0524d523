using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Quiver.Server.Hosting;
using Quiver.Server.Rest;

namespace Quiver.Server.Tests.Rest;

/// <summary>
/// Issue 13 (the server path): what a REST body holds from the shared pools goes back when its request ends. An endpoint
/// whose body is read into an array of its own disposes its parsed document, so its value table is rented again by the
/// next request instead of allocated; an insert or upsert whose rows are read as text reads its body into a pooled buffer
/// (the text reader copies every value it keeps). Allocation counts on one thread (each call runs to its end on the
/// calling thread: the test asserts it), and the rows written answer exactly after their buffers were reused.
/// </summary>
public sealed class RestBodyReleaseTests
{
    /// <summary>Runs the endpoint <paramref name="path"/> on <paramref name="body"/> in this thread as the server runs it;
    /// returns the answer and the bytes this thread allocated.</summary>
    private static (JsonObject Answer, long Allocated) Run(TestServer server, string path, byte[] body)
    {
        var http = new DefaultHttpContext { RequestServices = server.Server.Services };
        http.Request.Method = "POST";
        http.Request.Body = new MemoryStream(body, writable: false);
        http.Request.ContentLength = body.Length;
        var response = new MemoryStream();
        http.Response.Body = response;
        var before = GC.GetAllocatedBytesForCurrentThread();
        var run = MilvusRestV2.RunEndpointAsync(http, MilvusRestV2.Prefix + path);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // Completed here: every allocation of the call was made on this thread and counted.
        Assert.True(run.IsCompletedSuccessfully, $"{path} did not complete on the calling thread");
        Assert.True(run.Result);
        return (JsonNode.Parse(response.ToArray())!.AsObject(), allocated);
    }

    [Fact]
    public async Task AnUnpooledEndpoint_DisposesItsDocument_SoARepeatAllocatesItsBodyButNotItsValueTable()
    {
        await using var server = await TestServer.StartAsync();
        await RestFloatCollection.CreateAsync(server, "c", [[1f, 2f]]);
        // 20,000 numbers the endpoint does not read: a body of about 110 kB and a value table of about 240 kB (12 bytes
        // a value), which the parser rents from the shared pool.
        var body = Encoding.UTF8.GetBytes("{\"collectionName\": \"c\", \"padding\": ["
            + string.Join(",", Enumerable.Range(0, 20_000).Select(i => i.ToString(CultureInfo.InvariantCulture))) + "]}");
        for (var i = 0; i < 3; i++)
        {
            Run(server, "/collections/has", body); // warm-up: JIT, and the pool's first value table of this size
        }

        var (answer, allocated) = Run(server, "/collections/has", body);

        Assert.True(answer["data"]!["has"]!.GetValue<bool>(), answer.ToJsonString());
        // The body's own array (it is not pooled) and the call's small objects; a document left undisposed rents a new
        // value table every time (the pool never gets the last one back): about 240 kB more.
        Assert.True(allocated < body.Length + 64 * 1024, $"has allocated {allocated} bytes for a {body.Length}-byte body");
    }

    /// <summary>An insert body of 400 rows with a JSON and a dynamic value each, all distinct, with
    /// <paramref name="spaces"/> of white space between the rows (which no reader copies); <paramref name="escapedKey"/>
    /// spells the key <c>id</c> with an escape, which the text scan leaves to the parser.</summary>
    private static byte[] InsertBody(long first, int spaces, bool escapedKey, Dictionary<long, (string Doc, string Extra)> expected)
    {
        var rows = new List<string>();
        for (var id = first; id < first + 400; id++)
        {
            var doc = $"{{\"k\":{id},\"s\":\"{new string((char)('a' + (id % 26)), 20)}\"}}";
            var extra = $"x{id}";
            expected[id] = (doc, extra);
            var row = new JsonObject { ["id"] = id, ["doc"] = JsonNode.Parse(doc), ["v"] = new JsonArray(id, -id), ["extra"] = extra }.ToJsonString();
            rows.Add(escapedKey ? row.Replace("\"id\"", "\"\\u0069d\"", StringComparison.Ordinal) : row);
        }
        return Encoding.UTF8.GetBytes("{\"collectionName\": \"w\", \"data\": [" + string.Join("," + new string(' ', spaces), rows) + "]}");
    }

    private static readonly Quiver.CollectionSchema WriteSchema = new()
    {
        EnableDynamicField = true,
        Fields =
        [
            Quiver.FieldSchema.Int64Key("id"),
            Quiver.FieldSchema.Json("doc"),
            Quiver.FieldSchema.Vector("v", 2, Quiver.MetricType.L2),
        ],
    };

    [Fact]
    public async Task AnInsertBodyReadAsText_IsReadIntoAPooledBuffer_AndOneLeftToTheParser_KeepsBytesOfItsOwn()
    {
        var budget = new InFlightBytes(64 << 20);
        var expected = new Dictionary<long, (string Doc, string Extra)>();
        // 600 kB, mostly white space: the text path allocates the small document of the other members and nothing of
        // the body once the pool holds a buffer of its size; an unpooled read allocates an array the size of the body.
        var body = InsertBody(0, 1500, escapedKey: false, expected);
        Read(body, out _);
        Read(body, out _);
        var allocated = Read(body, out var rows);
        Assert.True(rows, "the body was not read as text");
        Assert.True(body.Length > 580_000 && allocated < 64 * 1024, $"reading a {body.Length}-byte insert body allocated {allocated} bytes");

        // A body the scan leaves to the parser: its rows are read from the document after the request's pooled things
        // went back and another body was read into the pool's buffers, and keep their values.
        var escaped = InsertBody(1000, 1500, escapedKey: true, expected);
        var http = Context(escaped);
        using var lease = new InFlightLease(budget);
        var held = new MilvusRestV2.HeldBody();
        var read = MilvusRestV2.ReadBodyAsync(http, MilvusRestV2.Prefix + "/entities/insert", 4 << 20, lease, held, () => { });
        Assert.True(read.IsCompletedSuccessfully);
        var (parsed, none) = await read;
        Assert.Null(none);
        held.Dispose();
        Read(InsertBody(5000, 1500, escapedKey: true, []), out _);
        Read(InsertBody(6000, 1500, escapedKey: false, []), out _);
        var batch = MilvusRestV2.ReadRows(WriteSchema, parsed.GetProperty("data"), insert: true);
        Assert.Equal(400, batch.RowCount);
        var ids = batch.Find("id")!.Longs!;
        var docs = batch.Find("doc")!.Json!;
        for (var i = 0; i < batch.RowCount; i++)
        {
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected[ids[i]].Doc), JsonNode.Parse(docs[i].GetRawText())), $"row {ids[i]}: {docs[i].GetRawText()}");
            Assert.Equal(expected[ids[i]].Extra, batch.Dynamic![i].GetProperty("extra").GetString());
        }
        Assert.Equal(0, budget.Used - lease.Held);

        long Read(byte[] bytes, out bool asText)
        {
            var context = Context(bytes);
            using var readLease = new InFlightLease(budget);
            using var holder = new MilvusRestV2.HeldBody();
            var before = GC.GetAllocatedBytesForCurrentThread();
            var task = MilvusRestV2.ReadBodyAsync(context, MilvusRestV2.Prefix + "/entities/insert", 4 << 20, readLease, holder, () => { });
            var bytesAllocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(task.IsCompletedSuccessfully);
            asText = task.Result.Rows is not null;
            return bytesAllocated;
        }

        static DefaultHttpContext Context(byte[] bytes)
        {
            var context = new DefaultHttpContext();
            context.Request.Body = new MemoryStream(bytes, writable: false);
            context.Request.ContentLength = bytes.Length;
            return context;
        }
    }

    [Fact]
    public async Task InsertsOfBothKinds_WithPooledBuffersHandedOn_ReadBackExactly()
    {
        await using var server = await TestServer.StartAsync();
        await RestFloatCollection.PostOkAsync(server, "/collections/create", """
            {"collectionName": "w", "schema": {"enableDynamicField": true, "fields": [
              {"fieldName": "id", "dataType": "Int64", "isPrimary": true},
              {"fieldName": "doc", "dataType": "JSON"},
              {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": 2}}]},
             "indexParams": [{"fieldName": "v", "indexName": "v", "metricType": "L2", "indexType": "FLAT"}]}
            """);
        // Eight bodies at once, read as text and left to the parser in turn: a kept value pointing into a buffer handed
        // on would be overwritten by a later body (or throw once its document is disposed).
        var expected = new Dictionary<long, (string Doc, string Extra)>();
        var bodies = Enumerable.Range(0, 8).Select(b => InsertBody(b * 400, 100, escapedKey: b % 2 == 1, expected)).ToArray();
        await Task.WhenAll(bodies.Select(async body =>
        {
            var answer = await RestFloatCollection.PostOkAsync(server, "/entities/insert", Encoding.UTF8.GetString(body));
            Assert.Equal(400, answer["data"]!["insertCount"]!.GetValue<int>());
        }));
        await RestFloatCollection.PostOkAsync(server, "/entities/query", """{"collectionName": "w", "filter": "id >= 0", "limit": 1, "consistencyLevel": "Strong"}""");

        var got = await RestFloatCollection.PostOkAsync(server, "/entities/query",
            """{"collectionName": "w", "filter": "id >= 0", "outputFields": ["doc", "extra"], "limit": 16384, "consistencyLevel": "Strong"}""");
        var hits = got["data"]!.AsArray();
        Assert.Equal(expected.Count, hits.Count);
        foreach (var hit in hits)
        {
            var id = long.Parse(hit!["id"]!.ToString(), CultureInfo.InvariantCulture);
            // REST answers a JSON field's value as its text.
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected[id].Doc), JsonNode.Parse(hit["doc"]!.GetValue<string>())), $"row {id}: doc {hit["doc"]!.ToJsonString()}");
            Assert.Equal(expected[id].Extra, hit["extra"]!.GetValue<string>());
        }
    }
}
