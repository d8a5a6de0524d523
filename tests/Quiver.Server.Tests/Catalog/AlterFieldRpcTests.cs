using Quiver.Protocol.Milvus;
using static Quiver.Server.Tests.Data.Columns;

namespace Quiver.Server.Tests.Catalog;

/// <summary>AlterCollectionField over gRPC as the SDKs send it (<c>properties</c> key/value pairs): max_length raised, the
/// described schema and the next insert follow it; the refusals and their codes.</summary>
public sealed class AlterFieldRpcTests
{
    private static AlterCollectionFieldRequest Alter(string field, params (string Key, string Value)[] properties)
    {
        var request = new AlterCollectionFieldRequest { CollectionName = "docs", FieldName = field };
        request.Properties.Add(properties.Select(p => Kv(p.Key, p.Value)));
        return request;
    }

    private static async Task<TestServer> StartAsync()
    {
        var server = await TestServer.StartAsync();
        await server.CreateLoadedCollectionAsync("docs", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.VarChar("title", 4), FieldSchema.Vector("v", 2, MetricType.L2)],
        });
        return server;
    }

    private static Task<Protocol.Milvus.MutationResult> InsertAsync(TestServer server, long id, string title) =>
        server.Milvus.InsertAsync(new InsertRequest
        {
            CollectionName = "docs",
            NumRows = 1,
            FieldsData = { Long("id", id), VarChar("title", title), Vectors("v", 2, [1f, 2f]) },
        }).ResponseAsync;

    [Fact]
    public async Task MaxLengthRaised_DescribeAndInsertFollowIt()
    {
        await using var server = await StartAsync();
        Assert.NotEqual(0, (await InsertAsync(server, 1, "abcdefgh")).Status.Code);
        Assert.Equal(0, (await server.Milvus.AlterCollectionFieldAsync(Alter("title", ("max_length", "8")))).Code);
        var described = await server.Milvus.DescribeCollectionAsync(new DescribeCollectionRequest { CollectionName = "docs" });
        Assert.Equal("8", described.Schema.Fields.Single(f => f.Name == "title").TypeParams.Single(p => p.Key == "max_length").Value);
        Assert.Equal(0, (await InsertAsync(server, 1, "abcdefgh")).Status.Code);
        Assert.NotEqual(0, (await InsertAsync(server, 2, "abcdefghi")).Status.Code);
    }

    [Theory]
    [InlineData("title", "max_length", "2", 1100, "max_length can only grow (4 to 2 asked)")]
    [InlineData("title", "max_length", "x", 1100, "max_length should be an integer, but got 'x'")]
    [InlineData("title", "mmap.enabled", "true", 1100, "mmap.enabled cannot be set per field")]
    [InlineData("title", "analyzer_params", "{}", 1100, "analyzer_params does not allow update in collection field param")]
    [InlineData("id", "max_length", "9", 1100, "max_length applies to VarChar fields and arrays of VarChar, and the field is Int64")]
    [InlineData("nope", "max_length", "9", 1700, "field 'nope' does not exist in collection 'docs'")]
    public async Task Refusals_AnswerTheirCodeNamingTheProblem(string field, string key, string value, int code, string message)
    {
        await using var server = await StartAsync();
        var status = await server.Milvus.AlterCollectionFieldAsync(Alter(field, (key, value)));
        Assert.Equal(code, status.Code);
        Assert.Contains(message, status.Reason, StringComparison.Ordinal);
    }
}
