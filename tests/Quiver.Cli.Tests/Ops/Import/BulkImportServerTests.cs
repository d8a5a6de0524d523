using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Grpc.Net.Client;
using Quiver.Cli.Ops.Import;
using Quiver.Protocol.Milvus;
using Quiver.Server.Hosting;
using Quiver.Server.Import;
using Quiver.Testing;

namespace Quiver.Cli.Tests.Ops.Import;

/// <summary>Bulk import inside the server, in Milvus's shape: REST <c>/v2/vectordb/jobs/import/*</c> and the
/// <c>Import</c> / <c>GetImportState</c> / <c>ListImportTasks</c> RPCs, run by the toolbox's importer as
/// <c>quiver serve</c> plugs it in.</summary>
public sealed class BulkImportServerTests
{
    private static CollectionSchema Schema => new()
    {
        Fields = [FieldSchema.Int64Key("id"), FieldSchema.VarChar("title", 32), FieldSchema.Vector("v", 2, MetricType.L2)],
    };

    private static async Task<(QuiverServer Server, HttpClient Http, string Root)> StartAsync(TempFolder dir, IBulkImporter? importer = null)
    {
        var server = await QuiverServer.StartAsync(new ServerOptions
        {
            DataPath = dir.Sub("data"),
            Port = 0,
            Import = new Quiver.Server.Import.BulkImportOptions { Importer = importer ?? new ToolboxBulkImporter() },
        });
        await server.Engine.CreateCollectionAsync("docs", Schema);
        var root = Path.Combine(dir.Sub("data"), "import");
        Directory.CreateDirectory(root);
        return (server, new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}") }, root);
    }

    private static string Lines(int from, int count) => string.Concat(Enumerable.Range(from, count)
        .Select(i => $"{{\"id\":{i},\"title\":\"t{i}\",\"v\":[{i},0.5]}}\n"));

