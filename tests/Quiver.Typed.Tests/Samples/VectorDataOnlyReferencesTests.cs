using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.Extensions.VectorData;
using Quiver.Testing;

namespace Quiver.Typed.Tests.Samples;

/// <summary>samples/VectorDataOnly's claim, checked by the compiler: every source file of the sample but Program.cs (the
/// one place that composes Quiver's provider) compiles on its own against the base .NET runtime and the
/// Microsoft.Extensions.VectorData abstractions (with Microsoft.Extensions.AI.Abstractions, which the abstractions' own
/// signatures use) and nothing else, so the application code names no Quiver type. A file added to the sample falls
/// under the rule by being there.</summary>
public sealed class VectorDataOnlyReferencesTests
{
    private static readonly string Sample = Path.Combine(RepositoryRoot.Path, "samples", "VectorDataOnly");

    [Fact]
    public void ApplicationCode_CompilesAgainstTheVectorDataAbstractionsAlone()
    {
        var files = Directory.GetFiles(Sample, "*.cs").Where(f => Path.GetFileName(f) != "Program.cs").Order(StringComparer.Ordinal).ToArray();
        Assert.Contains(files, f => Path.GetFileName(f) == "ArticleLibrary.cs");
        var diagnostics = Compile(files, AbstractionsOnly());
        Assert.True(diagnostics.Count == 0, "the application code needs more than the VectorData abstractions:\n" + string.Join("\n", diagnostics));
    }

    [Fact]
    public void Program_IsWhereQuiverIsNamed_AndDoesNotCompileOnTheAbstractionsAlone()
    {
        // The same check on the whole sample must fail, and on Quiver's names: the compilation above could otherwise
        // pass for a reason that has nothing to do with references (an empty file list, say).
        var files = Directory.GetFiles(Sample, "*.cs");
        var diagnostics = Compile(files, AbstractionsOnly());
        Assert.Contains(diagnostics, d => d.Contains("'Quiver'", StringComparison.Ordinal));
    }

    /// <summary>The base runtime's assemblies (Microsoft.NETCore.App, the folder <see cref="object"/> comes from, not the
    /// ASP.NET Core framework this test project also runs on) and the two abstraction assemblies.</summary>
    private static List<MetadataReference> AbstractionsOnly()
    {
        var runtime = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var references = Directory.GetFiles(runtime, "*.dll").Where(IsManaged).Select(f => (MetadataReference)MetadataReference.CreateFromFile(f)).ToList();
        references.Add(MetadataReference.CreateFromFile(typeof(VectorStore).Assembly.Location));
        references.Add(MetadataReference.CreateFromFile(typeof(Microsoft.Extensions.AI.Embedding).Assembly.Location));
        return references;
    }

    private static bool IsManaged(string path)
    {
        try
        {
            AssemblyName.GetAssemblyName(path);
            return true;
        }
        catch (BadImageFormatException)
        {
            return false;
        }
    }

    /// <summary>Errors of compiling <paramref name="files"/> as the sample's project does (C# 14, nullable, its implicit
    /// usings) into a library, each as "file(line): id message".</summary>
    private static List<string> Compile(IEnumerable<string> files, IEnumerable<MetadataReference> references)
    {
        var parse = new CSharpParseOptions(LanguageVersion.CSharp14);
        var trees = files.Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), parse, f)).ToList();
        trees.Add(CSharpSyntaxTree.ParseText(
            """
            global using System;
            global using System.Collections.Generic;
            global using System.IO;
            global using System.Linq;
            global using System.Net.Http;
            global using System.Threading;
            global using System.Threading.Tasks;
            """, parse, "ImplicitUsings.cs"));
        var compilation = CSharpCompilation.Create("VectorDataOnlyApplication", trees, references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        return compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error)
            .Select(d => $"{Path.GetFileName(d.Location.SourceTree?.FilePath)}({d.Location.GetLineSpan().StartLinePosition.Line + 1}): {d.Id} {d.GetMessage()}")
            .ToList();
    }
}
