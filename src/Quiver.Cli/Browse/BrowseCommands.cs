using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Quiver.Cli.Ops.Cli;
using Quiver.Cli.Ops.Index;
using Quiver.Toolbox;

namespace Quiver.Cli.Browse;

/// <summary>One collection as <c>quiver collections</c> lists it.</summary>
/// <param name="Name">Collection name.</param>
/// <param name="Rows">Rows visible now (an exact count).</param>
/// <param name="Fields">Number of fields.</param>
/// <param name="Vectors">Vector fields as "name TYPE(dim) METRIC".</param>
/// <param name="Description">The schema's description.</param>
internal sealed record CollectionSummary(string Name, long Rows, int Fields, IReadOnlyList<string> Vectors, string Description);

/// <summary>One field as <c>quiver describe</c> shows it.</summary>
/// <param name="Name">Field name.</param>
/// <param name="Type">Data type in Milvus's spelling (FLOAT_VECTOR, VARCHAR, ARRAY&lt;INT64&gt;).</param>
/// <param name="Params">Type parameters: dim, metric, max_length, max_capacity, analyzer.</param>
/// <param name="PrimaryKey">The primary key.</param>
/// <param name="AutoId">Keys assigned by the database.</param>
/// <param name="Nullable">Accepts null.</param>
/// <param name="Default">Default value as JSON, or null.</param>
/// <param name="Description">The field's description.</param>
internal sealed record FieldReport(string Name, string Type, string Params, bool PrimaryKey, bool AutoId, bool Nullable, string? Default, string Description);

/// <summary>What <c>quiver describe</c> reports.</summary>
/// <param name="Name">Collection name.</param>
/// <param name="Database">Its database.</param>
/// <param name="Description">The schema's description.</param>
/// <param name="Rows">Rows visible now.</param>
/// <param name="DynamicField">Whether rows may carry fields outside the schema.</param>
/// <param name="Fields">The schema's fields.</param>
/// <param name="Functions">Functions as "name TYPE(inputs -> outputs)".</param>
/// <param name="Partitions">Partition names.</param>
/// <param name="Aliases">Aliases.</param>
/// <param name="Properties">Collection properties.</param>
/// <param name="Indexes">Indexes with build state.</param>
internal sealed record CollectionDescription(
    string Name, string Database, string Description, long Rows, bool DynamicField, IReadOnlyList<FieldReport> Fields, IReadOnlyList<string> Functions,
    IReadOnlyList<string> Partitions, IReadOnlyList<string> Aliases, IReadOnlyDictionary<string, string> Properties, IReadOnlyList<IndexReport> Indexes);

/// <summary>What <c>quiver count</c> reports.</summary>
/// <param name="Collection">Collection name.</param>
/// <param name="Filter">The filter ("" for all rows).</param>
/// <param name="Count">Matching rows.</param>
internal sealed record CountReport(string Collection, string Filter, long Count);

/// <summary>What <c>quiver query</c> asks.</summary>
/// <param name="Collection">Collection name.</param>
/// <param name="Filter">Boolean filter expression ("" for all rows).</param>
/// <param name="Fields">Fields to return; null: every scalar field (vectors only when named).</param>
/// <param name="Limit">Rows at most.</param>
/// <param name="Offset">Rows to skip.</param>
/// <param name="Partitions">Partitions to read (empty: all).</param>
internal sealed record BrowseQueryOptions(string Collection, string Filter, IReadOnlyList<string>? Fields, int Limit, int Offset, IReadOnlyList<string> Partitions);

