using System.Diagnostics;
using System.IO.Compression;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Quiver.Testing;

namespace Quiver.Packages.Tests;

/// <summary>
/// The packages as a new user meets them (issue 15 item 1): a fresh console project in a temp folder, outside the
/// repository, with a nuget.config that adds the folder of packed .nupkg files beside the normal source; it adds the
/// packages by ID with <c>dotnet add package</c>, runs the README's embedded tutorial flow, and the CLI installs from
/// the same folder as a .NET tool. The packages come from <c>artifacts/packages</c> (test.sh runs <c>dotnet pack</c>
/// there; QUIVER_PACKAGES overrides), and must hold this build's assemblies, so a stale folder fails.
/// </summary>
public sealed partial class PackageConsumptionTests
{
    private static readonly string Repo = RepositoryRoot.Path;

    private static readonly string Version = typeof(PackageConsumptionTests).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "QuiverPackageVersion").Value!;

    [Fact]
    public async Task FreshProject_AddsPackagesById_RunsTheReadmeTutorial()
    {
        var feed = PackageFeed();
        using var temp = new TempFolder("quiver-pkg");
        WriteNuGetConfig(temp.Path, feed);
        var app = temp.Sub("App");

        await RunAsync(temp.Path, "dotnet", "new", "console", "--name", "App", "--output", app);
        await RunAsync(app, "dotnet", "add", "package", "QuiverVec.Engine", "--version", Version);
        await RunAsync(app, "dotnet", "add", "package", "QuiverVec.Client", "--version", Version);
        var csproj = await File.ReadAllTextAsync(Path.Combine(app, "App.csproj"));
        Assert.Contains($"<PackageReference Include=\"QuiverVec.Engine\" Version=\"{Version}\" />", csproj, StringComparison.Ordinal);

        // The README's "Use it embedded" block, as a reader copies it, and the output the README shows.
        var (program, expected) = ReadmeBlock("## Use it embedded");
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), program);
        await RunAsync(app, "dotnet", "build", "-c", "Release", "--nologo", "-v", "quiet");
        var output = await RunAsync(app, "dotnet", Path.Combine(app, "bin", "Release", "net10.0", "App.dll"));
        Assert.Equal(expected, Lines(output));

        // The app ran the packed assemblies, not a cached or project copy: its Quiver.Engine.dll is the .nupkg's.
        var bin = Path.Combine(app, "bin", "Release", "net10.0");
        Assert.Equal(PackedAssembly(feed, "QuiverVec.Engine", "Quiver.Engine.dll"), await File.ReadAllBytesAsync(Path.Combine(bin, "Quiver.Engine.dll")));
        // QuiverVec.Client brought its own dependencies by package (wire types and the protocol).
        foreach (var dll in new[] { "Quiver.Client.dll", "Quiver.Wire.dll", "Quiver.Protocol.dll", "Grpc.Net.Client.dll", "Google.Protobuf.dll" })
        {
            Assert.True(File.Exists(Path.Combine(bin, dll)), $"{dll} missing from the app's output");
        }

        // XML docs ship beside each library, and the symbols package beside each package.
        foreach (var (id, assembly) in LibraryPackages)
        {
            using var zip = ZipFile.OpenRead(Nupkg(feed, id));
            Assert.NotNull(zip.GetEntry($"lib/net10.0/{assembly}.xml"));
            Assert.NotNull(zip.GetEntry("README.md"));
            AssertLicensed(zip, id);
            Assert.True(File.Exists(Path.Combine(feed, $"{id}.{Version}.snupkg")), $"{id}.{Version}.snupkg missing");
        }
    }

    [Fact]
    public async Task FreshProject_AddsTheVectorDataPackage_RunsItsPageExample()
    {
        // The provider brings the typed API, the client and the abstractions; the page's example opens the embedded
        // engine, so it takes the engine package too.
        using var temp = new TempFolder("quiver-pkg-vectordata");
        var bin = await RunPageExampleAsync(temp, "QuiverVec.VectorData", "Quiver.VectorData", "docs/vectordata.md", "# Microsoft.Extensions.VectorData provider", "QuiverVec.Engine");
        foreach (var dll in new[] { "Quiver.Typed.dll", "Quiver.Client.dll", "Quiver.Engine.dll", "Microsoft.Extensions.VectorData.Abstractions.dll" })
        {
            Assert.True(File.Exists(Path.Combine(bin, dll)), $"{dll} missing from the app's output");
        }
    }

    [Fact]
    public async Task FreshProject_AddsTheToolboxPackage_RunsItsPageExample()
    {
        // One package by ID: the toolbox brings the client and the engine; nothing of the command line comes with it.
        using var temp = new TempFolder("quiver-pkg-toolbox");
        var bin = await RunPageExampleAsync(temp, "QuiverVec.Toolbox", "Quiver.Toolbox", "docs/toolbox.md", "## Example");
        foreach (var dll in new[] { "Quiver.Client.dll", "Quiver.Engine.dll" })
        {
            Assert.True(File.Exists(Path.Combine(bin, dll)), $"{dll} missing from the app's output");
        }

        foreach (var cliOnly in new[] { "Spectre.Console.dll", "System.CommandLine.dll", "quiver.dll" })
        {
            Assert.False(File.Exists(Path.Combine(bin, cliOnly)), $"{cliOnly} came with the toolbox library: it belongs to the command line");
        }
    }

    /// <summary>A fresh console project in <paramref name="temp"/> takes package <paramref name="id"/> by ID, its
    /// Program.cs is the example after <paramref name="heading"/> in <paramref name="page"/>; it must print the page's
    /// output and have run the packed <paramref name="assembly"/>. Returns the app's output folder.</summary>
    private static async Task<string> RunPageExampleAsync(TempFolder temp, string id, string assembly, string page, string heading, params string[] alsoIds)
    {
        var feed = PackageFeed();
        WriteNuGetConfig(temp.Path, feed);
        var app = temp.Sub("App");
        await RunAsync(temp.Path, "dotnet", "new", "console", "--name", "App", "--output", app);
        foreach (var package in alsoIds.Prepend(id))
        {
            await RunAsync(app, "dotnet", "add", "package", package, "--version", Version);
        }

        var (program, expected) = PageBlock(page, heading);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), program);
        await RunAsync(app, "dotnet", "build", "-c", "Release", "--nologo", "-v", "quiet");
        var bin = Path.Combine(app, "bin", "Release", "net10.0");
        var output = await RunAsync(app, "dotnet", Path.Combine(bin, "App.dll"));
        Assert.Equal(expected, Lines(output));
        Assert.Equal(PackedAssembly(feed, id, assembly + ".dll"), await File.ReadAllBytesAsync(Path.Combine(bin, assembly + ".dll")));
        return bin;
    }

    /// <summary>A sample of the repository (samples/NAME) as a package consumer: a copy outside the repository, its
    /// project references replaced by the packages of the same IDs, builds against the feed and prints exactly what the
    /// repository's own build of it prints (test.sh builds the solution, samples included, before this test).</summary>
    [Theory]
    [InlineData("MovieSearch")]
    [InlineData("HandbookQa")]
    [InlineData("ProductRecommender")]
    [InlineData("VectorDataOnly")]
    public async Task Sample_BuiltFromThePackages_PrintsWhatItsProjectBuildPrints(string sample)
    {
        var feed = PackageFeed();
        using var temp = new TempFolder("quiver-pkg-sample");
        WriteNuGetConfig(temp.Path, feed);
        var source = Path.Combine(Repo, "samples", sample);
        var app = temp.Sub(sample);
        foreach (var relative in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(source, f))
                     .Where(f => f.Split(Path.DirectorySeparatorChar)[0] is not ("bin" or "obj")))
        {
            var (file, target) = (Path.Combine(source, relative), Path.Combine(app, relative));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        var csproj = Path.Combine(app, sample + ".csproj");
        var project = ProjectReference().Replace(await File.ReadAllTextAsync(csproj),
            m => $"<PackageReference Include=\"QuiverVec.{m.Groups["name"].Value}\" Version=\"{Version}\" />");
        Assert.DoesNotContain("ProjectReference", project, StringComparison.Ordinal);
        await File.WriteAllTextAsync(csproj, project);

        await RunAsync(app, "dotnet", "build", "-c", "Release", "--nologo", "-v", "quiet");
        var bin = Path.Combine(app, "bin", "Release", "net10.0");
        var fromPackages = await RunAsync(app, "dotnet", Path.Combine(bin, sample + ".dll"));
        Assert.Equal(PackedAssembly(feed, "QuiverVec.Engine", "Quiver.Engine.dll"), await File.ReadAllBytesAsync(Path.Combine(bin, "Quiver.Engine.dll")));

        var built = Path.Combine(source, "bin", "Release", "net10.0", sample + ".dll");
        Assert.True(File.Exists(built), $"{built} not found: build the solution in Release first (test.sh does)");
        var fromProjects = await RunAsync(temp.Path, "dotnet", built);
        Assert.Equal(Lines(fromProjects), Lines(fromPackages));
        Assert.NotEmpty(Lines(fromPackages));
    }

    [GeneratedRegex(@"<ProjectReference Include=""\.\./\.\./src/Quiver\.(?<name>\w+)/Quiver\.\w+\.csproj"" />")]
    private static partial Regex ProjectReference();

    [Fact]
    public async Task Cli_InstallsAsDotnetTool_FromTheFeed_AndBrowsesData()
    {
        var feed = PackageFeed();
        using var temp = new TempFolder("quiver-tool");
        var config = WriteNuGetConfig(temp.Path, feed);
        var tools = temp.Sub("tools");
        await RunAsync(temp.Path, "dotnet", "tool", "install", "QuiverVec.Cli", "--version", Version, "--tool-path", tools, "--configfile", config);
        var quiver = Path.Combine(tools, "quiver");
        var help = await RunAsync(temp.Path, quiver, "--help");
        Assert.Contains("serve", help, StringComparison.Ordinal);
        Assert.Contains("import", help, StringComparison.Ordinal);

        // The installed tool makes the tutorial's data and browses it.
        var data = temp.Sub("shop");
        await RunAsync(temp.Path, quiver, "quickstart", "--data", data);
        var count = await RunAsync(temp.Path, quiver, "count", "products", "--data", data, "--filter", "category == \"home\"");
        Assert.Equal("5", count.Trim());
    }

    private static readonly (string Id, string Assembly)[] LibraryPackages =
    [
        ("QuiverVec.Engine", "Quiver.Engine"), ("QuiverVec.Values", "Quiver.Values"), ("QuiverVec.Protocol", "Quiver.Protocol"), ("QuiverVec.Wire", "Quiver.Wire"),
        ("QuiverVec.Client", "Quiver.Client"), ("QuiverVec.Embeddings", "Quiver.Embeddings"),
        ("QuiverVec.Typed", "Quiver.Typed"), ("QuiverVec.VectorData", "Quiver.VectorData"),
        ("QuiverVec.Toolbox", "Quiver.Toolbox"),
    ];

    /// <summary>The folder of .nupkg files, checked to hold this version of every package, built from this build's
    /// assemblies.</summary>
    private static string PackageFeed()
    {
        var feed = Environment.GetEnvironmentVariable("QUIVER_PACKAGES") is { Length: > 0 } env ? env : Path.Combine(Repo, "artifacts", "packages");
        const string Hint = "run `dotnet pack Quiver.slnx -c Release --no-build -o artifacts/packages` after the Release build (test.sh does)";
        foreach (var (id, _) in LibraryPackages.Append(("QuiverVec.Cli", "quiver")))
        {
            Assert.True(File.Exists(Nupkg(feed, id)), $"{Nupkg(feed, id)} not found: {Hint}");
        }

        using (var tool = ZipFile.OpenRead(Nupkg(feed, "QuiverVec.Cli")))
        {
            AssertLicensed(tool, "QuiverVec.Cli");
        }

        var built = Path.Combine(Repo, "src", "Quiver.Engine", "bin", "Release", "net10.0", "Quiver.Engine.dll");
        Assert.True(
            File.ReadAllBytes(built).AsSpan().SequenceEqual(PackedAssembly(feed, "QuiverVec.Engine", "Quiver.Engine.dll")),
            $"{Nupkg(feed, "QuiverVec.Engine")} holds another build of Quiver.Engine.dll than {built}: {Hint}");
        return feed;
    }

    /// <summary>The package declares the repository's licence (an SPDX expression in its .nuspec) and carries the
    /// LICENSE file, the same bytes as the repository's.</summary>
    private static void AssertLicensed(ZipArchive zip, string id)
    {
        var nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using (var reader = new StreamReader(nuspec.Open()))
        {
            Assert.Contains("<license type=\"expression\">MIT</license>", reader.ReadToEnd(), StringComparison.Ordinal);
        }

        var license = zip.GetEntry("LICENSE") ?? throw new InvalidOperationException($"{id} has no LICENSE file");
        using var stream = license.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        Assert.Equal(File.ReadAllBytes(Path.Combine(Repo, "LICENSE")), copy.ToArray());
    }

    private static string Nupkg(string feed, string id) => Path.Combine(feed, $"{id}.{Version}.nupkg");

    private static byte[] PackedAssembly(string feed, string id, string file)
    {
        using var zip = ZipFile.OpenRead(Nupkg(feed, id));
        var entry = zip.GetEntry($"lib/net10.0/{file}") ?? throw new InvalidOperationException($"{id} has no lib/net10.0/{file}");
        using var stream = entry.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>A nuget.config as a user would write it: the local folder added beside the sources the machine already
    /// has. Packages restore into a global folder of the test's own (so a QuiverVec package of the same version cached
    /// by an earlier run is never taken), with the machine's global folder as a fallback for everything else.</summary>
    private static string WriteNuGetConfig(string folder, string feed)
    {
        var machineCache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } cache
            ? cache
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var path = Path.Combine(folder, "nuget.config");
        File.WriteAllText(path, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{Path.Combine(folder, "packages")}" />
              </config>
              <fallbackPackageFolders>
                <add key="machine" value="{machineCache}" />
              </fallbackPackageFolders>
              <packageSources>
                <add key="quiver-local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        return path;
    }

    /// <summary>The first <c>csharp</c> block after <paramref name="heading"/> in README.md and the lines of the
    /// <c>text output</c> block that follows it.</summary>
    private static (string Program, string[] Output) ReadmeBlock(string heading) => PageBlock("README.md", heading);

    /// <summary>The same for any page of the repository (<paramref name="page"/> relative to its root).</summary>
    private static (string Program, string[] Output) PageBlock(string page, string heading)
    {
        var text = File.ReadAllText(Path.Combine(Repo, page));
        var at = text.IndexOf(heading + "\n", StringComparison.Ordinal);
        Assert.True(at >= 0, $"{page} has no '{heading}' section");
        var match = ReadmeCodeAndOutput().Match(text, at);
        Assert.True(match.Success, $"{page}'s '{heading}' section has no csharp block followed by its output");
        return (match.Groups["code"].Value, Lines(match.Groups["out"].Value));
    }

    [GeneratedRegex(@"```csharp\n(?<code>.*?)```\n+```text output\n(?<out>.*?)```", RegexOptions.Singleline)]
    private static partial Regex ReadmeCodeAndOutput();

    private static string[] Lines(string text) =>
        text.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToArray();

    /// <summary>Runs a process to its end (at most 10 minutes: a restore on a loaded machine) and returns its standard
    /// output; a non-zero exit fails the test with both streams.</summary>
    private static Task<string> RunAsync(string workingDirectory, string file, params string[] args) =>
        RunAsync(workingDirectory, new Dictionary<string, string>(), file, args);

    /// <summary>As <see cref="RunAsync(string, string, string[])"/>, with <paramref name="environment"/> added to the
    /// process's environment.</summary>
    private static async Task<string> RunAsync(string workingDirectory, IReadOnlyDictionary<string, string> environment, string file, params string[] args)
    {
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        // The test host's own MSBuild settings must not leak into the fresh project's build.
        start.Environment.Remove("MSBuildSDKsPath");
        start.Environment.Remove("MSBUILD_EXE_PATH");
        start.Environment.Remove("MSBuildExtensionsPath");
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var output = await stdout;
        var errors = await stderr;
        Assert.True(process.ExitCode == 0, new StringBuilder()
            .Append(file).Append(' ').AppendJoin(' ', args).Append(" exited ").Append(process.ExitCode).AppendLine()
            .AppendLine(output).Append(errors).ToString());
        return output;
    }
}
