using Quiver.Search;

namespace Quiver;

public sealed partial class QuiverEngine
{
    /// <summary>Inserts rows. The batch is validated as a whole: on any problem (wrong dimension, NaN, missing field,
    /// over-long string, duplicate or existing primary key...) nothing is written and the error names the row, field and
    /// rule. Returns once the rows are durable (per <see cref="QuiverOptions.Durability"/>) and visible to reads.</summary>
    public Task<MutationResult> InsertAsync(
        string collection, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, string? partition = null, string? database = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return WriteRowsAsync(Require(database, collection), rows, partition, upsert: false, cancellationToken);
    }

    /// <summary>Inserts rows, replacing any existing row with the same primary key (delete + insert at one timestamp:
    /// readers see the old row or the new one, never both or neither).</summary>
    public Task<MutationResult> UpsertAsync(
        string collection, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, string? partition = null, string? database = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return WriteRowsAsync(Require(database, collection), rows, partition, upsert: true, cancellationToken);
    }

    /// <summary>Inserts rows given column by column: no per-row dictionaries. Checked by the rules of
    /// <see cref="InsertAsync(string, IReadOnlyList{IReadOnlyDictionary{string, object}}, string?, string?, CancellationToken)"/>,
    /// with the same messages (row, field, rule); nothing is written for a batch that fails. The batch's arrays are read
    /// during the call and may be reused by the caller once it returns.</summary>
    public Task<MutationResult> InsertAsync(
        string collection, ColumnBatch columns, string? partition = null, string? database = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(columns);
        return WriteColumnsAsync(Require(database, collection), columns, partition, upsert: false, cancellationToken);
    }

    /// <summary>Upserts rows given column by column (see <see cref="InsertAsync(string, ColumnBatch, string?, string?, CancellationToken)"/>).</summary>
    public Task<MutationResult> UpsertAsync(
        string collection, ColumnBatch columns, string? partition = null, string? database = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(columns);
        return WriteColumnsAsync(Require(database, collection), columns, partition, upsert: true, cancellationToken);
    }

    /// <summary>Deletes rows by primary key; absent keys are ignored. <see cref="MutationResult.Count"/> is the number deleted.</summary>
    public Task<MutationResult> DeleteAsync(
        string collection, IReadOnlyList<object> keys, string? partition = null, string? database = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        return Require(database, collection).DeleteAsync(keys, partition, cancellationToken);
    }

    /// <summary>Deletes every row matching a filter expression (with optional template parameters).</summary>
    public Task<MutationResult> DeleteWhereAsync(
        string collection, string filter, IReadOnlyDictionary<string, object?>? filterParams = null, string? partition = null, string? database = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return Require(database, collection).DeleteAsync(filter, filterParams, partition, cancellationToken);
    }

    /// <summary>Seals growing segments into immutable files and checkpoints the WAL. Not needed for durability (the WAL
    /// already has every acknowledged write); it bounds memory and recovery time. Background maintenance does it too.</summary>
    public Task FlushAsync(string collection, string? database = null, CancellationToken cancellationToken = default) =>
        Require(database, collection).FlushAsync(cancellationToken);

    /// <summary>Merges small sealed segments and drops deleted rows. Returns the number of merges done.</summary>
    public Task<int> CompactAsync(string collection, string? database = null, CancellationToken cancellationToken = default) =>
        Require(database, collection).CompactAsync(cancellationToken);

    /// <summary>Rows by primary key, in the order of the keys given; absent keys are skipped.</summary>
    public Task<IReadOnlyList<Row>> GetAsync(
        string collection, IReadOnlyList<object> keys, IReadOnlyList<string>? outputFields = null, IReadOnlyList<string>? partitions = null,
        string? database = null, CancellationToken cancellationToken = default) =>
        Task.FromResult(Lookup<IReadOnlyList<Row>>(collection, keys, outputFields, partitions, database, cancellationToken,
            (projection, segments, rows) => [.. rows.Select(p => projection.Materialize(segments[p.Segment], p.Row))]));

    /// <summary>Reads the rows of <paramref name="keys"/> under one read view with <paramref name="materialize"/>.</summary>
    private T Lookup<T>(string collection, IReadOnlyList<object> keys, IReadOnlyList<string>? outputFields, IReadOnlyList<string>? partitions,
        string? database, CancellationToken cancellationToken, Func<Projection, Segments.SegmentSnapshot[], List<(int Segment, int Row)>, T> materialize)
    {
        ArgumentNullException.ThrowIfNull(keys);
        cancellationToken.ThrowIfCancellationRequested();
        var shard = Require(database, collection);
        var projection = Projection.Resolve(shard.Schema, outputFields ?? ["*"], zone: Timestamptz.Resolve(null, shard.Meta.Properties));
        var (view, rows) = shard.LookupKeys(keys, partitions ?? []);
        using (view)
        {
            return materialize(projection, view.Segments, rows);
        }
    }

