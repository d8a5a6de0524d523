using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Quiver.Docs.Tests;

/// <summary>
/// Compiles a C# block as a user's Program.cs in a new console project would be: top-level statements, nullable on, the
/// SDK's implicit usings (and nothing else: every Quiver namespace must be a using in the block), referencing the .NET
/// shared frameworks and Quiver.Engine, Quiver.Client and Quiver.Embeddings with what they bring (managed assemblies and
/// the native libraries their packages ship for this platform, ONNX Runtime's), as their packages would. Roslyn runs in
/// this process (a <c>dotnet new console</c> and build per block costs seconds each); the program runs in a child.
/// </summary>
public sealed class CSharpPrograms
{
    /// <summary>The global usings of a console project with ImplicitUsings enabled (Microsoft.NET.Sdk).</summary>
    private const string ImplicitUsings = """
        global using global::System;
        global using global::System.Collections.Generic;
        global using global::System.IO;
        global using global::System.Linq;
        global using global::System.Net.Http;
        global using global::System.Threading;
        global using global::System.Threading.Tasks;
        """;

    /// <summary>The assemblies a user's project references directly.</summary>
    private static readonly string[] UserPackages = ["Quiver.Engine", "Quiver.Client", "Quiver.Embeddings", "Quiver.Typed", "Quiver.VectorData", "Quiver.Toolbox", "Quiver.AI"];

    private readonly List<MetadataReference> _references = [];
    private readonly List<string> _libraryFiles = [];
    private readonly string _runtimeConfig;

    /// <summary>Collects the references from this process: shared frameworks, and the Quiver assemblies beside it.</summary>
    public CSharpPrograms()
    {
        var appDir = AppContext.BaseDirectory;
        var tpa = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var sharedMarker = $"{Path.DirectorySeparatorChar}shared{Path.DirectorySeparatorChar}";
        foreach (var file in tpa.Where(f => f.Contains(sharedMarker, StringComparison.Ordinal)))
        {
            if (IsManaged(file))
            {
                _references.Add(MetadataReference.CreateFromFile(file));
            }
        }

        // The closure of the user's packages over the assemblies next to this one (what NuGet would bring).
        var pending = new Queue<string>(UserPackages);
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        while (pending.TryDequeue(out var name))
        {
            var file = Path.Combine(appDir, name + ".dll");
            if (!seen.Add(name) || !File.Exists(file))
            {
                continue;
            }
            _libraryFiles.Add(file);
            _references.Add(MetadataReference.CreateFromFile(file));
            foreach (var reference in ReferencedAssemblies(file))
            {
                pending.Enqueue(reference);
            }
        }
        if (_libraryFiles.Count < UserPackages.Length)
        {
            throw new InvalidOperationException($"{string.Join(", ", UserPackages.Select(p => p + ".dll"))} must be in {appDir}");
        }

        // Native libraries (ONNX Runtime for the local embedding model) as the build laid them out for this platform; a
        // program without a deps.json finds them in its own folder, so they are copied there flat.
        // A distribution's own .NET build reports its own RID (e.g. debian.12-x64); the packages use the portable one.
        var os = OperatingSystem.IsLinux() ? "linux" : OperatingSystem.IsMacOS() ? "osx" : "win";
        var portable = $"{os}-{RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()}";
        var native = new[] { RuntimeInformation.RuntimeIdentifier, portable }
            .Select(rid => Path.Combine(appDir, "runtimes", rid, "native"))
            .FirstOrDefault(Directory.Exists);
        if (native is not null)
        {
            _libraryFiles.AddRange(Directory.GetFiles(native).Where(f => !f.EndsWith(".dbg", StringComparison.Ordinal)));
        }

        // This assembly's runtime config names the frameworks Quiver.Client needs; the user's program needs the same.
        var own = JsonNode.Parse(File.ReadAllText(Path.Combine(appDir, "Quiver.Docs.Tests.runtimeconfig.json")))!;
        var options = own["runtimeOptions"]!.AsObject();
        var config = new JsonObject
        {
            ["runtimeOptions"] = new JsonObject
            {
                ["tfm"] = options["tfm"]?.DeepClone(),
                ["frameworks"] = options["frameworks"]?.DeepClone() ?? new JsonArray(options["framework"]!.DeepClone()),
                ["configProperties"] = new JsonObject { ["System.Globalization.Invariant"] = true },
            },
        };
        _runtimeConfig = config.ToJsonString();
    }

    /// <summary>Writes the assemblies a program needs at run time into <paramref name="folder"/> (once per page).</summary>
    public void CopyLibraries(string folder)
    {
        Directory.CreateDirectory(folder);
        foreach (var file in _libraryFiles)
        {
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)), overwrite: true);
        }
    }

    /// <summary>
    /// Compiles <paramref name="block"/> into <paramref name="folder"/>/<paramref name="name"/>.dll with its runtime
    /// config; throws a <see cref="DocsException"/> listing the diagnostics (errors and warnings, with the page's
    /// line numbers) when it does not compile cleanly.
    /// </summary>
    public string Compile(DocBlock block, string folder, string name)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var program = CSharpSyntaxTree.ParseText(block.Text, parse, path: block.Page);
        var usings = CSharpSyntaxTree.ParseText(ImplicitUsings, parse, path: "GlobalUsings.g.cs");
        var compilation = CSharpCompilation.Create(name, [usings, program], _references,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable,
                optimizationLevel: OptimizationLevel.Debug));
        var dll = Path.Combine(folder, name + ".dll");
        using (var stream = File.Create(dll))
        {
            var result = compilation.Emit(stream);
            var problems = result.Diagnostics
                .Where(d => d.Severity == DiagnosticSeverity.Error || (d.Severity == DiagnosticSeverity.Warning && d.WarningLevel <= 4))
                .ToList();
            if (!result.Success || problems.Count > 0)
            {
                var lines = problems.Select(d =>
                {
                    var at = d.Location.GetLineSpan();
                    var where = at.Path == block.Page ? $"{block.Page}:{block.Line + 1 + at.StartLinePosition.Line}" : at.Path;
                    return $"  {where}: {d.Severity.ToString().ToLowerInvariant()} {d.Id}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
                });
                throw new DocsException($"{block.Where}: the C# block does not compile as a Program.cs:\n{string.Join("\n", lines)}");
            }
        }
        File.WriteAllText(Path.Combine(folder, name + ".runtimeconfig.json"), _runtimeConfig);
        return dll;
    }

    private static bool IsManaged(string file)
    {
        using var stream = File.OpenRead(file);
        using var pe = new PEReader(stream);
        return pe.HasMetadata;
    }

    private static List<string> ReferencedAssemblies(string file)
    {
        using var stream = File.OpenRead(file);
        using var pe = new PEReader(stream);
        var reader = pe.GetMetadataReader();
        return reader.AssemblyReferences.Select(h => reader.GetString(reader.GetAssemblyReference(h).Name)).ToList();
    }
}