    private static async Task<JsonObject> PostAsync(HttpClient http, string path, object body)
    {
        using var response = await http.PostAsJsonAsync("/v2/vectordb/jobs/import/" + path, body);
        return (JsonObject)JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    /// <summary>Submits a job for <paramref name="file"/> and checks that it is refused with code 1100 and a message
    /// holding <paramref name="expected"/>.</summary>
    private static async Task AssertRefusedAsync(HttpClient http, string file, string expected)
    {
        var created = await PostAsync(http, "create", new { collectionName = "docs", files = new[] { new[] { file } } });
        Assert.Equal(1100, (int)created["code"]!);
        Assert.Contains(expected, (string)created["message"]!, StringComparison.Ordinal);
    }

    /// <summary>A folder beside the import root (not under it) holding rows.jsonl; returns the folder.</summary>
    private static async Task<string> OutsideFolderAsync(TempFolder dir, int rows)
    {
        var outside = dir.Sub("secret");
        Directory.CreateDirectory(outside);
        await File.WriteAllTextAsync(Path.Combine(outside, "rows.jsonl"), Lines(100, rows));
        return outside;
    }

    private static async Task<JsonObject> WaitAsync(HttpClient http, string jobId)
    {
        for (var i = 0; i < 600; i++)
        {
            var progress = await PostAsync(http, "get_progress", new { jobId });
            Assert.Equal(0, (int)progress["code"]!);
            var state = (string)progress["data"]!["state"]!;
            if (state is "Completed" or "Failed")
            {
                return (JsonObject)progress["data"]!;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"import job {jobId} did not finish");
    }

    [Fact]
    public async Task RestJob_ImportsEveryFile_AndReportsProgressAndTheList()
    {
        using var dir = new TempFolder();
        var (server, http, root) = await StartAsync(dir);
        await using var _ = server;
        using var __ = http;
        await File.WriteAllTextAsync(Path.Combine(root, "a.jsonl"), Lines(0, 1500));
        Directory.CreateDirectory(Path.Combine(root, "more"));
        await File.WriteAllTextAsync(Path.Combine(root, "more", "b.csv"), "id,title,v\n" + string.Concat(Enumerable.Range(1500, 20).Select(i => $"{i},c{i},\"[{i},1]\"\n")));

        var created = await PostAsync(http, "create", new { collectionName = "docs", files = new[] { new[] { "a.jsonl" }, new[] { "more/b.csv" } } });
        Assert.Equal(0, (int)created["code"]!);
        var jobId = (string)created["data"]!["jobId"]!;
        var done = await WaitAsync(http, jobId);
        Assert.Equal("Completed", (string)done["state"]!);
        Assert.Equal(100, (int)done["progress"]!);
        Assert.Equal(1520, (long)done["importedRows"]!);
        Assert.Equal(1520, (long)done["totalRows"]!);
        Assert.Equal(1520, (await server.Engine.DescribeCollectionAsync("docs")).RowCount);
        var row = Assert.Single(await server.Engine.GetAsync("docs", [1510L]));
        Assert.Equal("c1510", row["title"]);

        var list = await PostAsync(http, "list", new { collectionName = "docs" });
        var record = Assert.Single(list["data"]!["records"]!.AsArray());
        Assert.Equal(jobId, (string)record!["jobId"]!);
        Assert.Equal("Completed", (string)record["state"]!);
    }

    [Fact]
    public async Task RestJob_BadRow_FailsTheJobNamingIt_WithNothingImported()
    {
        using var dir = new TempFolder();
        var (server, http, root) = await StartAsync(dir);
        await using var _ = server;
        using var __ = http;
        // The bad line comes after the first batch (1,000 rows): the check pass still finds it before any write.
        await File.WriteAllTextAsync(Path.Combine(root, "bad.jsonl"), Lines(0, 1200) + "{\"id\":5000,\"title\":\"x\",\"v\":[1,2,3]}\n");
        var created = await PostAsync(http, "create", new { collectionName = "docs", files = new[] { new[] { "bad.jsonl" } } });
        var done = await WaitAsync(http, (string)created["data"]!["jobId"]!);
        Assert.Equal("Failed", (string)done["state"]!);
        var reason = (string)done["reason"]!;
        Assert.Contains("bad.jsonl", reason, StringComparison.Ordinal);
        Assert.Contains("1201", reason, StringComparison.Ordinal);
        Assert.Contains("'v'", reason, StringComparison.Ordinal);
        Assert.Equal(0, (await server.Engine.DescribeCollectionAsync("docs")).RowCount);
    }

    /// <summary>A file with no line break after its first row (20 million characters, as any large file of another
    /// format named as JSON Lines): the job fails naming the file, the line and the limit, with nothing imported. The
    /// server used to read the whole rest of the file into one string (300 MB took its memory up by 2 GB).</summary>
    [Fact]
    public async Task RestJob_ALineLongerThanTheLimit_FailsTheJobNamingIt_WithNothingImported()
    {
        using var dir = new TempFolder();
        var (server, http, root) = await StartAsync(dir);
        await using var _ = server;
        using var __ = http;
        await File.WriteAllTextAsync(Path.Combine(root, "long.jsonl"), Lines(0, 1) + new string('x', 20_000_000));
        var created = await PostAsync(http, "create", new { collectionName = "docs", files = new[] { new[] { "long.jsonl" } } });
        var done = await WaitAsync(http, (string)created["data"]!["jobId"]!);
        Assert.Equal("Failed", (string)done["state"]!);
        Assert.StartsWith("long.jsonl: line 2: longer than 16,777,216 characters; a line holds one row and may be at most that long",
            (string)done["reason"]!, StringComparison.Ordinal);
        Assert.Equal(0, (await server.Engine.DescribeCollectionAsync("docs")).RowCount);
    }

    /// <summary>A CSV record longer than the reader's limit fails the job with the file and the line the record starts on
    /// (before: Sep's own text, "Buffer or row has reached maximum supported length", naming neither), nothing imported.</summary>
    [Theory]
    [InlineData(0, false, 2)]
    [InlineData(3, false, 5)]
    [InlineData(1, true, 4)]
    public async Task RestJob_ACsvRecordLongerThanTheLimit_FailsTheJobNamingFileAndLine(int before, bool twoLines, int line)
    {
        using var dir = new TempFolder();
        var (server, http, root) = await StartAsync(dir);
        await using var _ = server;
        using var __ = http;
        // Rows before the long record, one line each, or (twoLines) a quoted title holding a line break.
        var rows = string.Concat(Enumerable.Range(1, before).Select(i => twoLines ? $"{i},\"t\n{i}\",\"[{i},1]\"\n" : $"{i},t{i},\"[{i},1]\"\n"));
        await File.WriteAllTextAsync(Path.Combine(root, "long.csv"), "id,title,v\n" + rows + "100,t," + new string('x', 20_000_000) + "\n");
        var created = await PostAsync(http, "create", new { collectionName = "docs", files = new[] { new[] { "long.csv" } } });
        var done = await WaitAsync(http, (string)created["data"]!["jobId"]!);
        Assert.Equal("Failed", (string)done["state"]!);
        Assert.Contains($"long.csv': line {line}: a record longer than 16,777,216 characters (the CSV reader's limit)", (string)done["reason"]!, StringComparison.Ordinal);
        Assert.Equal(0, (await server.Engine.DescribeCollectionAsync("docs")).RowCount);
    }

    [Theory]
    [InlineData("../outside.jsonl", "outside the server's import root")]
    [InlineData("/etc/passwd", "outside the server's import root")]
    [InlineData("absent.jsonl", "does not exist")]
    public async Task RestJob_FileOutsideTheRootOrMissing_IsRefused(string file, string expected)
    {
        using var dir = new TempFolder();
        var (server, http, _) = await StartAsync(dir);
        await using var __ = server;
        using var ___ = http;
        await File.WriteAllTextAsync(Path.Combine(dir.Sub("data"), "outside.jsonl"), Lines(0, 3));
        await AssertRefusedAsync(http, file, expected);
        Assert.Equal(0, (await server.Engine.DescribeCollectionAsync("docs")).RowCount);
    }

    [Fact]
    public async Task RestJob_ThroughASymbolicLink_IsRefused()
    {
        using var dir = new TempFolder();
        var (server, http, root) = await StartAsync(dir);
        await using var _ = server;
        using var __ = http;
        var outside = await OutsideFolderAsync(dir, 3);
        File.CreateSymbolicLink(Path.Combine(root, "linked.jsonl"), Path.Combine(outside, "rows.jsonl"));
        Directory.CreateSymbolicLink(Path.Combine(root, "folder"), outside);

        foreach (var file in new[] { "linked.jsonl", "folder/rows.jsonl" })
        {
            await AssertRefusedAsync(http, file, "symbolic link");
        }

        Assert.Equal(0, (await server.Engine.DescribeCollectionAsync("docs")).RowCount);
    }

    [Fact]
    public async Task GrpcImport_RunsAJob_AndGetImportStateAndListImportTasksReportIt()
    {
        using var dir = new TempFolder();
        var (server, http, root) = await StartAsync(dir);
        await using var _ = server;
        using var __ = http;
        await File.WriteAllTextAsync(Path.Combine(root, "g.jsonl"), Lines(0, 40), new UTF8Encoding(false));
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}");
        var milvus = new MilvusService.MilvusServiceClient(channel);
        var started = await milvus.ImportAsync(new ImportRequest { CollectionName = "docs", Files = { "g.jsonl" } });
        Assert.Equal(0, started.Status.Code);
        var task = Assert.Single(started.Tasks);

        GetImportStateResponse state;
        var polls = 0;
        do
        {
            await Task.Delay(50);
            state = await milvus.GetImportStateAsync(new GetImportStateRequest { Task = task });
        }
        while (state.State is Quiver.Protocol.Common.ImportState.ImportPending or Quiver.Protocol.Common.ImportState.ImportStarted && ++polls < 600);

        Assert.Equal(Quiver.Protocol.Common.ImportState.ImportCompleted, state.State);
        Assert.Equal(40, state.RowCount);
        Assert.Contains(state.Infos, i => i.Key == "files" && i.Value == "g.jsonl");
        var listed = await milvus.ListImportTasksAsync(new ListImportTasksRequest { CollectionName = "docs" });
        Assert.Equal(task, Assert.Single(listed.Tasks).Id);
        Assert.Equal(40, (await server.Engine.DescribeCollectionAsync("docs")).RowCount);

        var unknown = await milvus.GetImportStateAsync(new GetImportStateRequest { Task = task + 1 });
        Assert.Equal(1100, unknown.Status.Code);
    }

    [Fact]
    public async Task ImportJobs_AreShownOnlyToUsersWithTheImportPrivilege()
    {
        using var dir = new TempFolder();
        await using var server = await QuiverServer.StartAsync(new ServerOptions
        {
            DataPath = dir.Sub("data"),
            Port = 0,
            Security = new Quiver.Server.Security.SecurityOptions { AuthEnabled = true, RootPassword = "root-Secret-1" },
            Import = new Quiver.Server.Import.BulkImportOptions { Importer = new ToolboxBulkImporter() },
        });
        await server.Engine.CreateCollectionAsync("docs", Schema);
        var root = Path.Combine(dir.Sub("data"), "import");
        Directory.CreateDirectory(root);
        await File.WriteAllTextAsync(Path.Combine(root, "a.jsonl"), Lines(0, 5));
        static Grpc.Core.Metadata As(string credential) =>
            new() { { "authorization", Convert.ToBase64String(Encoding.UTF8.GetBytes(credential)) } };
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}");
        var milvus = new MilvusService.MilvusServiceClient(channel);
        var created = await milvus.CreateCredentialAsync(
            new CreateCredentialRequest { Username = "reader", Password = Convert.ToBase64String(Encoding.UTF8.GetBytes("reader-Secret-1")) },
            As("root:root-Secret-1"));
        Assert.Equal(0, created.Code);

        var started = await milvus.ImportAsync(new ImportRequest { CollectionName = "docs", Files = { "a.jsonl" } }, As("root:root-Secret-1"));
        Assert.Equal(0, started.Status.Code);
        var task = Assert.Single(started.Tasks);
        Assert.Equal(0, (await milvus.GetImportStateAsync(new GetImportStateRequest { Task = task }, As("root:root-Secret-1"))).Status.Code);

        var hidden = await milvus.GetImportStateAsync(new GetImportStateRequest { Task = task }, As("reader:reader-Secret-1"));
        Assert.Equal(1100, hidden.Status.Code);
        Assert.Contains("not found", hidden.Status.Reason, StringComparison.Ordinal);
        var listed = await milvus.ListImportTasksAsync(new ListImportTasksRequest { CollectionName = "docs" }, As("reader:reader-Secret-1"));
        Assert.Empty(listed.Tasks);
    }

