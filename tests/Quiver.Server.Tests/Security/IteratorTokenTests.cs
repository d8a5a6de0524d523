using System.Globalization;
using System.Text;
using Quiver.Protocol.Milvus;
using Quiver.Server.Tests.Data;
using static Quiver.Server.Tests.Data.Columns;
using KeyValuePair = Quiver.Protocol.Common.KeyValuePair;

namespace Quiver.Server.Tests.Security;

/// <summary>The search iterator's token (<c>search_iter_id</c>) lists the keys already returned at the last bound, so an
/// iteration over many equal scores carries every tied key from page to page. Session 36 found that the server expanded
/// any token into a set of all its keys (a string and a boxed long per key: about 15 times the message); now it reads the
/// token's text for the few hits at the bound and copies it into the next token. Counts every thread's allocations, so
/// it runs alone (<see cref="ProcessAllocationCollection"/>).</summary>
[Collection(nameof(ProcessAllocationCollection))]
public sealed class IteratorTokenTests
{
    private static KeyValuePair Kv(string key, string value) => new() { Key = key, Value = value };

    private static string Bound(float bound) => ((double)bound).ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A search for (0, 0) in "docs", top 5, asked as an iterator page of 5.</summary>
    private static Protocol.Milvus.SearchRequest Page(string collection, int batch, string? lastBound, string? token)
    {
        var request = new Protocol.Milvus.SearchRequest
        {
            CollectionName = collection,
            DslType = Protocol.Common.DslType.BoolExprV1,
            Nq = 1,
            PlaceholderGroup = TestPlaceholders.Group([[0f, 0f]]),
            SearchParams =
            {
                Kv("anns_field", "v"), Kv("topk", batch.ToString(CultureInfo.InvariantCulture)), Kv("metric_type", "L2"), Kv("params", "{}"),
                Kv("iterator", "true"), Kv("search_iter_v2", "true"), Kv("search_iter_batch_size", batch.ToString(CultureInfo.InvariantCulture)),
            },
        };
        if (lastBound is not null)
        {
            request.SearchParams.Add(Kv("search_iter_last_bound", lastBound));
        }

        if (token is not null)
        {
            request.SearchParams.Add(Kv("search_iter_id", token));
        }

        return request;
    }

    /// <summary>A forged token listing 1,000,000 distinct keys (13 MB of base64) with a last bound of 1 (id 1's score):
    /// the page is ids 1..5 as without the token, and reading the token allocates less than one byte per token character
    /// above the same call sending the same token with no last bound (where the server ignores it; the transport's and
    /// the message's bytes are the same). On main the set of keys cost about 16 bytes per character.</summary>
    [Fact]
    public async Task AForgedTokenOfAMillionKeys_AnswersThePage_AndIsNotExpandedIntoASetOfKeys()
    {
        await using var server = await TestServer.StartAsync();
        await server.CreateLoadedCollectionAsync("docs", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("v", 2, MetricType.L2)],
        });
        Assert.Equal(0, (await server.Milvus.InsertAsync(new InsertRequest
        {
            CollectionName = "docs",
            NumRows = 20,
            FieldsData = { Long("id", [.. Enumerable.Range(1, 20).Select(i => (long)i)]), Vectors("v", 2, [.. Enumerable.Range(1, 20).Select(i => new float[] { i, 0 })]) },
        })).Status.Code);

        var keys = Enumerable.Range(1_000_000, 1_000_000).Select(i => i.ToString(CultureInfo.InvariantCulture));
        var token = Convert.ToBase64String(Encoding.UTF8.GetBytes("[\"" + string.Join("\",\"", keys) + "\"]"));
        var withBound = Page("docs", 5, "1", token);
        var withoutBound = Page("docs", 5, null, token);

        var pages = new[] { withBound, withoutBound };
        var least = new long[2];
        Array.Fill(least, long.MaxValue);
        for (var round = 0; round < 3; round++)
        {
            for (var which = 0; which < 2; which++)
            {
                var before = GC.GetTotalAllocatedBytes(precise: true);
                var answer = await server.Milvus.SearchAsync(pages[which]);
                least[which] = Math.Min(least[which], GC.GetTotalAllocatedBytes(precise: true) - before);
                Assert.Equal(0, answer.Status.Code);
                Assert.Equal([1L, 2, 3, 4, 5], answer.Results.Ids.IntId.Data);
                // The next token lists the last bound's keys only (id 5, score 25), not the forged ones.
                Assert.Equal(25f, answer.Results.SearchIteratorV2Results.LastBound);
                Assert.Equal("[\"5\"]", Encoding.UTF8.GetString(Convert.FromBase64String(answer.Results.SearchIteratorV2Results.Token)));
            }
        }

        var above = least[0] - least[1];
        Assert.True(above < token.Length,
            $"reading a token of {token.Length:N0} characters allocated {above:N0} bytes (with a bound {least[0]:N0}, without {least[1]:N0})");
    }

    /// <summary>VarChar keys with non-ASCII characters (escaped in the token's JSON) and keys longer than 256 characters,
    /// 36 rows on 4 points (9 ties each), pages of 4 (a page ends inside a group of ties, so a token carries the keys
    /// of earlier pages at the same bound): the pages return every row once, in score order.</summary>
    [Fact]
    public async Task AnIterationOverTiesOfVarCharKeys_ReturnsEveryRowOnceInScoreOrder()
    {
        await using var server = await TestServer.StartAsync();
        await server.CreateLoadedCollectionAsync("ties", new CollectionSchema
        {
            Fields = [FieldSchema.VarCharKey("pk", 1000), FieldSchema.Vector("v", 2, MetricType.L2)],
        });
        var ids = Enumerable.Range(0, 36).Select(i => i % 3 == 0 ? "é" + i + "ü" : i % 3 == 1 ? new string('k', 300) + i : "k" + i).ToArray();
        Assert.Equal(0, (await server.Milvus.InsertAsync(new InsertRequest
        {
            CollectionName = "ties",
            NumRows = 36,
            FieldsData = { VarChar("pk", ids), Vectors("v", 2, [.. Enumerable.Range(0, 36).Select(i => new float[] { i % 4, 0 })]) },
        })).Status.Code);

        var seen = new List<string>();
        var scores = new List<float>();
        string? token = null, bound = null;
        for (var page = 0; page < 40; page++)
        {
            var answer = await server.Milvus.SearchAsync(Page("ties", 4, bound, token));
            Assert.Equal(0, answer.Status.Code);
            if (answer.Results.Scores.Count == 0)
            {
                break;
            }

            seen.AddRange(answer.Results.Ids.StrId.Data);
            scores.AddRange(answer.Results.Scores);
            token = answer.Results.SearchIteratorV2Results.Token;
            bound = Bound(answer.Results.SearchIteratorV2Results.LastBound);
        }

        Assert.Equal(ids.Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));
        Assert.Equal(scores.Order(), scores);
    }
}
