using System.Text.Json;
using Quiver.Server.Hosting;
using Quiver.Testing;

namespace Quiver.Packages.Tests;

/// <summary>The remote client without the engine (issue 15): a fresh project that takes only <c>QuiverVec.Client</c> and
/// <c>QuiverVec.VectorData</c> by ID (the typed API comes with the provider) builds docs/packages.md's program, runs it
/// against a server and prints the page's output; neither its restore closure nor its output folder holds the engine,
/// and the program itself reports that no engine assembly was loaded. Nor does it bring a server's hosting: no
/// Grpc.AspNetCore, no package asking for the ASP.NET Core framework, and the app's runtimeconfig names the base
/// runtime alone.</summary>
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

            // Nothing in the closure hosts a server: no Grpc.AspNetCore package and no package that asks for the
            // ASP.NET Core shared framework (NuGet records each package's framework references in its target entry).
            Assert.DoesNotContain(libraries, id => id.StartsWith("Grpc.AspNetCore", StringComparison.Ordinal));
            var aspNetCore = assets.RootElement.GetProperty("targets").EnumerateObject().SelectMany(t => t.Value.EnumerateObject())
                .Where(l => l.Value.TryGetProperty("frameworkReferences", out var refs)
                    && refs.EnumerateArray().Any(r => r.GetString() == "Microsoft.AspNetCore.App"))
                .Select(l => l.Name).ToList();
            Assert.True(aspNetCore.Count == 0, "the ASP.NET Core framework came with " + string.Join(", ", aspNetCore));
        }

        // The app runs on the base .NET runtime alone: its runtimeconfig names one framework, Microsoft.NETCore.App.
        using (var runtimeConfig = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(bin, "App.runtimeconfig.json"))))
        {
            var options = runtimeConfig.RootElement.GetProperty("runtimeOptions");
            var frameworks = options.TryGetProperty("frameworks", out var many)
                ? many.EnumerateArray().Select(f => f.GetProperty("name").GetString()).ToList()
                : [options.GetProperty("framework").GetProperty("name").GetString()];
            Assert.Equal(["Microsoft.NETCore.App"], frameworks);
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