    [Fact]
    public async Task Import_WithoutAnImporter_AnswersThatBulkImportIsNotAvailable()
    {
        using var dir = new TempFolder();
        await using var server = await QuiverServer.StartAsync(new ServerOptions { DataPath = dir.Sub("data"), Port = 0 });
        await server.Engine.CreateCollectionAsync("docs", Schema);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}");
        var response = await new MilvusService.MilvusServiceClient(channel).ImportAsync(new ImportRequest { CollectionName = "docs", Files = { "a.jsonl" } });
        Assert.Equal(10, response.Status.Code);
        Assert.Contains("bulk import is not available", response.Status.Reason, StringComparison.Ordinal);
    }

    /// <summary>The toolbox importer behind a gate the test opens: whatever the test does to the root between submission
    /// and opening the gate happens before the importer reads anything, with no sleeps.</summary>
    private sealed class GatedImporter : IBulkImporter
    {
        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task ImportAsync(QuiverEngine engine, BulkImportJob job, CancellationToken cancellationToken)
        {
            await Gate.Task.WaitAsync(cancellationToken);
            await new ToolboxBulkImporter().ImportAsync(engine, job, cancellationToken);
        }
    }

    [Theory]
    [InlineData("file-symlink", "symbolic link")]
    [InlineData("folder-symlink", "symbolic link")]
    [InlineData("hard-link", "hard links")]
    public async Task RestJob_FileSwappedForALinkAfterSubmission_IsNotRead(string swap, string expected)
    {
        using var dir = new TempFolder();
        var gated = new GatedImporter();
        var (server, http, root) = await StartAsync(dir, gated);
        await using var _ = server;
        using var __ = http;
        var outside = await OutsideFolderAsync(dir, 5);
        Directory.CreateDirectory(Path.Combine(root, "sub"));
        await File.WriteAllTextAsync(Path.Combine(root, "sub", "rows.jsonl"), Lines(0, 3));

        var created = await PostAsync(http, "create", new { collectionName = "docs", files = new[] { new[] { "sub/rows.jsonl" } } });
        Assert.Equal(0, (int)created["code"]!);

        // The swap happens after the job was accepted and before the importer opens anything.
        switch (swap)
        {
            case "file-symlink":
                File.Delete(Path.Combine(root, "sub", "rows.jsonl"));
                File.CreateSymbolicLink(Path.Combine(root, "sub", "rows.jsonl"), Path.Combine(outside, "rows.jsonl"));
                break;
            case "folder-symlink":
                Directory.Delete(Path.Combine(root, "sub"), recursive: true);
                Directory.CreateSymbolicLink(Path.Combine(root, "sub"), outside);
                break;
            default:
                File.Delete(Path.Combine(root, "sub", "rows.jsonl"));
                HardLinks.Create(Path.Combine(outside, "rows.jsonl"), Path.Combine(root, "sub", "rows.jsonl"));
                break;
        }

        gated.Gate.SetResult();
        var done = await WaitAsync(http, (string)created["data"]!["jobId"]!);
        Assert.Equal("Failed", (string)done["state"]!);
        Assert.Contains(expected, (string)done["reason"]!, StringComparison.Ordinal);
        Assert.Equal(0, (await server.Engine.DescribeCollectionAsync("docs")).RowCount);
    }

    [Fact]
    public async Task RestJob_HardLinkToAFileOutsideTheRoot_IsRefused()
    {
        using var dir = new TempFolder();
        var (server, http, root) = await StartAsync(dir);
        await using var _ = server;
        using var __ = http;
        var outside = await OutsideFolderAsync(dir, 3);
        HardLinks.Create(Path.Combine(outside, "rows.jsonl"), Path.Combine(root, "linked.jsonl"));

        await AssertRefusedAsync(http, "linked.jsonl", "'linked.jsonl' has 2 hard links");
        Assert.Equal(0, (await server.Engine.DescribeCollectionAsync("docs")).RowCount);
    }

    [Fact]
    public async Task RestJob_NamedPipe_IsRefusedWithoutBlocking()
    {
        using var dir = new TempFolder();

        // Held at the gate: were the pipe accepted, the job would not block the server's worker (and this test) on it.
        var (server, http, root) = await StartAsync(dir, new GatedImporter());
        await using var _ = server;
        using var __ = http;
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [Path.Combine(root, "pipe.jsonl")])!)
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        // Opening a pipe for reading would wait for a writer; the check opens it without waiting and refuses it.
        await AssertRefusedAsync(http, "pipe.jsonl", "'pipe.jsonl' is not a regular file");
    }

    [Fact]
    public async Task ImportPath_WithANulCharacter_AnswersParameterInvalidNamingIt()
    {
        using var dir = new TempFolder();
        var (server, http, _) = await StartAsync(dir);
        await using var __ = server;
        using var ___ = http;
        await AssertRefusedAsync(http, "a\0b.jsonl", "U+0000 at position 1");

        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}");
        var response = await new MilvusService.MilvusServiceClient(channel).ImportAsync(new ImportRequest { CollectionName = "docs", Files = { "x/\0" } });
        Assert.Equal(1100, response.Status.Code);
        Assert.Contains("may not hold NUL", response.Status.Reason, StringComparison.Ordinal);
    }

    /// <summary>Files inside the root whose content is wrong in the ways a reader or the engine reports, each holding a
    /// marker; the failed job's reason names the file, the line and the field, and quotes none of it.</summary>
    [Theory]
    [InlineData("bad-json.jsonl", "{\"id\":1,\"title\":\"a\",\"v\":[1,2]}\nQsecret7 not json\n", "line 2")]
    [InlineData("bad-cell.csv", "id,title,v\n1,a,\"[1,2]\"\nsecret7,b,\"[1,2]\"\n", "line 3, field 'id'")]
    [InlineData("bad-header.csv", "id,title,v,secret7\n1,a,\"[1,2]\",x\n", "column 4")]
    [InlineData("twice.csv", "id,title,v,secret7,secret7\n1,a,\"[1,2]\",x,y\n", "twice.csv")]
    [InlineData("bad-key.jsonl", "{\"id\":1,\"title\":\"a\",\"v\":[1,2],\"secret7\":1}\n", "line 1")]
    [InlineData("repeat.jsonl", "{\"id\":7777,\"title\":\"a\",\"v\":[1,2]}\n{\"id\":7777,\"title\":\"b\",\"v\":[1,2]}\n", "line 2")]
    public async Task RestJob_FailedReason_NamesTheFileAndLine_ButNeverQuotesIt(string name, string content, string where)
    {
        using var dir = new TempFolder();
        var (server, http, root) = await StartAsync(dir);
        await using var _ = server;
        using var __ = http;
        await File.WriteAllTextAsync(Path.Combine(root, name), content);
        var created = await PostAsync(http, "create", new { collectionName = "docs", files = new[] { new[] { name } } });
        Assert.Equal(0, (int)created["code"]!);
        var done = await WaitAsync(http, (string)created["data"]!["jobId"]!);
        Assert.Equal("Failed", (string)done["state"]!);
        var reason = (string)done["reason"]!;
        Assert.Contains(name, reason, StringComparison.Ordinal);
        Assert.Contains(where, reason, StringComparison.Ordinal);
        foreach (var quoted in new[] { "secret", "7777", "'Q'", "Qsecret" })
        {
            Assert.DoesNotContain(quoted, reason, StringComparison.Ordinal);
        }
    }
}