/// <summary>What <c>quiver search</c> asks: exactly one of <paramref name="Vector"/>, <paramref name="Id"/> and
/// <paramref name="Text"/>.</summary>
/// <param name="Collection">Collection name.</param>
/// <param name="Vector">The query vector as JSON: an array of numbers, or for a sparse field an object of index: value.</param>
/// <param name="Id">Search with the vector of the row with this primary key.</param>
/// <param name="Text">Search by text through the TextEmbedding function that writes the searched field.</param>
/// <param name="Field">The vector field (default: the only one).</param>
/// <param name="Filter">Boolean filter expression.</param>
/// <param name="Fields">Fields to return; null: every scalar field.</param>
/// <param name="Limit">Hits (top-k).</param>
/// <param name="Params">Search parameters as a JSON object (ef, nprobe, ...).</param>
internal sealed record BrowseSearchOptions(
    string Collection, string? Vector, string? Id, string? Text, string? Field, string Filter, IReadOnlyList<string>? Fields, int Limit, string? Params);

/// <summary>Rows as <c>quiver query</c> and <c>quiver search</c> return them.</summary>
/// <param name="Collection">Collection name.</param>
/// <param name="Columns">Column order: the primary key (search: rank, id, score), then the fields.</param>
/// <param name="Rows">The rows, values JSON-ready (<see cref="BrowseValues.Json"/>).</param>
internal sealed record RowsReport(string Collection, IReadOnlyList<string> Columns, IReadOnlyList<Dictionary<string, object?>> Rows);

/// <summary>
/// The browse commands (issue 15 item 6): <c>quiver collections</c>, <c>describe</c>, <c>count</c>, <c>query</c>,
/// <c>search</c> and <c>indexes</c> look at data without writing code, on a folder (<c>--data</c>) or a server
/// (<c>--uri</c>), as tables or JSON (<c>--json</c>). They only read (docs/cli-browse.md).
/// </summary>
internal static class BrowseCommands
{
    /// <summary>Adds the browse commands to <paramref name="root"/>.</summary>
    public static void AddTo(RootCommand root)
    {
        ArgumentNullException.ThrowIfNull(root);
        root.Subcommands.Add(CreateCollections());
        root.Subcommands.Add(CreateDescribe());
        root.Subcommands.Add(CreateCount());
        root.Subcommands.Add(CreateQuery());
        root.Subcommands.Add(CreateSearch());
        root.Subcommands.Add(CreateIndexes());
    }

    /// <summary>Every collection of the target's database with its row count.</summary>
    public static async Task<IReadOnlyList<CollectionSummary>> CollectionsAsync(TargetSpec spec, CancellationToken cancellationToken)
    {
        await using var target = await spec.OpenAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var result = new List<CollectionSummary>();
        foreach (var name in (await target.Client.ListCollectionsAsync(target.Database, cancellationToken).ConfigureAwait(false)).Order(StringComparer.Ordinal))
        {
            var info = await target.Client.DescribeCollectionAsync(name, target.Database, cancellationToken).ConfigureAwait(false);
            var rows = await CountRowsAsync(target, name, "", cancellationToken).ConfigureAwait(false);
            var vectors = info.Schema.Fields.Where(f => f.IsVector || f.IsSparseVector)
                .Select(f => f.IsSparseVector ? $"{f.Name} {TypeName(f)}" : $"{f.Name} {TypeName(f)}({f.Dimension}) {MetricName(f.Metric)}").ToList();
            result.Add(new CollectionSummary(name, rows, info.Schema.Fields.Length, vectors, info.Schema.Description));
        }

        return result;
    }

    /// <summary>The collection's schema, functions, partitions, properties, row count and indexes.</summary>
    public static async Task<CollectionDescription> DescribeAsync(TargetSpec spec, string collection, CancellationToken cancellationToken)
    {
        var indexes = await IndexCommand.ListAsync(spec, collection, cancellationToken).ConfigureAwait(false);
        await using var target = await spec.OpenAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var info = await target.Client.DescribeCollectionAsync(collection, target.Database, cancellationToken).ConfigureAwait(false);
        var rows = await CountRowsAsync(target, collection, "", cancellationToken).ConfigureAwait(false);
        var schema = info.Schema;
        return new CollectionDescription(
            info.Name, info.Database, schema.Description, rows, schema.EnableDynamicField,
            [.. schema.Fields.Select(Field)],
            [.. schema.Functions.Select(f => $"{f.Name} {f.Type}({string.Join(", ", f.InputFieldNames)} -> {string.Join(", ", f.OutputFieldNames)})")],
            info.Partitions, info.Aliases, info.Properties, indexes);
    }

