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
        return Require(database, collection).WriteAsync(rows, partition, upsert: false, cancellationToken);
    }

    /// <summary>Inserts rows, replacing any existing row with the same primary key (delete + insert at one timestamp:
    /// readers see the old row or the new one, never both or neither).</summary>
    public Task<MutationResult> UpsertAsync(
        string collection, IReadOnlyList<IReadOnlyDictionary<string, object?>> rows, string? partition = null, string? database = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return Require(database, collection).WriteAsync(rows, partition, upsert: true, cancellationToken);
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
        string? database = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        cancellationToken.ThrowIfCancellationRequested();
        var shard = Require(database, collection);
        var projection = Projection.Resolve(shard.Schema, outputFields ?? ["*"]);
        var (view, rows) = shard.LookupKeys(keys, partitions ?? []);
        using (view)
        {
            var result = new List<Row>(rows.Count);
            foreach (var (s, r) in rows)
            {
                result.Add(projection.Materialize(view.Segments[s], r));
            }

            return Task.FromResult<IReadOnlyList<Row>>(result);
        }
    }

    /// <summary>Rows matching a filter, with the requested fields, or their count with <c>count(*)</c>.</summary>
    public Task<IReadOnlyList<Row>> QueryAsync(string collection, QueryRequest request, string? database = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(QueryExecutor.Run(Require(database, collection), request, cancellationToken));
    }

    /// <summary>Exact top-k similarity search with optional filter, partitions, range and grouping.</summary>
    public Task<SearchResult> SearchAsync(string collection, SearchRequest request, string? database = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(SearchExecutor.Run(Require(database, collection), request, cancellationToken));
    }
}