    /// <summary>Rows matching a filter, with the requested fields, or their count with <c>count(*)</c>.</summary>
    public Task<IReadOnlyList<Row>> QueryAsync(string collection, QueryRequest request, string? database = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(QueryExecutor.Run(Require(database, collection), request, cancellationToken));
    }

    /// <summary>As <see cref="QueryAsync"/>, the rows as columns (primary key first, then the requested fields in
    /// order; requested dynamic keys in <see cref="ColumnBatch.Dynamic"/>), read straight from storage without a
    /// dictionary per row. <c>count(*)</c> answers one row with an Int64 column of that name.</summary>
    public Task<ColumnBatch> QueryColumnsAsync(string collection, QueryRequest request, string? database = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(QueryExecutor.RunColumns(Require(database, collection), request, cancellationToken));
    }

    /// <summary>As <see cref="GetAsync"/>, the rows as columns (see <see cref="QueryColumnsAsync"/>).</summary>
    public Task<ColumnBatch> GetColumnsAsync(
        string collection, IReadOnlyList<object> keys, IReadOnlyList<string>? outputFields = null, IReadOnlyList<string>? partitions = null,
        string? database = null, CancellationToken cancellationToken = default) =>
        Task.FromResult(Lookup(collection, keys, outputFields, partitions, database, cancellationToken,
            (projection, segments, rows) => projection.Collect(segments, rows)));

    /// <summary>Exact top-k similarity search with optional filter, partitions, range and grouping.</summary>
    public Task<SearchResult> SearchAsync(string collection, SearchRequest request, string? database = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        var shard = Require(database, collection);
        if (shard.IndexLoadsPending(request.AnnsField) is { } loads)
        {
            return SearchAfterLoadsAsync(shard, loads, request, (s, r) => SearchExecutor.Run(s, r, cancellationToken), cancellationToken);
        }

        return request.QueryTexts is null
            ? Task.FromResult(SearchExecutor.Run(shard, request, cancellationToken))
            : SearchTextAsync(shard, request, (s, r) => SearchExecutor.Run(s, r, cancellationToken), cancellationToken);
    }

    /// <summary>As <see cref="SearchAsync"/>, the hits as columns (<see cref="SearchColumns"/>): top-k ids and scores
    /// first, then the output fields read only for the hits returned, without a dictionary per hit.</summary>
    public Task<SearchColumns> SearchColumnsAsync(string collection, SearchRequest request, string? database = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        var shard = Require(database, collection);
        if (shard.IndexLoadsPending(request.AnnsField) is { } loads)
        {
            return SearchAfterLoadsAsync(shard, loads, request, (s, r) => SearchExecutor.RunColumns(s, r, cancellationToken), cancellationToken);
        }

        return request.QueryTexts is null
            ? Task.FromResult(SearchExecutor.RunColumns(shard, request, cancellationToken))
            : SearchTextAsync(shard, request, (s, r) => SearchExecutor.RunColumns(s, r, cancellationToken), cancellationToken);
    }

    /// <summary>A search that found index files of its field still loading (after a reopen): it waits for them, at
    /// most <see cref="QuiverOptions.IndexLoadWait"/>, so that it walks their indexes instead of every row of their
    /// segments; then it runs as any other.</summary>
    private async Task<T> SearchAfterLoadsAsync<T>(Shards.Shard shard, Task loads, SearchRequest request, Func<Shards.Shard, SearchRequest, T> run, CancellationToken ct)
    {
        await shard.WaitForIndexLoadsAsync(loads, ct).ConfigureAwait(false);
        return request.QueryTexts is null ? run(shard, request) : await SearchTextAsync(shard, request, run, ct).ConfigureAwait(false);
    }

    /// <summary>A collection (or alias) resolved to its name and current schema without building a description: it
    /// costs a catalog lookup, so a server can call it per request instead of caching schemas. A changed schema (a
    /// field added) is seen by the next call.</summary>
    public ResolvedCollection GetCollection(string collection, string? database = null)
    {
        var shard = Require(database, collection);
        var meta = shard.Meta;
        return new ResolvedCollection { Name = meta.Name, Database = meta.Database, Schema = shard.Schema, TimeZone = Timestamptz.Resolve(null, meta.Properties) };
    }

    /// <summary>Live rows of a collection (or alias): inserted and not deleted. O(1).</summary>
    public long CountRows(string collection, string? database = null) => Require(database, collection).Statistics().Rows;
}
