using System.CommandLine;
using System.Globalization;
using Quiver.Cli.Ops.Cli;
using Quiver.Indexing;
using Quiver.Toolbox;
using Quiver.Toolbox.Advise;

namespace Quiver.Cli.Ops.Index;

/// <summary>What <c>quiver index create</c> does.</summary>
/// <param name="Collection">The collection.</param>
/// <param name="Field">The vector field (default: the collection's only one).</param>
/// <param name="Type">Index type: FLAT, HNSW, IVF_FLAT, IVF_SQ8, IVF_PQ, ANNOY or AUTOINDEX.</param>
/// <param name="Params">Build parameters (<c>{"M":16,"efConstruction":200}</c>), as a JSON object.</param>
/// <param name="Metric">L2, IP or COSINE; default the field's.</param>
/// <param name="Name">Index name; default the field's name.</param>
/// <param name="Wait">Wait (with progress) until every sealed segment has the index.</param>
internal sealed record IndexCreateOptions(string Collection, string? Field, string Type, string? Params, string? Metric, string? Name, bool Wait);

/// <summary>One index as <c>quiver index list</c> reports it.</summary>
/// <param name="Name">Index name.</param>
/// <param name="Field">Vector field.</param>
/// <param name="Type">Index type.</param>
/// <param name="Metric">Metric.</param>
/// <param name="Params">Build parameters.</param>
/// <param name="IndexedRows">Rows covered by built indexes.</param>
/// <param name="TotalRows">Rows in sealed segments.</param>
/// <param name="State">Finished, InProgress or Failed.</param>
/// <param name="MemoryBytes">Memory of the built index structures (embedded; 0 over the wire).</param>
/// <param name="FailReason">Why the last build failed.</param>
internal sealed record IndexReport(string Name, string Field, string Type, MetricType Metric, IReadOnlyDictionary<string, string> Params,
    long IndexedRows, long TotalRows, IndexState State, long MemoryBytes, string? FailReason);

/// <summary><c>quiver index create|list|drop</c>: manage a collection's vector indexes from the command line, on a
/// folder or a server (what <c>advise</c> recommends, <c>index create</c> applies; <c>tune</c> then tunes it).</summary>
internal static class IndexCommand
{
    /// <summary>The <c>index</c> command group.</summary>
    public static Command Create()
    {
        var command = new Command("index", "Create, list and drop a collection's vector indexes.");
        command.Subcommands.Add(CreateCreate());
        command.Subcommands.Add(CreateList());
        command.Subcommands.Add(CreateDrop());
        return command;
    }

    /// <summary>Creates the index and, with <see cref="IndexCreateOptions.Wait"/>, waits for it; returns its report.</summary>
    public static async Task<IndexReport> CreateAsync(TargetSpec spec, IndexCreateOptions options, CliIo io, CancellationToken cancellationToken)
    {
        if (!IndexKindNames.TryParse(options.Type, out _) && !string.Equals(options.Type, "AUTOINDEX", StringComparison.OrdinalIgnoreCase))
        {
            throw new ToolboxException($"--type '{options.Type}': unknown index type; expected FLAT, HNSW, IVF_FLAT, IVF_SQ8, IVF_PQ, ANNOY or AUTOINDEX");
        }

        var buildParams = IndexParameters.FromJson(options.Params, "--params").Values;
        MetricType? metric = options.Metric?.Trim().ToUpperInvariant() switch
        {
            null => null,
            "L2" => MetricType.L2,
            "IP" => MetricType.IP,
            "COSINE" => MetricType.Cosine,
            _ => throw new ToolboxException($"--metric '{options.Metric}': expected L2, IP or COSINE"),
        };

        await using var target = await spec.OpenAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var client = target.Client;
        var schema = (await client.DescribeCollectionAsync(options.Collection, target.Database, cancellationToken).ConfigureAwait(false)).Schema;
        var vectors = schema.Fields.Where(f => f.IsVector).ToList();
        var field = options.Field ?? (vectors.Count == 1 ? vectors[0].Name
            : throw new ToolboxException($"collection '{options.Collection}' has {vectors.Count} vector fields ({string.Join(", ", vectors.Select(v => v.Name))}); name one with --field"));
        await client.CreateIndexAsync(options.Collection, new IndexDefinition
        {
            FieldName = field,
            IndexType = options.Type.ToUpperInvariant(),
            IndexName = options.Name,
            Metric = metric,
            Params = buildParams,
        }, target.Database, cancellationToken).ConfigureAwait(false);

        if (options.Wait)
        {
            await client.FlushAsync(options.Collection, target.Database, cancellationToken).ConfigureAwait(false);
            await io.WithProgressAsync("index build", null, "rows", async progress =>
            {
                var wait = client.WaitForIndexAsync(options.Collection, target.Database, cancellationToken);
                while (!wait.IsCompleted)
                {
                    var now = (await client.DescribeIndexesAsync(options.Collection, options.Name ?? field, target.Database, cancellationToken).ConfigureAwait(false)).FirstOrDefault();
                    if (now is not null)
                    {
                        progress.SetTotal(now.TotalRows);
                        progress.SetValue(now.IndexedRows);
                    }

                    await Task.WhenAny(wait, Task.Delay(250, cancellationToken)).ConfigureAwait(false);
                }

                await wait.ConfigureAwait(false);
                return true;
            }).ConfigureAwait(false);
        }

        var info = (await client.DescribeIndexesAsync(options.Collection, options.Name ?? field, target.Database, cancellationToken).ConfigureAwait(false)).First();
        return Report(info);
    }

