using System.Text.Json;
using Quiver.Server.Hosting;
using Quiver.Testing;

namespace Quiver.Packages.Tests;

/// <summary>The remote client without the engine (issue 15): a fresh project that takes only <c>QuiverVec.Client</c> and
/// <c>QuiverVec.VectorData</c> by ID (the typed API comes with the provider) builds docs/packages.md's program, runs it
/// against a server and prints the page's output; neither its restore closure nor its output folder holds the engine,
/// and the program itself reports that no engine assembly was loaded.</summary>
public sealed partial class PackageConsumptionTests
{
    [Fact]
    public async Task FreshProject_TakesTheRemoteClientTypedAndVectorData_WithoutTheEngine_AndRunsAgainstAServer()
    {
        using var temp = new TempFolder("quiver-pkg-remote");
        var feed = PackageFeed();
        WriteNuGetConfig(temp.Path, feed);
        var app = temp.Sub("App");
        await RunAsync(temp.Path, "dotnet", "new", "console", "--name", "App", "--output", app);
        await RunAsync(app, "dotnet", "add", "package", "QuiverVec.Client", "--version", Version);
        await RunAsync(app, "dotnet", "add", "package", "QuiverVec.VectorData", "--version", Version);
        var (program, expected) = PageBlock("docs/packages.md", "## Use a server without the engine");
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), program);
        await RunAsync(app, "dotnet", "build", "-c", "Release", "--nologo", "-v", "quiet");
        var bin = Path.Combine(app, "bin", "Release", "net10.0");

        // The restore's whole closure, as NuGet resolved it: client, values, wire, protocol, typed and the provider, no engine.
        using (var assets = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(app, "obj", "project.assets.json"))))
        {
            var libraries = assets.RootElement.GetProperty("libraries").EnumerateObject().Select(p => p.Name.Split('/')[0]).ToList();
            foreach (var id in new[] { "QuiverVec.Client", "QuiverVec.Values", "QuiverVec.Wire", "QuiverVec.Typed", "QuiverVec.VectorData", "QuiverVec.Abstractions" })
            {
                Assert.Contains(id, libraries);
            }

            Assert.DoesNotContain("QuiverVec.Engine", libraries);
        }

        Assert.False(File.Exists(Path.Combine(bin, "Quiver.Engine.dll")), "Quiver.Engine.dll came with the remote client");
        Assert.Equal(PackedAssembly(feed, "QuiverVec.Client", "Quiver.Client.dll"), await File.ReadAllBytesAsync(Path.Combine(bin, "Quiver.Client.dll")));
        Assert.Equal(PackedAssembly(feed, "QuiverVec.Values", "Quiver.Values.dll"), await File.ReadAllBytesAsync(Path.Combine(bin, "Quiver.Values.dll")));

        // The server the program talks to runs in this process (the test's own reference to the server; the fresh
        // project takes nothing from it), on a port of its own.
        await using var server = await QuiverServer.StartAsync(new ServerOptions { DataPath = temp.Sub("server-data"), Host = "127.0.0.1", Port = 0 });
        var address = new Dictionary<string, string> { ["QUIVER_ADDRESS"] = $"http://127.0.0.1:{server.Port}" };
        var output = await RunAsync(app, address, "dotnet", Path.Combine(bin, "App.dll"));
        Assert.Equal(expected, Lines(output));
    }
}
