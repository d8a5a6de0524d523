using System.IO.Compression;
using System.Text.Json;
using Quiver.Testing;

namespace Quiver.Packages.Tests;

/// <summary>The client abstractions without the engine (issue 15 item 1): a fresh project that takes only
/// <c>QuiverVec.Abstractions</c> and <c>QuiverVec.AI</c> by ID builds and runs docs/packages.md's example, and neither
/// its restore (the assets file's dependency closure) nor its output folder holds the engine.</summary>
public sealed partial class PackageConsumptionTests
{
    [Fact]
    public async Task FreshProject_TakesTheAbstractionsAndAI_WithoutTheEngine()
    {
        using var temp = new TempFolder("quiver-pkg-abstractions");
        var feed = PackageFeed();
        WriteNuGetConfig(temp.Path, feed);
        var app = temp.Sub("App");
        await RunAsync(temp.Path, "dotnet", "new", "console", "--name", "App", "--output", app);
        await RunAsync(app, "dotnet", "add", "package", "QuiverVec.Abstractions", "--version", Version);
        await RunAsync(app, "dotnet", "add", "package", "QuiverVec.AI", "--version", Version);
        var (program, expected) = PageBlock("docs/packages.md", "## Code against IQuiverClient without the engine");
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), program);
        await RunAsync(app, "dotnet", "build", "-c", "Release", "--nologo", "-v", "quiet");
        var bin = Path.Combine(app, "bin", "Release", "net10.0");
        Assert.Equal(expected, Lines(await RunAsync(app, "dotnet", Path.Combine(bin, "App.dll"))));

        // The restore's whole dependency closure, as NuGet resolved it: the abstractions and the AI package, no engine
        // (nor the client, wire or protocol packages that would bring it).
        using var assets = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(app, "obj", "project.assets.json")));
        var libraries = assets.RootElement.GetProperty("libraries").EnumerateObject().Select(p => p.Name.Split('/')[0]).ToList();
        Assert.Contains("QuiverVec.Abstractions", libraries);
        Assert.Contains("QuiverVec.AI", libraries);
        foreach (var engineSide in new[] { "QuiverVec.Engine", "QuiverVec.Client", "QuiverVec.Wire", "QuiverVec.Protocol" })
        {
            Assert.DoesNotContain(engineSide, libraries);
        }

        Assert.False(File.Exists(Path.Combine(bin, "Quiver.Engine.dll")), "Quiver.Engine.dll came with the abstractions");
        Assert.Equal(PackedAssembly(feed, "QuiverVec.Abstractions", "Quiver.Abstractions.dll"), await File.ReadAllBytesAsync(Path.Combine(bin, "Quiver.Abstractions.dll")));

        // The abstractions package is a library package like the others: XML docs, README, licence, symbols.
        using var zip = ZipFile.OpenRead(Nupkg(feed, "QuiverVec.Abstractions"));
        Assert.NotNull(zip.GetEntry("lib/net10.0/Quiver.Abstractions.xml"));
        Assert.NotNull(zip.GetEntry("README.md"));
        AssertLicensed(zip, "QuiverVec.Abstractions");
        Assert.True(File.Exists(Path.Combine(feed, $"QuiverVec.Abstractions.{Version}.snupkg")), "QuiverVec.Abstractions snupkg missing");
    }
}
