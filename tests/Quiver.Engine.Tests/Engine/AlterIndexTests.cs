using Quiver.Testing;

namespace Quiver.Engine.Tests.Engine;

/// <summary>AlterIndex as Milvus has it (<see cref="QuiverEngine.AlterIndexPropertiesAsync"/>): <c>mmap.enabled</c> set,
/// reported, persisted and removed; build parameters and anything else refused with the key named.</summary>
public sealed class AlterIndexTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly QuiverOptions NoBackground = new() { BackgroundMaintenance = false };

    [Fact]
    public async Task MmapEnabled_IsSetReportedPersistedAndRemoved()
    {
        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground))
        {
            await db.CreateCollectionAsync("c", TestData.ProductSchema());
            await db.CreateIndexAsync("c", new IndexDefinition
            {
                FieldName = "embedding",
                IndexName = "idx",
                IndexType = "HNSW",
                Params = new Dictionary<string, string> { ["M"] = "8" },
                Properties = new Dictionary<string, string> { ["mmap.enabled"] = "False" },
            });
            Assert.Equal("false", (await db.DescribeIndexesAsync("c"))[0].Properties["mmap.enabled"]);
            await db.AlterIndexPropertiesAsync("c", "idx", new Dictionary<string, string> { ["mmap.enabled"] = "True" });
        }

        await using (var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground))
        {
            var index = (await db.DescribeIndexesAsync("c"))[0];
            Assert.Equal("true", index.Properties["mmap.enabled"]);
            Assert.Equal("8", index.Params["M"]);
            await db.AlterIndexPropertiesAsync("c", "idx", new Dictionary<string, string>(), ["mmap.enabled"]);
            Assert.Empty((await db.DescribeIndexesAsync("c"))[0].Properties);
        }
    }

    [Theory]
    [InlineData("M", "16", "M is not a configable index proptery")]
    [InlineData("efConstruction", "100", "efConstruction is not a configable index proptery")]
    [InlineData("mmap.enabled", "yes", "invalid mmap.enabled value: yes, expected: true, false")]
    [InlineData("mmap.enabled", "", "invalid mmap.enabled value: , expected: true, false")]
    public async Task OtherKeysAndBadValues_AreRefusedNamingThem(string key, string value, string message)
    {
        await using var db = await QuiverEngine.OpenAsync(_dir.Path, NoBackground);
        await db.CreateCollectionAsync("c", TestData.ProductSchema());
        await db.CreateIndexAsync("c", new IndexDefinition { FieldName = "embedding", IndexName = "idx", IndexType = "HNSW" });
        var ex = await Assert.ThrowsAsync<QuiverException>(
            () => db.AlterIndexPropertiesAsync("c", "idx", new Dictionary<string, string> { [key] = value }));
        Assert.Equal(QuiverErrorCode.InvalidArgument, ex.Code);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
        Assert.Empty((await db.DescribeIndexesAsync("c"))[0].Properties);

        var missing = await Assert.ThrowsAsync<QuiverException>(
            () => db.AlterIndexPropertiesAsync("c", "nope", new Dictionary<string, string> { ["mmap.enabled"] = "true" }));
        Assert.Equal(QuiverErrorCode.NotFound, missing.Code);
    }
}