    /// <summary>Rows matching <paramref name="filter"/> ("" for all).</summary>
    public static async Task<CountReport> CountAsync(TargetSpec spec, string collection, string filter, IReadOnlyList<string> partitions, CancellationToken cancellationToken)
    {
        await using var target = await spec.OpenAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var rows = await CountRowsAsync(target, collection, filter, cancellationToken, partitions).ConfigureAwait(false);
        return new CountReport(collection, filter, rows);
    }

    /// <summary>Rows matching the filter, at most <see cref="BrowseQueryOptions.Limit"/>, in key order.</summary>
    public static async Task<RowsReport> QueryAsync(TargetSpec spec, BrowseQueryOptions options, CancellationToken cancellationToken)
    {
        CheckLimit(options.Limit);
        if (options.Offset < 0)
        {
            throw new ToolboxException($"--offset {options.Offset}: must be 0 or more");
        }

        await using var target = await spec.OpenAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var schema = (await target.Client.DescribeCollectionAsync(options.Collection, target.Database, cancellationToken).ConfigureAwait(false)).Schema;
        await LoadAsync(target, options.Collection, cancellationToken).ConfigureAwait(false);
        var fields = OutputFields(schema, options.Fields);
        var rows = await target.Client.QueryAsync(options.Collection, new QueryRequest
        {
            Filter = options.Filter,
            OutputFields = fields,
            Limit = options.Limit,
            Offset = options.Offset,
            Partitions = options.Partitions,
        }, target.Database, cancellationToken).ConfigureAwait(false);
        List<string> columns = [schema.PrimaryKey.Name, .. fields.Where(f => f != schema.PrimaryKey.Name)];
        return new RowsReport(options.Collection, columns, [.. rows.Select(r => BrowseValues.JsonRow(r, columns))]);
    }

    /// <summary>The top hits for one query vector, given as numbers, as a row's key, or as text.</summary>
    public static async Task<RowsReport> SearchAsync(TargetSpec spec, BrowseSearchOptions options, CancellationToken cancellationToken)
    {
        CheckLimit(options.Limit);
        var given = new[] { options.Vector, options.Id, options.Text }.Count(x => x is not null);
        if (given != 1)
        {
            throw new ToolboxException("give exactly one of --vector (the query vector), --id (a row whose vector to search with) and --text (search by text)");
        }

        var searchParams = options.Params is null ? new Dictionary<string, string>() : ParseParams(options.Params);
        using var embedders = options.Text is not null && spec.DataPath is not null ? Embed.EmbedCommand.FromEnvironment() : null;
        await using var target = await (spec with { TextEmbedders = embedders }).OpenAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var schema = (await target.Client.DescribeCollectionAsync(options.Collection, target.Database, cancellationToken).ConfigureAwait(false)).Schema;
        var field = SearchField(schema, options);
        await LoadAsync(target, options.Collection, cancellationToken).ConfigureAwait(false);

        object? query = options.Text;
        if (options.Vector is not null)
        {
            query = ParseVector(options.Vector, field);
        }
        else if (options.Id is not null)
        {
            var key = ParseKey(options.Id, schema.PrimaryKey);
            var found = await target.Client.GetAsync(options.Collection, [key], [field.Name], null, target.Database, cancellationToken).ConfigureAwait(false);
            query = found.Count == 1 ? found[0][field.Name]
                : throw new ToolboxException($"--id {options.Id}: no row with that {schema.PrimaryKey.Name} in '{options.Collection}'");
            if (query is null)
            {
                throw new ToolboxException($"--id {options.Id}: the row's '{field.Name}' is null");
            }
        }

        var fields = OutputFields(schema, options.Fields);
        var request = new SearchRequest
        {
            Vectors = query is float[] dense ? [dense] : [],
            SparseVectors = query is SparseVector sparse ? [sparse] : null,
            QueryTexts = query is string text ? [text] : null,
            AnnsField = field.Name,
            Limit = options.Limit,
            Filter = options.Filter,
            OutputFields = fields,
            SearchParams = searchParams,
        };
        if (request.Vectors.Count == 0 && request.SparseVectors is null && request.QueryTexts is null)
        {
            throw new ToolboxException($"'{field.Name}' is {TypeName(field)}: quiver search takes FLOAT_VECTOR, FLOAT16_VECTOR, BFLOAT16_VECTOR and SPARSE_FLOAT_VECTOR fields");
        }

        var result = await target.Client.SearchAsync(options.Collection, request, target.Database, cancellationToken).ConfigureAwait(false);
        List<string> columns = ["rank", "id", "score", .. fields.Where(f => f != schema.PrimaryKey.Name)];
        var rows = result.Hits[0].Select((hit, i) =>
        {
            var row = new Dictionary<string, object?>(hit.Fields, StringComparer.Ordinal) { ["rank"] = i + 1, ["id"] = hit.Id, ["score"] = hit.Score };
            return BrowseValues.JsonRow(row, columns);
        }).ToList();
        return new RowsReport(options.Collection, columns, rows);
    }

