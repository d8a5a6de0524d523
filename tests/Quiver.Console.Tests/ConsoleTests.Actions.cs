using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using OpenQA.Selenium;
using Quiver.Server.Security;

namespace Quiver.Console.Tests;

/// <summary>Signing in with an API key, and the collection page's load, release and drop-index actions: each confirmed in
/// a dialog first, and each change the console makes written to the server's audit log as the key's user's own.</summary>
public sealed partial class ConsoleTests
{
    [Fact]
    public async Task ApiKeySignIn_ReleaseLoadAndDropIndex_AreConfirmed_AndAuditedAsTheKeysUser()
    {
        const string name = "actions";
        await f.CreateVectorCollectionAsync(name, 2, "FLAT");
        var (_, key) = f.Server.Services.GetRequiredService<SecurityStore>().CreateApiKey("root", "console test");

        f.SignOut();
        f.Find(By.XPath("//label[normalize-space(.)='API key']/input")).Click();
        f.Find(By.Id("login-key")).SendKeys(key);
        f.Find(By.CssSelector("button[type=submit]")).Click();
        Assert.Equal("Signed in as root", f.Find(Test("who")).Text);

        f.Go($"collection/{name}");
        f.TextOf(Test("load-state"), t => t == "LoadStateLoaded", "loaded at creation");
        Confirmed(By.XPath("//div[@class='actions']/button[normalize-space(.)='Release']"), "Release");
        f.TextOf(Test("load-state"), t => t == "LoadStateNotLoad", "released");
        Confirmed(By.XPath("//div[@class='actions']/button[normalize-space(.)='Load']"), "Load");
        f.TextOf(Test("load-state"), t => t == "LoadStateLoaded", "loaded again");
        Confirmed(By.CssSelector($"[data-testid=index-vector] button.danger"), "Drop index");
        f.UntilTrue(d => d.FindElements(Test("index-vector")).Count == 0, "the index gone from the page");
        Assert.Empty(await f.Server.Engine.DescribeIndexesAsync(name, null));

        // The audit log records schema changes: the drop is there, as root's, over REST, on this collection.
        var audit = await File.ReadAllLinesAsync(Path.Combine(f.DataPath, "security", "audit.jsonl"));
        Assert.Contains(audit.Select(l => JsonNode.Parse(l)!), e =>
            e["method"]!.GetValue<string>() == "DropIndex" && e["user"]!.GetValue<string>() == "root" && e["transport"]!.GetValue<string>() == "rest"
            && e["collection"]!.GetValue<string>() == name && e["outcome"]!.GetValue<string>() == "ok");
        await f.RestAsync("/collections/drop", new JsonObject { ["collectionName"] = name });
    }

    /// <summary>Clicks the action <paramref name="button"/>, checks the dialog titled <paramref name="title"/> asks first
    /// (nothing done yet), and confirms.</summary>
    private void Confirmed(By button, string title)
    {
        f.Find(button).Click();
        Assert.Equal(title, f.Find(By.Id("confirm-title")).Text);
        f.Find(Test("confirm")).Click();
        f.UntilTrue(d => d.FindElements(By.CssSelector("dialog[open]")).Count == 0, $"{title} dialog closed");
    }
}
