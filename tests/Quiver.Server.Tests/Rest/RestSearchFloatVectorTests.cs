using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Quiver.Server.Milvus;
using Quiver.Server.Rest;
using System.Runtime.InteropServices;

namespace Quiver.Server.Tests.Rest;

/// <summary>
/// A REST search's float vectors are read straight from the parsed body (<see cref="RestVectors.TryFloats"/>) instead of
/// through a node, a closure and a path string per number, twice: the floats are those of the general reading
/// (<see cref="RestVectors.Read"/>) on every body it takes (random bodies, the general reading as the oracle), it
/// allocates about the vectors' own bytes (the engine takes them as they are),
/// and through the server a search answers the exact top-k and a vector of the wrong length is still refused by name.
/// </summary>
public sealed class RestSearchFloatVectorTests
{
    [Fact]
    public void TryFloats_GivesTheGeneralReadingsFloats_OnRandomBodies()
    {
        var rng = new Random(13);
        int taken = 0, plainTaken = 0;
        for (var round = 0; round < 3_000; round++)
        {
            var plain = rng.Next(3) == 0;
            var text = RandomData(rng, plain);
            using var document = JsonDocument.Parse(text);
            var fast = RestVectors.TryFloats(document.RootElement);
            if (plain)
            {
                Assert.True(fast is not null, $"plain float vectors not taken: {text}");
                plainTaken++;
            }
            if (fast is not { } got)
            {
                continue;
            }
            taken++;
            var general = RestVectors.Read(JsonNode.Parse(text)!.AsArray(), DataType.FloatVector, got.Dimension, textInput: false, "$.data");
            Assert.Equal(Protocol.Common.PlaceholderType.FloatVector, general.Type);
            Assert.Equal(general.Floats!.Count, got.Vectors.Count);
            for (var q = 0; q < got.Vectors.Count; q++)
            {
                // Bit for bit: -0 and 0 differ, as they would on the wire.
                Assert.True(MemoryMarshal.AsBytes(general.Floats[q].AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(got.Vectors[q].AsSpan())),
                    $"floats differ for {text}");
            }
        }
        // Both kinds of body were met: the comparison is not vacuous, and the refusals were left to the general reading.
        Assert.True(plainTaken > 500 && taken < 3_000, $"{taken} taken, {plainTaken} plain");
    }

    [Fact]
    public void TryFloats_AllocatesAboutTheVectorsBytes()
    {
        const int Queries = 16, Dim = 128;
        var rng = new Random(3);
        var text = "[" + string.Join(",", Enumerable.Range(0, Queries).Select(_ =>
            "[" + string.Join(",", Enumerable.Range(0, Dim).Select(_ => (rng.NextDouble() * 2 - 1).ToString("R", CultureInfo.InvariantCulture))) + "]")) + "]";
        using var document = JsonDocument.Parse(text);
        Assert.NotNull(RestVectors.TryFloats(document.RootElement)); // warm-up (JIT)

        var before = GC.GetAllocatedBytesForCurrentThread();
        var read = RestVectors.TryFloats(document.RootElement);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(Dim, read!.Value.Dimension);
        // The vectors once, each an array, and the list (the engine takes them as they are). Encoding them as a
        // placeholder group cost two more copies (three of 8 kB); reading through nodes allocated a node, a closure and a
        // path string per number (more than 100 bytes each, 200 kB here).
        var vectorBytes = Queries * Dim * sizeof(float);
        Assert.True(allocated < vectorBytes + 1_024, $"allocated {allocated} bytes for {vectorBytes} bytes of vectors");
    }

    [Fact]
    public async Task RestSearch_OfFloatVectors_AnswersTheExactTopK_AndRefusesAWrongLengthByName()
    {
        await using var server = await TestServer.StartAsync();
        const int Dim = 4, Rows = 200;
        var rng = new Random(29);
        var vectors = Enumerable.Range(0, Rows).Select(_ => Enumerable.Range(0, Dim).Select(_ => (float)Math.Round(rng.NextDouble() * 10, 3)).ToArray()).ToArray();
        await RestFloatCollection.CreateAsync(server, "fv", vectors);

        var queries = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, Dim).Select(_ => (float)Math.Round(rng.NextDouble() * 10, 3)).ToArray()).ToArray();
        var answer = await RestFloatCollection.PostOkAsync(server, "/entities/search", RestFloatCollection.SearchBody("fv", queries, 5).ToJsonString());
        var hits = answer["data"]!.AsArray();
        Assert.Equal(15, hits.Count);
        for (var q = 0; q < queries.Length; q++)
        {
            // Brute force, ties broken by key as the oracle cannot know the engine's order among equal distances.
            var exact = RestFloatCollection.ExactDistances(vectors, queries[q], 5);
            for (var j = 0; j < 5; j++)
            {
                Assert.Equal(exact[j], hits[q * 5 + j]!["distance"]!.GetValue<float>(), 3);
            }
            Assert.Equal(exact, RestFloatCollection.Ids(hits).Skip(q * 5).Take(5).Select(id => RestFloatCollection.L2(vectors[id], queries[q])).ToArray());
        }

        // Vectors of 3 numbers are read as floats before the schema is known; the field's dimension then refuses them,
        // naming the first, as the general reading words it.
        var wrong = await RestFloatCollection.PostAsync(server, "/entities/search", """{"collectionName": "fv", "data": [[1, 2, 3], [4, 5, 6]], "limit": 5}""");
        Assert.Equal(MilvusCode.IncorrectParameterFormat, wrong["code"]!.GetValue<int>());
        Assert.Contains("$.data[0] has 3 numbers, the field's dimension is 4", wrong["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    /// <summary>A random <c>data</c> value: plain float vectors of one length, or (not plain) anything a client might
    /// send in their place: mixed lengths, strings, nulls, booleans, objects, nested arrays, numbers beyond float or
    /// double range, an empty vector or an empty list.</summary>
    private static string RandomData(Random rng, bool plain)
    {
        var queries = rng.Next(plain ? 1 : 0, 5);
        var dim = rng.Next(1, 7);
        var items = new List<string>();
        for (var q = 0; q < queries; q++)
        {
            if (!plain && rng.Next(8) == 0)
            {
                items.Add(new[] { "null", "\"AAAA\"", "{\"1\": 0.5}", "true", "[]", "[[1]]" }[rng.Next(6)]);
                continue;
            }
            var length = plain || rng.Next(6) != 0 ? dim : rng.Next(0, 7);
            var numbers = new List<string>();
            for (var i = 0; i < length; i++)
            {
                numbers.Add(!plain && rng.Next(12) == 0
                    ? new[] { "\"1.5\"", "null", "false", "1e400", "-1e400", "[2]" }[rng.Next(6)]
                    : Number(rng));
            }
            items.Add("[" + string.Join(", ", numbers) + "]");
        }
        return "[" + string.Join(",", items) + "]";
    }

    /// <summary>A JSON number in one of its spellings: integers, decimals, exponents, negative zero, beyond float range
    /// (a finite double that narrows to infinity) and below its precision.</summary>
    private static string Number(Random rng) => rng.Next(8) switch
    {
        0 => rng.Next(-1000, 1000).ToString(CultureInfo.InvariantCulture),
        1 => "-0",
        2 => (rng.NextDouble() * 1e6).ToString("E3", CultureInfo.InvariantCulture),
        3 => "3.5e38",
        4 => "1e-50",
        5 => "0.1000000000000000055511151231257827",
        _ => (rng.NextDouble() * 20 - 10).ToString("R", CultureInfo.InvariantCulture),
    };
}