    private static async Task<long> CountRowsAsync(OpsTarget target, string collection, string filter, CancellationToken cancellationToken, IReadOnlyList<string>? partitions = null)
    {
        await LoadAsync(target, collection, cancellationToken).ConfigureAwait(false);
        var rows = await target.Client.QueryAsync(collection, new QueryRequest { Filter = filter, OutputFields = ["count(*)"], Partitions = partitions ?? [] },
            target.Database, cancellationToken).ConfigureAwait(false);
        return Convert.ToInt64(rows[0]["count(*)"], CultureInfo.InvariantCulture);
    }

    /// <summary>A server reads a collection only once it is loaded (Milvus's rule; a no-op embedded and for a loaded
    /// collection), so a browse command loads it as any reader would.</summary>
    private static Task LoadAsync(OpsTarget target, string collection, CancellationToken cancellationToken) =>
        target.IsEmbedded ? Task.CompletedTask : target.Client.LoadCollectionAsync(collection, target.Database, cancellationToken);

    private static void CheckLimit(int limit)
    {
        if (limit is < 1 or > SearchRequest.MaxTopK)
        {
            throw new ToolboxException(string.Create(CultureInfo.InvariantCulture, $"--limit {limit}: must be 1 to {SearchRequest.MaxTopK:N0}"));
        }
    }

    private static List<string> OutputFields(CollectionSchema schema, IReadOnlyList<string>? asked)
    {
        if (asked is null)
        {
            return [.. schema.Fields.Where(f => !f.IsVector && !f.IsSparseVector).Select(f => f.Name)];
        }

        foreach (var name in asked)
        {
            if (schema.Find(name) is null && !schema.EnableDynamicField)
            {
                throw new ToolboxException($"--fields: the collection has no field '{name}' (fields: {string.Join(", ", schema.Fields.Select(f => f.Name))})");
            }
        }

        return [.. asked];
    }

    private static FieldSchema SearchField(CollectionSchema schema, BrowseSearchOptions options)
    {
        var vectors = schema.Fields.Where(f => f.IsVector || f.IsSparseVector).ToList();
        if (options.Field is { } name)
        {
            return vectors.FirstOrDefault(f => f.Name == name)
                ?? throw new ToolboxException($"--field '{name}': not a vector field of '{options.Collection}' (vector fields: {string.Join(", ", vectors.Select(v => v.Name))})");
        }

        if (options.Text is not null)
        {
            // The field a TextEmbedding function writes is the one a text can be searched against.
            var embedded = vectors.Where(v => schema.Functions.Any(f => f.OutputFieldNames.Contains(v.Name))).ToList();
            if (embedded.Count == 1)
            {
                return embedded[0];
            }
        }

        return vectors.Count == 1 ? vectors[0]
            : throw new ToolboxException($"'{options.Collection}' has {vectors.Count} vector fields ({string.Join(", ", vectors.Select(v => v.Name))}); name one with --field");
    }

