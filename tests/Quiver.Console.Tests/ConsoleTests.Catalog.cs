using System.Text.Json.Nodes;
using OpenQA.Selenium;

namespace Quiver.Console.Tests;

/// <summary>The catalog as the pages show it: a collection's partitions with their rows, its aliases and properties, and
/// the database picker, which lists the server's databases and shows the chosen one's collections.</summary>
public sealed partial class ConsoleTests
{
    [Fact]
    public async Task CollectionPage_ShowsPartitionsAliasesAndProperties_AndThePickerSwitchesDatabase()
    {
        const string name = "detailed";
        await f.CreateVectorCollectionAsync(name, 2, "FLAT");
        await f.RestAsync("/partitions/create", new JsonObject { ["collectionName"] = name, ["partitionName"] = "p1" });
        await InsertAsync(name, 0, 3, null);
        await InsertAsync(name, 3, 5, "p1");
        await f.RestAsync("/aliases/create", new JsonObject { ["collectionName"] = name, ["aliasName"] = "detailed_alias" });
        await f.RestAsync("/collections/alter_properties", new JsonObject
        {
            ["collectionName"] = name, ["properties"] = new JsonObject { ["collection.ttl.seconds"] = "86400" },
        });
        await f.RestAsync("/databases/create", new JsonObject { ["dbName"] = "analytics" });
        await f.CreateVectorCollectionAsync("events", 2, "FLAT", "analytics");

        f.SignIn("root", ConsoleFixture.RootPassword);
        f.Go($"collection/{name}");
        f.TextOf(Test("row-count"), t => t == "8", "row count");
        Assert.Contains("detailed_alias", f.Find(Test("facts")).Text, StringComparison.Ordinal);
        var partitions = f.Find(By.XPath("//h2[.='Partitions']/following-sibling::table[1]"))
            .FindElements(By.CssSelector("tbody tr")).Select(r => r.Text).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["_default 3", "p1 5"], partitions);
        var property = f.Find(By.XPath("//h2[.='Properties']/following-sibling::table[1]//tr")).Text;
        Assert.True(property.StartsWith("collection.ttl.seconds ", StringComparison.Ordinal) && property.Contains("86400", StringComparison.Ordinal), property);

        // The picker lists every database; choosing one shows its collections.
        f.Go("collections");
        f.TextOf(Test("collections"), t => t.Contains(name, StringComparison.Ordinal), "the default database's collections");
        f.Choose(Test("database"), "analytics");
        var shown = f.Until(d => d.FindElement(By.Id("main")).Text is var t && t.Contains("events", StringComparison.Ordinal) ? t : null,
            "analytics' collections");
        Assert.True(shown.Contains("events", StringComparison.Ordinal) && !shown.Contains(name, StringComparison.Ordinal), shown);
        f.Choose(Test("database"), "default");
        f.TextOf(Test("collections"), t => t.Contains(name, StringComparison.Ordinal), "back to default");
    }

    [Fact]
    public void Browse_OutputFieldsChooseTheColumns_AndJsonIsShownAsJson()
    {
        f.SignIn("root", ConsoleFixture.RootPassword);
        f.Go("browse/docs");
        f.TextOf(Test("page-info"), t => t.EndsWith($"of {ConsoleFixture.DocsRows}", StringComparison.Ordinal), "rows shown");
        f.Find(Test("apply-filter"));
        f.Find(Test("field-vector")).Click();
        f.Find(Test("field-category")).Click();
        f.UntilTrue(d => Headers(d) == "id,meta", "only the id and meta columns");
        // Row 1's meta as inserted ({"n": 1, "tags": ["t1", "t1"]}), shown as JSON rather than as text.
        var meta = f.Find(By.XPath("//table[@data-testid='rows']/tbody/tr[td[1][normalize-space(.)='1']]/td[2]//code")).Text;
        Assert.Equal("""{"n":1,"tags":["t1","t1"]}""", meta);
    }

    private static string Headers(IWebDriver d) => string.Join(',', d.FindElements(By.CssSelector("[data-testid=rows] thead th")).Select(h => h.Text));

    private Task<JsonNode?> InsertAsync(string collection, int from, int count, string? partition)
    {
        var body = new JsonObject
        {
            ["collectionName"] = collection,
            ["data"] = new JsonArray([.. Enumerable.Range(from, count).Select(i => (JsonNode)new JsonObject { ["id"] = i, ["vector"] = new JsonArray(i, 1) })]),
        };
        if (partition is not null)
        {
            body["partitionName"] = partition;
        }
        return f.RestAsync("/entities/insert", body);
    }
}
