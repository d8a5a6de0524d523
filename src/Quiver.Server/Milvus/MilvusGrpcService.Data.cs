using System.Globalization;
using Grpc.Core;
using Quiver.Protocol.Milvus;
using Quiver.Protocol.Schema;
using Quiver.Server.Milvus.Data;
using Quiver.Wire;
using EngineMutation = Quiver.MutationResult;
using EngineQuery = Quiver.QueryRequest;

namespace Quiver.Server.Milvus;

/// <summary>Data writes and filter reads: Insert, Upsert, Delete, Query. See docs/server-data.md.</summary>
internal sealed partial class MilvusGrpcService
{
    /// <summary>Milvus's largest offset + limit of a query (its <c>quota.maxQueryResultWindow</c> default).</summary>
    internal const int MaxQueryResultWindow = 16_384;

    /// <inheritdoc />
    public override Task<Protocol.Milvus.MutationResult> Insert(InsertRequest request, ServerCallContext context) =>
        WriteAsync(WriteInput.Of(request), context);

    /// <inheritdoc />
    public override Task<Protocol.Milvus.MutationResult> Upsert(UpsertRequest request, ServerCallContext context)
    {
        if (request.PartialUpdate || request.FieldOps.Count > 0)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid,
                "upsert: partial_update and field_ops are not supported by Quiver; send every field of each row");
        }

        return WriteAsync(WriteInput.Of(request), context);
    }

    /// <summary>Insert or upsert for gRPC: the answer of <see cref="WriteColumnsAsync"/> as Milvus's <c>MutationResult</c>.</summary>
    private async Task<Protocol.Milvus.MutationResult> WriteAsync(WriteInput input, ServerCallContext context)
    {
        var (schema, result, rows) = await WriteColumnsAsync(input, context).ConfigureAwait(false);
        var response = Mutation(schema, result);
        response.SuccIndex.AddRange(Enumerable.Range(0, rows).Select(i => (uint)i));
        if (input.Upsert)
        {
            response.UpsertCnt = result.Count;
        }
        else
        {
            response.InsertCnt = result.Count;
        }

        return response;
    }

    /// <summary>What a write did: the schema it was read for, the engine's result (count and keys in input order) and the
    /// rows it was given.</summary>
    internal sealed record WriteAnswer(CollectionSchema Schema, EngineMutation Result, int Rows);

    /// <summary>Insert or upsert: the Milvus rules of a write, whatever the transport. The input's rows (gRPC columns,
    /// REST JSON rows) are read into engine columns for the collection's current schema, TIMESTAMPTZ text without an
    /// offset read in the collection's time zone.</summary>
    internal async Task<WriteAnswer> WriteColumnsAsync(WriteInput input, ServerCallContext context)
    {
        var db = Database(input.Database, context);
        var ct = context.CancellationToken;
        var resolved = Collection(input.Collection, db);
        var schema = resolved.Schema;
        var batch = input.Read(schema, resolved.TimeZone);
        var part = string.IsNullOrEmpty(input.Partition) ? null : input.Partition;
        var result = input.Upsert
            ? await _engine.UpsertAsync(input.Collection, batch, part, db, ct).ConfigureAwait(false)
            : await _engine.InsertAsync(input.Collection, batch, part, db, ct).ConfigureAwait(false);
        return new WriteAnswer(schema, result, batch.RowCount);
    }

    /// <inheritdoc />
    public override Task<Protocol.Milvus.MutationResult> Delete(DeleteRequest request, ServerCallContext context) =>
        DeleteAsync(DeleteInput.Of(request), context);

    /// <summary>Delete by filter (or by a key list it recognises), whatever the transport. A delete by keys
    /// (<see cref="DeleteInput.KeyFilter"/>: REST's <c>id</c>) builds its filter from the collection this call looked up,
    /// so that a delete looks the schema up once.</summary>
    internal async Task<Protocol.Milvus.MutationResult> DeleteAsync(DeleteInput input, ServerCallContext context)
    {
        var db = Database(input.Database, context);
        var ct = context.CancellationToken;
        if (input.KeyFilter is null)
        {
            RequireExpr(input.Filter);
        }

        var collection = Collection(input.Collection, db);
        var schema = collection.Schema;
        var filter = input.KeyFilter?.Invoke(schema) ?? input.Filter;
        RequireExpr(filter);
        var partition = string.IsNullOrEmpty(input.Partition) ? null : input.Partition;
        var templates = input.FilterParams();
        var keys = templates is null ? KeyListParser.TryParse(filter, schema.PrimaryKey) : null;
        var result = keys is not null
            ? await _engine.DeleteAsync(input.Collection, keys, partition, db, ct).ConfigureAwait(false)
            : await _engine.DeleteWhereAsync(input.Collection, filter, templates, partition, db, ct).ConfigureAwait(false);
        var response = Mutation(schema, result);
        response.DeleteCnt = result.Count;
        return response;
    }

    private static void RequireExpr(string expr)
    {
        if (string.IsNullOrWhiteSpace(expr))
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, "delete: expr cannot be empty; to delete everything use a filter that matches every row");
        }
    }

    private static Protocol.Milvus.MutationResult Mutation(CollectionSchema schema, EngineMutation result) =>
        new()
        {
            Status = MilvusStatus.Ok(),
            IDs = PrimaryKeys.ToIds(schema.PrimaryKey, result.Keys),
            Acknowledged = true,
            Timestamp = (ulong)result.Timestamp,
        };

    /// <inheritdoc />
    public override Task<QueryResults> Query(Protocol.Milvus.QueryRequest request, ServerCallContext context) => QueryAsync(request, context);

    /// <summary>Query (and get by keys) for gRPC: the answer of <see cref="QueryColumnsAsync"/> as Milvus columns.</summary>
    internal async Task<QueryResults> QueryAsync(Protocol.Milvus.QueryRequest request, ServerCallContext context)
    {
        var answer = await QueryColumnsAsync(WireQuerySource.Of(request), context).ConfigureAwait(false);
        var response = new QueryResults
        {
            Status = MilvusStatus.Ok(),
            CollectionName = request.CollectionName,
            PrimaryFieldName = answer.Schema.PrimaryKey.Name,
        };
        if (answer.Count is { } counted)
        {
            var count = new FieldData { Type = Protocol.Schema.DataType.Int64, FieldName = CountStar, Scalars = new ScalarField { LongData = new LongArray() } };
            count.Scalars.LongData.Data.Add(counted);
            response.FieldsData.Add(count);
            response.OutputFields.Add(CountStar);
            return response;
        }

        response.FieldsData.AddRange(FieldDataWriter.Write(answer.Schema, answer.Rows!, NullForm.Dense));
        response.OutputFields.AddRange(answer.Output!.Names);
        return response;
    }

    /// <summary>A query's answer: the matching rows as engine columns with the output fields they answer, or the
    /// count of <c>count(*)</c>.</summary>
    internal sealed record QueryAnswer(CollectionSchema Schema, OutputFields? Output, ColumnBatch? Rows, long? Count);

    /// <summary>Query (and get by keys): the Milvus rules, whatever the transport; the rows stay columns for the
    /// transport to write. A get by keys (<see cref="QueryInput.KeyFilter"/>) builds its filter from the collection this
    /// call looked up, so that it looks the schema up once.</summary>
    internal async Task<QueryAnswer> QueryColumnsAsync(QueryInput input, ServerCallContext context)
    {
        var db = Database(input.Database, context);
        var ct = context.CancellationToken;
        var name = input.Collection;
        var collection = Collection(name, db);
        var schema = collection.Schema;
        var filter = input.KeyFilter?.Invoke(schema) ?? input.Filter;
        var partitions = EnsureLoaded(db, name, input.Partitions);
        var templates = input.Source.FilterParams();
        var timezone = input.Source.Timezone();

        if (input.OutputFields.Any(IsCountStar))
        {
            if (input.OutputFields.Count > 1)
            {
                throw new MilvusException(MilvusCode.ParameterInvalid, "query: count(*) cannot be combined with other output fields");
            }

            return new QueryAnswer(schema, null, null, await CountAsync(name, db, filter, templates, partitions, timezone, ct).ConfigureAwait(false));
        }

        var output = OutputFields.Resolve(schema, input.OutputFields);
        var (limit, offset) = input.Source.Window();
        if (string.IsNullOrWhiteSpace(filter) && limit is null)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid, "query: an empty expression must be used with a limit (query_params 'limit')");
        }

        if (limit is { } l && (long)l + offset > MaxQueryResultWindow)
        {
            throw new MilvusException(MilvusCode.ParameterInvalid,
                $"invalid max query result window, (offset+limit) should be in range [1, {MaxQueryResultWindow}], but got {(long)l + offset}");
        }

        var rowBytes = ResultBudget.BytesPerItem(schema, output, withScore: false);
        if (limit is { } window)
        {
            CallInfo.Of(context).ResultBytes = ResultBudget.Check(window, rowBytes, _options.Memory.MaxResultBytes, "query", $"limit {window}");
        }
        else
        {
            // No limit: every match is returned, so the matches are counted (bitmaps only, no rows built) first.
            var count = await CountAsync(name, db, filter, templates, partitions, timezone, ct).ConfigureAwait(false);
            CallInfo.Of(context).ResultBytes = ResultBudget.Check(count, rowBytes, _options.Memory.MaxResultBytes, "query", $"{count} matching rows (no limit)");
        }

        var rows = await QueryWindowAsync(name, db, schema, filter, templates, output, partitions, limit is null ? 0 : offset, limit ?? int.MaxValue, timezone, ct).ConfigureAwait(false);
        return new QueryAnswer(schema, output, timezone is null ? rows : InZone(schema, rows, Timestamptz.RequireZone(timezone)), null);
    }

    /// <summary>The name of a <c>count(*)</c> query's only output.</summary>
    internal const string CountStar = "count(*)";

    private static bool IsCountStar(string name) =>
        string.Equals(name.Replace(" ", "", StringComparison.Ordinal), CountStar, StringComparison.OrdinalIgnoreCase);

    /// <summary>The number of rows matching <paramref name="filter"/> (the engine's <c>count(*)</c>: bitmaps only).</summary>
    private async Task<long> CountAsync(string name, string db, string filter, IReadOnlyDictionary<string, object?>? templates,
        IReadOnlyList<string> partitions, string? timezone, CancellationToken ct)
    {
        var counted = await _engine.QueryAsync(name, new EngineQuery
        {
            Filter = filter,
            FilterParams = templates,
            OutputFields = [CountStar],
            Partitions = partitions,
            Timezone = timezone,
        }, db, ct).ConfigureAwait(false);
        return Convert.ToInt64(counted[0][CountStar], CultureInfo.InvariantCulture);
    }

    /// <summary>The rows at [offset, offset + limit) of the matches ordered by primary key (every match without a
    /// limit), as columns. Milvus returns a query in key order, and its query iterator depends on it (each page asks for
    /// <c>pk &gt; last key</c> with a limit), so Quiver finds every matching key, orders them, and reads the window's
    /// rows by key.</summary>
    private async Task<ColumnBatch> QueryWindowAsync(string name, string db, CollectionSchema schema, string filter,
        IReadOnlyDictionary<string, object?>? templates, OutputFields output, IReadOnlyList<string> partitions, int offset, int limit, string? timezone, CancellationToken ct)
    {
        if (limit == 0)
        {
            return await _engine.GetColumnsAsync(name, [], output.EngineNames, partitions, db, ct).ConfigureAwait(false);
        }

        var pk = schema.PrimaryKey;
        // The engine wants a limit for an empty filter; a condition every key meets stands in for "all rows".
        var keyFilter = string.IsNullOrWhiteSpace(filter)
            ? pk.DataType == Quiver.DataType.Int64 ? $"{pk.Name} >= -9223372036854775808" : $"{pk.Name} >= \"\""
            : filter;
        var matches = await _engine.QueryColumnsAsync(name, new EngineQuery
        {
            Filter = keyFilter,
            FilterParams = templates,
            OutputFields = [pk.Name],
            Partitions = partitions,
            Timezone = timezone,
        }, db, ct).ConfigureAwait(false);
        var keyColumn = matches.Columns[0];
        IEnumerable<object> ordered = keyColumn.Longs is { } longs
            ? longs.Order().Select(k => (object)k)
            : keyColumn.Strings!.Order(StringComparer.Ordinal).Select(k => (object)k!);
        var keys = ordered.Skip(offset).Take(limit).ToList();
        return await _engine.GetColumnsAsync(name, keys, output.EngineNames, partitions, db, ct).ConfigureAwait(false);
    }

    /// <summary>The rows with their TIMESTAMPTZ columns written in <paramref name="zone"/> (a read's own <c>timezone</c>,
    /// which overrides the collection's the rows were read with).</summary>
    internal static ColumnBatch InZone(CollectionSchema schema, ColumnBatch rows, TimeZoneInfo zone)
    {
        var result = new ColumnBatch(rows.RowCount) { Dynamic = rows.Dynamic };
        foreach (var c in rows.Columns)
        {
            result.Add(schema.Find(c.Name) is { DataType: Quiver.DataType.Timestamptz } && c.Longs is { } longs
                ? new FieldColumn { Name = c.Name, Longs = longs, Nulls = c.Nulls, TimeZone = zone }
                : c);
        }

        return result;
    }

    /// <summary>The load-state check for reads (search, query): Milvus refuses both on a released collection or
    /// partition with code 101 / 201, and so does Quiver (see <see cref="LoadStates"/>).</summary>
    /// <returns>The partitions the read covers (empty for all). A read of everything loaded allocates nothing here (it
    /// built an empty list per call); named partitions are copied, as the request's list is the caller's.</returns>
    private IReadOnlyList<string> EnsureLoaded(string db, string collection, IReadOnlyList<string>? partitions) =>
        Loads.EnsureLoaded(db, collection, partitions is { Count: > 0 } ? partitions : null) is { } read ? [.. read] : [];
}