    private static object ParseVector(string text, FieldSchema field)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            if (field.IsSparseVector)
            {
                if (root.ValueKind != JsonValueKind.Object)
                {
                    throw new ToolboxException($"--vector: '{field.Name}' is a sparse vector; give it as an object of index: value, e.g. {{\"3\": 0.5, \"17\": 1.2}}");
                }

                return SparseVector.FromPairs(root.EnumerateObject().Select(p => new KeyValuePair<uint, float>(
                    uint.TryParse(p.Name, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : throw new ToolboxException($"--vector: sparse index '{p.Name}' is not a whole number"),
                    p.Value.GetSingle())));
            }

            if (root.ValueKind != JsonValueKind.Array)
            {
                throw new ToolboxException("--vector: give the query vector as a JSON array of numbers, e.g. [0.1, 0.2, 0.3]");
            }

            var vector = root.EnumerateArray().Select(e => e.GetSingle()).ToArray();
            return vector.Length == field.Dimension ? vector
                : throw new ToolboxException($"--vector has {vector.Length} numbers; '{field.Name}' has dimension {field.Dimension}");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new ToolboxException($"--vector: {e.Message}", e);
        }
    }

    private static object ParseKey(string text, FieldSchema key) =>
        key.DataType == DataType.Int64
            ? long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var id) ? id
                : throw new ToolboxException($"--id '{text}': the primary key '{key.Name}' is INT64; give a whole number")
            : text;

    private static Dictionary<string, string> ParseParams(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ToolboxException("--params: give search parameters as a JSON object, e.g. {\"ef\": 64}");
            }

            return doc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText(), StringComparer.Ordinal);
        }
        catch (JsonException e)
        {
            throw new ToolboxException($"--params: {e.Message}", e);
        }
    }

    private static FieldReport Field(FieldSchema f)
    {
        var parts = new List<string>();
        if (f.Dimension is { } dim)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"dim={dim}"));
        }

        if (f.IsVector || f.IsSparseVector)
        {
            parts.Add($"metric={MetricName(f.Metric)}");
        }

        if (f.MaxLength is { } length)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"max_length={length}"));
        }

        if (f.MaxCapacity is { } capacity)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"max_capacity={capacity}"));
        }

        if (f.EnableAnalyzer)
        {
            parts.Add("analyzer" + (f.AnalyzerParams is { } a ? "=" + a : ""));
        }

        if (f.EnableMatch)
        {
            parts.Add("match");
        }

        return new FieldReport(f.Name, TypeName(f), string.Join(", ", parts), f.IsPrimaryKey, f.AutoId, f.Nullable, f.DefaultValue?.GetRawText(), f.Description);
    }

    /// <summary>Milvus's spelling of a field's type: FLOAT_VECTOR, VARCHAR, ARRAY&lt;INT64&gt;.</summary>
    internal static string TypeName(FieldSchema f) =>
        f.DataType == DataType.Array && f.ElementType is { } element ? $"ARRAY<{TypeName(element)}>" : TypeName(f.DataType);

    private static string TypeName(DataType type) => type switch
    {
        DataType.VarChar => "VARCHAR",
        DataType.BinaryVector => "BINARY_VECTOR",
        DataType.FloatVector => "FLOAT_VECTOR",
        DataType.Float16Vector => "FLOAT16_VECTOR",
        DataType.BFloat16Vector => "BFLOAT16_VECTOR",
        DataType.SparseFloatVector => "SPARSE_FLOAT_VECTOR",
        DataType.Int8Vector => "INT8_VECTOR",
        _ => type.ToString().ToUpperInvariant(),
    };

    private static string MetricName(MetricType metric) => metric.ToString().ToUpperInvariant();

    private static void WriteRows(CliIo io, RowsReport report)
    {
        if (io.Json)
        {
            io.WriteJson(report.Rows);
            return;
        }

        io.WriteTable(report.Columns, report.Rows.Select(r => (IReadOnlyList<string>)[.. report.Columns.Select(c => BrowseValues.Cell(r.GetValueOrDefault(c)))]));
    }

    private static IReadOnlyList<string>? SplitFields(string? text) =>
        text is null ? null : text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static (TargetOptions Target, Option<bool> Json, Command Command) NewCommand(string name, string description, params Option[] options)
    {
        var target = new TargetOptions();
        var json = OpsCommand.JsonOption();
        var command = new Command(name, description);
        target.AddTo(command);
        foreach (var option in options)
        {
            command.Options.Add(option);
        }

        command.Options.Add(json);
        return (target, json, command);
    }

    private static Argument<string> CollectionArgument() => new("collection") { Description = "The collection." };

    private static Command CreateCollections()
    {
        var (target, json, command) = NewCommand("collections", "List the collections with their row counts and vector fields.");
        OpsCommand.SetAction(command, json, async (parse, io, ct) =>
        {
            var list = await CollectionsAsync(target.Read(parse), ct).ConfigureAwait(false);
            if (io.Json)
            {
                io.WriteJson(list);
            }
            else
            {
                io.WriteTable(["collection", "rows", "fields", "vector fields", "description"], list.Select(c => (IReadOnlyList<string>)
                [
                    c.Name, c.Rows.ToString("N0", CultureInfo.InvariantCulture), c.Fields.ToString(CultureInfo.InvariantCulture), string.Join("; ", c.Vectors), c.Description,
                ]));
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateDescribe()
    {
        var collection = CollectionArgument();
        var (target, json, command) = NewCommand("describe", "Show a collection's schema, functions, partitions, properties, row count and indexes.");
        command.Arguments.Add(collection);
        OpsCommand.SetAction(command, json, async (parse, io, ct) =>
        {
            var d = await DescribeAsync(target.Read(parse), parse.GetValue(collection)!, ct).ConfigureAwait(false);
            if (io.Json)
            {
                io.WriteJson(d);
                return ExitCodes.Ok;
            }

            io.WriteTable(["field", "type", "params", "key", "nullable", "default", "description"], d.Fields.Select(f => (IReadOnlyList<string>)
            [
                f.Name, f.Type, f.Params, f.PrimaryKey ? (f.AutoId ? "primary (auto id)" : "primary") : "", f.Nullable ? "yes" : "", f.Default ?? "", f.Description,
            ]), title: string.Create(CultureInfo.InvariantCulture, $"{d.Name} ({d.Database}): {d.Rows:N0} rows"));
            io.WriteTable(["property", "value"],
            [
                ["dynamic field", d.DynamicField ? "on" : "off"],
                ["partitions", string.Join(", ", d.Partitions)],
                ["aliases", string.Join(", ", d.Aliases)],
                ["functions", string.Join("; ", d.Functions)],
                ["indexes", string.Join("; ", d.Indexes.Select(i => $"{i.Name} {i.Type} on {i.Field} ({i.State})"))],
                .. d.Properties.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => (IReadOnlyList<string>)[p.Key, p.Value]),
            ]);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateCount()
    {
        var collection = CollectionArgument();
        var filter = new Option<string?>("--filter", "-f") { Description = "Count only rows matching this filter, e.g. 'price < 100' (docs/filter-language.md)." };
        var partition = new Option<string[]>("--partition") { Description = "Count in these partitions only (repeatable).", AllowMultipleArgumentsPerToken = true };
        var (target, json, command) = NewCommand("count", "Count a collection's rows, all or those matching a filter.", filter, partition);
        command.Arguments.Add(collection);
        OpsCommand.SetAction(command, json, async (parse, io, ct) =>
        {
            var report = await CountAsync(target.Read(parse), parse.GetValue(collection)!, parse.GetValue(filter) ?? "", parse.GetValue(partition) ?? [], ct).ConfigureAwait(false);
            if (io.Json)
            {
                io.WriteJson(report);
            }
            else
            {
                await io.Out.WriteLineAsync(report.Count.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Option<string?> FieldsOption() =>
        new("--fields") { Description = "Comma-separated fields to show (default: every scalar field; vectors only when named)." };

    private static Option<int> LimitOption(string what) =>
        new("--limit", "-n") { Description = $"{what} at most (default 10).", DefaultValueFactory = _ => 10 };

    private static Command CreateQuery()
    {
        var collection = CollectionArgument();
        var filter = new Option<string?>("--filter", "-f") { Description = "Rows matching this filter, e.g. 'category == \"tech\"' (default: all rows)." };
        var fields = FieldsOption();
        var limit = LimitOption("Rows");
        var offset = new Option<int>("--offset") { Description = "Rows to skip (paging)." };
        var partition = new Option<string[]>("--partition") { Description = "Read these partitions only (repeatable).", AllowMultipleArgumentsPerToken = true };
        var (target, json, command) = NewCommand("query", "Show rows of a collection, all or those matching a filter.", filter, fields, limit, offset, partition);
        command.Arguments.Add(collection);
        OpsCommand.SetAction(command, json, async (parse, io, ct) =>
        {
            var options = new BrowseQueryOptions(parse.GetValue(collection)!, parse.GetValue(filter) ?? "", SplitFields(parse.GetValue(fields)),
                parse.GetValue(limit), parse.GetValue(offset), parse.GetValue(partition) ?? []);
            WriteRows(io, await QueryAsync(target.Read(parse), options, ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateSearch()
    {
        var collection = CollectionArgument();
        var vector = new Option<string?>("--vector") { Description = "The query vector as JSON: [0.1, 0.2, ...], or {\"index\": value, ...} for a sparse field." };
        var id = new Option<string?>("--id") { Description = "Search with the vector of the row with this primary key." };
        var text = new Option<string?>("--text") { Description = "Search by text: embedded by the collection's TextEmbedding function (docs/embeddings.md)." };
        var field = new Option<string?>("--field") { Description = "The vector field to search (default: the only one)." };
        var filter = new Option<string?>("--filter", "-f") { Description = "Only rows matching this filter." };
        var fields = FieldsOption();
        var limit = LimitOption("Hits");
        var searchParams = new Option<string?>("--params") { Description = "Search parameters as JSON, e.g. '{\"ef\": 64}' (docs/indexes.md)." };
        var (target, json, command) = NewCommand("search", "Show the rows nearest to a vector, to a row (by id), or to a text.",
            vector, id, text, field, filter, fields, limit, searchParams);
        command.Arguments.Add(collection);
        OpsCommand.SetAction(command, json, async (parse, io, ct) =>
        {
            var options = new BrowseSearchOptions(parse.GetValue(collection)!, parse.GetValue(vector), parse.GetValue(id), parse.GetValue(text),
                parse.GetValue(field), parse.GetValue(filter) ?? "", SplitFields(parse.GetValue(fields)), parse.GetValue(limit), parse.GetValue(searchParams));
            WriteRows(io, await SearchAsync(target.Read(parse), options, ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateIndexes()
    {
        var collection = CollectionArgument();
        var (target, json, command) = NewCommand("indexes", "List a collection's indexes with build progress and state (as quiver index list).");
        command.Arguments.Add(collection);
        OpsCommand.SetAction(command, json, async (parse, io, ct) =>
        {
            IndexCommand.Write(io, await IndexCommand.ListAsync(target.Read(parse), parse.GetValue(collection)!, ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        });
        return command;
    }
}