    /// <summary>The collection's indexes.</summary>
    public static async Task<IReadOnlyList<IndexReport>> ListAsync(TargetSpec spec, string collection, CancellationToken cancellationToken)
    {
        await using var target = await spec.OpenAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        if (target.IsEmbedded)
        {
            // Opening a folder loads its built indexes in the background; until then they read as in progress.
            using var loads = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            loads.CancelAfter(TimeSpan.FromSeconds(30));
            try
            {
                await target.Client.WaitForIndexAsync(collection, target.Database, loads.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or QuiverException && !cancellationToken.IsCancellationRequested)
            {
                // Still building, or a failed build: the listing says which.
            }
        }

        try
        {
            var infos = await target.Client.DescribeIndexesAsync(collection, null, target.Database, cancellationToken).ConfigureAwait(false);
            return [.. infos.Select(Report)];
        }
        catch (QuiverException e) when (e.Code == QuiverErrorCode.NotFound && e.Message.Contains("index", StringComparison.OrdinalIgnoreCase))
        {
            return []; // a server answers "index not found" for a collection without one
        }
    }

    /// <summary>Drops an index (by name; null for the collection's only index).</summary>
    public static async Task DropAsync(TargetSpec spec, string collection, string? name, CancellationToken cancellationToken)
    {
        await using var target = await spec.OpenAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await target.Client.DropIndexAsync(collection, name, target.Database, cancellationToken).ConfigureAwait(false);
    }

    private static IndexReport Report(IndexInfo i) =>
        new(i.IndexName, i.FieldName, i.IndexType, i.Metric, i.Params, i.IndexedRows, i.TotalRows, i.State, i.MemoryBytes, i.FailReason);

    internal static void Write(CliIo io, IReadOnlyList<IndexReport> indexes)
    {
        if (io.Json)
        {
            io.WriteJson(indexes);
            return;
        }

        io.WriteTable(["name", "field", "type", "metric", "params", "indexed / total rows", "state", "memory"],
            indexes.Select(i => (IReadOnlyList<string>)
            [
                i.Name, i.Field, i.Type, i.Metric.ToString(),
                string.Join(", ", i.Params.Select(p => $"{p.Key}={p.Value}")),
                string.Create(CultureInfo.InvariantCulture, $"{i.IndexedRows:N0} / {i.TotalRows:N0}"),
                i.FailReason is null ? i.State.ToString() : $"{i.State}: {i.FailReason}",
                i.MemoryBytes > 0 ? ByteSize.Format(i.MemoryBytes) : "",
            ]));
    }

    private static Command CreateCreate()
    {
        var targetOptions = new TargetOptions();
        var json = OpsCommand.JsonOption();
        var collection = new Option<string>("--collection", "-c") { Description = "The collection.", Required = true };
        var field = new Option<string?>("--field") { Description = "The vector field (default: the only one)." };
        var type = new Option<string>("--type") { Description = "FLAT, HNSW, IVF_FLAT, IVF_SQ8, IVF_PQ, ANNOY or AUTOINDEX.", Required = true };
        var buildParams = new Option<string?>("--params") { Description = "Build parameters as JSON, e.g. '{\"M\":16,\"efConstruction\":200}' (docs/indexes.md)." };
        var metric = new Option<string?>("--metric") { Description = "L2, IP or COSINE (default: the field's)." };
        var name = new Option<string?>("--name") { Description = "Index name (default: the field's name)." };
        var wait = new Option<bool>("--wait") { Description = "Flush and wait, with progress, until every sealed segment has the index." };
        var command = new Command("create", "Create an index on a vector field; builds run in the background unless --wait.");
        targetOptions.AddTo(command);
        foreach (var o in new Option[] { collection, field, type, buildParams, metric, name, wait, json })
        {
            command.Options.Add(o);
        }

        OpsCommand.SetAction(command, json, async (parse, io, ct) =>
        {
            var report = await CreateAsync(targetOptions.Read(parse), new IndexCreateOptions(parse.GetValue(collection)!, parse.GetValue(field),
                parse.GetValue(type)!, parse.GetValue(buildParams), parse.GetValue(metric), parse.GetValue(name), parse.GetValue(wait)), io, ct).ConfigureAwait(false);
            Write(io, [report]);
            return report.State == IndexState.Failed ? ExitCodes.Failed : ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateList()
    {
        var targetOptions = new TargetOptions();
        var json = OpsCommand.JsonOption();
        var collection = new Option<string>("--collection", "-c") { Description = "The collection.", Required = true };
        var command = new Command("list", "List a collection's indexes with build progress and state.");
        targetOptions.AddTo(command);
        command.Options.Add(collection);
        command.Options.Add(json);
        OpsCommand.SetAction(command, json, async (parse, io, ct) =>
        {
            Write(io, await ListAsync(targetOptions.Read(parse), parse.GetValue(collection)!, ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateDrop()
    {
        var targetOptions = new TargetOptions();
        var collection = new Option<string>("--collection", "-c") { Description = "The collection.", Required = true };
        var name = new Option<string?>("--name") { Description = "The index to drop (default: the collection's only index)." };
        var command = new Command("drop", "Drop an index; its segments are searched exactly afterwards.");
        targetOptions.AddTo(command);
        command.Options.Add(collection);
        command.Options.Add(name);
        OpsCommand.SetAction(command, null, async (parse, io, ct) =>
        {
            await DropAsync(targetOptions.Read(parse), parse.GetValue(collection)!, parse.GetValue(name), ct).ConfigureAwait(false);
            io.Note($"dropped the index of '{parse.GetValue(collection)}'");
            return ExitCodes.Ok;
        });
        return command;
    }
}
