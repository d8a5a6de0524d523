namespace Quiver.Docs.Tests;

/// <summary>
/// Every fenced block of README.md and docs/*.md, run as a reader would (docs/testing.md, "Docs that run"): one test
/// per page, each page in a runner process of its own. The pages are found by listing the folder, so a new page is run
/// without being named here, and a block the runner cannot classify fails its page.
/// </summary>
public sealed class DocsTests
{
    private static readonly string Repo = FindRepo();

    /// <summary>
    /// The launcher builds the CLI when it is stale; built once here, so that two ./quiver calls of one block (a server
    /// started with &amp; and a command after it) never build at the same time.
    /// </summary>
    private static readonly Lazy<Task> LauncherBuilt = new(BuildLauncherAsync);

    /// <summary>README.md and every page under docs/.</summary>
    public static TheoryData<string> Pages()
    {
        var pages = new TheoryData<string>();
        pages.Add("README.md");
        foreach (var file in Directory.GetFiles(Path.Combine(Repo, "docs"), "*.md").Order(StringComparer.Ordinal))
        {
            pages.Add("docs/" + Path.GetFileName(file));
        }
        return pages;
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public async Task Page_RunsAsWritten(string page)
    {
        await LauncherBuilt.Value;
        var runner = new[] { "dotnet", Path.Combine(AppContext.BaseDirectory, "Quiver.Docs.Tests.dll"), "run-page", Repo, page };
        var report = Environment.GetEnvironmentVariable("QUIVER_DOCS_REPORT");
        if (!string.IsNullOrEmpty(report))
        {
            runner = [.. runner, report];
        }
        // A network namespace of the page's own (with loopback up): servers on the documented ports (19530) cannot meet
        // another server on the machine, and nothing outside can reach them. Where user namespaces are off, the page
        // runs in the machine's network.
        var isolated = await NetworkNamespaceWorksAsync();
        string[] command = isolated ? ["unshare", "-rn", "--", "sh", "-c", "ip link set lo up && exec \"$@\"", "sh", .. runner] : runner;
        var (exitCode, stdout, stderr) = await Command.RunAsync(command);
        Assert.True(exitCode == 0,
            $"{page} does not run as written{(isolated ? "" : " (no network namespace)")}:\n{stderr}\nblocks that ran before:\n{stdout}");
    }

    /// <summary>A block that fails after starting servers shows their logs, the last lines of each, since the page's
    /// folder is deleted when the page ends (docs/cluster-deploy.md's restarted node refused a read once, and its log was gone).</summary>
    [Fact]
    public async Task AFailedBlock_ReportsTheLastLinesOfTheLogsInThePagesFolder()
    {
        var root = Directory.CreateTempSubdirectory("quiver-docs-test-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(root.FullName, "p.md"), """
                ```bash
                for i in $(seq 1 100); do echo "node line $i"; done > node1.log
                echo "nats ready" > nats1.log
                exit 7
                ```
                """);
            var runner = new PageRunner(root.FullName, new Lazy<CSharpPrograms>(() => throw new InvalidOperationException("the page has no C# block")), TextWriter.Null);
            var e = await Assert.ThrowsAsync<DocsException>(() => runner.RunAsync("p.md", CancellationToken.None));
            Assert.Contains("exited with code 7", e.Message, StringComparison.Ordinal);
            Assert.Contains("--- nats1.log (the last 1 of 1 lines):\nnats ready\n", e.Message, StringComparison.Ordinal);
            var node = string.Concat(Enumerable.Range(61, 40).Select(i => $"node line {i}\n"));
            Assert.Contains($"--- node1.log (the last 40 of 100 lines):\n{node}", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("node line 60\n", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public void InfoStrings_DecideWhatRuns()
    {
        var blocks = MarkdownBlocks.Parse("p.md", """
            ```csharp
            Console.WriteLine(1);
            ```
            ```text output
            1
            ```
            ```bash
            echo hi
            ```
            ```sh fragment
            --flag
            ```
            ```js timeout=20
            console.log(1)
            ```
            ```json file=conf/a.json
            {}
            ```
            ```ebnf
            a = b ;
            ```
            """);
        Assert.Equal([BlockKind.CSharp, BlockKind.Output, BlockKind.Shell, BlockKind.Shown, BlockKind.Node, BlockKind.File, BlockKind.Shown],
            blocks.Select(b => b.Kind));
        Assert.Equal([1, 4, 7, 10, 13, 16, 19], blocks.Select(b => b.Line));
        Assert.Equal("conf/a.json", blocks[5].FileName);
        Assert.Equal(20, blocks[4].TimeoutSeconds);
        Assert.Equal("echo hi\n", blocks[2].Text);
    }

    [Theory]
    [InlineData("```\nx\n```\n", "has no language")]
    [InlineData("```python\nx\n```\n", "does not know the language 'python'")]
    [InlineData("```python fragment\nx\n```\n", "does not know the language 'python'")]
    [InlineData("```bash skip\nx\n```\n", "unknown word 'skip'")]
    [InlineData("```json file=../x\n{}\n```\n", "bad 'file=../x'")]
    [InlineData("```bash\nx\n", "never closed")]
    public void UnmarkedOrUnknownBlocks_FailNamingTheLine(string markdown, string expected)
    {
        var e = Assert.Throws<DocsException>(() => MarkdownBlocks.Parse("new.md", markdown));
        Assert.StartsWith("new.md:1: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a\nb\n", "a\nb", true)]
    [InlineData("a  \nb\n\n", "a\nb", true)]
    [InlineData("a\nb\n", "a\nc", false)]
    [InlineData("a\n...\nd\n", "a\nb\nc\nd", true)]
    [InlineData("a\n...\nd\n", "a\nd", true)]
    [InlineData("a\n...\nd\n", "a\nb\nc", false)]
    [InlineData("id …, took … ms\n", "id 42, took 3.5 ms", true)]
    [InlineData("id …, took … ms\n", "id 42, took 3.5 s", false)]
    [InlineData("x…\n", "x1\ny", false)]
    [InlineData("a(b)[c]*\n", "a(b)[c]*", true)]
    public void OutputPattern_MatchesLinesAndMarkedVariableParts(string expected, string actual, bool matches)
    {
        Assert.Equal(matches, OutputPattern.Mismatch(expected, actual) is null);
    }

    [Fact]
    public void CSharpBlock_UsingTheEmbeddingsPackage_CompilesAndGetsOnnxRuntimesNativeLibrary()
    {
        var block = MarkdownBlocks.Parse("p.md", """
            ```csharp
            using Quiver.Embeddings;

            Console.WriteLine(MiniLmEmbedder.Dim);
            ```
            """)[0];
        var folder = Directory.CreateTempSubdirectory("quiver-docs-test-");
        try
        {
            var programs = new CSharpPrograms();
            programs.CopyLibraries(folder.FullName);
            Assert.True(File.Exists(programs.Compile(block, folder.FullName, "block")));
            Assert.True(File.Exists(Path.Combine(folder.FullName, "Quiver.Embeddings.dll")));
            Assert.Contains(Directory.GetFiles(folder.FullName), f => Path.GetFileName(f).StartsWith("libonnxruntime", StringComparison.Ordinal)
                || Path.GetFileName(f).StartsWith("onnxruntime", StringComparison.Ordinal));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static async Task BuildLauncherAsync()
    {
        var (exitCode, _, stderr) = await Command.RunAsync([Path.Combine(Repo, "quiver"), "--help"]);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"./quiver --help exited with {exitCode}: {stderr}");
        }
    }

    private static async Task<bool> NetworkNamespaceWorksAsync()
    {
        try
        {
            return (await Command.RunAsync(["unshare", "-rn", "--", "ip", "link", "set", "lo", "up"])).ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    private static string FindRepo()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Quiver.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Quiver.slnx not found above " + AppContext.BaseDirectory);
    }
}
