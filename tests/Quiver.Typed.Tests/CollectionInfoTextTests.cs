using System.Text.RegularExpressions;

namespace Quiver.Typed.Tests;

/// <summary>What a new user sees printing a described collection (<c>Console.WriteLine(info)</c>), embedded and through
/// the server: the values of its lists and dictionaries (fields, partitions, properties, functions), never a type name
/// such as <c>System.Collections.Immutable.ImmutableArray`1[Quiver.FieldSchema]</c>.</summary>
public sealed class CollectionInfoTextTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task DescribedCollection_PrintsItsValues_NotTypeNames(bool remote)
    {
        await using var target = await Target.OpenAsync(remote);
        var client = target.Client;
        await client.CreateCollectionAsync("shelf", new CollectionSchema
        {
            Fields = [FieldSchema.Int64Key("id"), FieldSchema.VarChar("title", 64), FieldSchema.Vector("embedding", 4, MetricType.L2)],
            Description = "books",
        });
        await client.CreatePartitionAsync("shelf", "p1");
        await client.AlterCollectionPropertiesAsync("shelf", new Dictionary<string, string> { ["collection.ttl.seconds"] = "60" });

        var info = await client.DescribeCollectionAsync("shelf");
        var text = info.ToString();

        Assert.DoesNotMatch(new Regex(@"System\.|`\d|Immutable"), text);
        Assert.StartsWith($"CollectionInfo {{ Name = shelf, Database = default, Id = {info.Id}, Schema = CollectionSchema {{ Fields = [FieldSchema {{ Name = id, DataType = Int64, IsPrimaryKey = True, ", text);
        Assert.Contains(", FieldSchema { Name = title, DataType = VarChar, ", text);
        Assert.Contains(", FieldSchema { Name = embedding, DataType = FloatVector, ", text);
        Assert.Contains("p1", info.Partitions);
        Assert.Contains(
            $", Description = books, Functions = [] }}, Partitions = [{string.Join(", ", info.Partitions)}], CreatedTimestamp = {info.CreatedTimestamp}, RowCount = 0, ", text);
        Assert.Matches(new Regex(@"Properties = \{([^{}]*, )?collection\.ttl\.seconds = 60(, [^{}]*)?\}, Aliases = \[\] \}$"), text);
    }
}
