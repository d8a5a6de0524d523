using System.Globalization;
using System.Text;
using Quiver.Cluster.Nodes;

namespace Quiver.Cluster.Tests;

/// <summary>The node's check that a REST body is one the standalone server reads (<c>RestRouting.WellFormed</c>): it
/// parses the body only for the verdict, so the parsed document must go back to its pool at once.</summary>
public sealed class RestRoutingWellFormedTests
{
    [Fact]
    public void WellFormed_ReturnsItsParsedDocument_SoRepeatedChecksAllocateNoCopyOfTheBody()
    {
        // A search body of 20,000 numbers: the parser's token table is about as large as the body, and it is rented.
        var text = new StringBuilder("""{"collectionName":"c","data":[[""");
        for (var i = 0; i < 20_000; i++)
        {
            text.Append(i == 0 ? "" : ",").Append((i % 97 / 97.0).ToString("F4", CultureInfo.InvariantCulture));
        }
        text.Append("]],\"limit\":10}");
        var body = Encoding.UTF8.GetBytes(text.ToString());
        Assert.True(RestRouting.WellFormed("/entities/search", body));
        Assert.False(RestRouting.WellFormed("/entities/search", Encoding.UTF8.GetBytes("""{"a":1,"a":2}""")));

        const int Checks = 20;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Checks; i++)
        {
            Assert.True(RestRouting.WellFormed("/entities/search", body));
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // A document that is not disposed keeps its rented table, so every check rents a new one (about the body's size);
        // a disposed one hands it back and the next check reuses it.
        Assert.True(allocated < body.Length * 2L,
            $"{Checks} checks of a {body.Length}-byte body allocated {allocated} bytes ({allocated / Checks} a check)");
    }
}
