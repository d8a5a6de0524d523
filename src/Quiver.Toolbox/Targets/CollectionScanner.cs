using System.Globalization;
using System.Runtime.CompilerServices;
using Quiver.Client;

namespace Quiver.Toolbox;

/// <summary>
/// Reads every row of a collection (or of one partition, or those matching a filter) in primary-key order, one page at
/// a time, with bounded memory. Works the same embedded and against a server.
/// <para>How: the embedded engine answers a limited query in storage order, not key order (a server sorts), so paging
/// with <c>key &gt; last</c> would skip and repeat rows. The scanner instead lists the keys of a key range with a
/// key-only query limited to <see cref="ListChunk"/> + 1 rows, starting with the whole key space. A range that holds
/// more than <see cref="ListChunk"/> keys is split at the median of the keys it returned and its halves are listed in
/// turn, lower first; a range that holds fewer is complete, so its keys are sorted and its rows fetched by key
/// (<see cref="IQuiverClient.GetAsync"/>) a page at a time. Memory is bounded by <see cref="ListChunk"/> keys plus one
/// page of rows; the cost is one listing query per about <see cref="ListChunk"/>/2 rows, each of which evaluates the
/// filter over the collection, plus one lookup per page.</para>
/// <para>Under concurrent writes each range is listed at its own time and each page read at its own time, so a row that
/// existed when the scan began and is not deleted during it is returned exactly once (in its latest version); rows
/// written during the scan may or may not be. With a filter, it is evaluated when a row's range is listed. This is the
/// guarantee backups rely on.</para>
/// </summary>
internal static class CollectionScanner
{
    /// <summary>Most keys one listing query returns before its range is split; below a server's 16,384 query window.</summary>
    public const int ListChunk = 16_383;

    private const string LowParam = "quiver_scan_low";
    private const string HighParam = "quiver_scan_high";

    /// <summary>Yields pages of up to <paramref name="pageSize"/> rows (never an empty page) with
    /// <paramref name="outputFields"/> (default every field, including dynamic keys; the primary key is always there)
    /// until the collection is exhausted. <paramref name="filter"/> (a filter expression, default all rows) narrows the
    /// rows; <paramref name="partition"/> narrows them to one partition.</summary>
    public static async IAsyncEnumerable<IReadOnlyList<Row>> ScanAsync(
        IQuiverClient client,
        string collection,
        string? database = null,
        string? partition = null,
        int pageSize = 1000,
        IReadOnlyList<string>? outputFields = null,
        string? filter = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var info = await client.DescribeCollectionAsync(collection, database, cancellationToken).ConfigureAwait(false);
        var key = info.Schema.PrimaryKey;
        var fields = outputFields ?? ["*"];
        fields = fields.Contains(key.Name) || fields.Contains("*") ? fields : [.. fields, key.Name];
        IReadOnlyList<string> partitions = partition is null ? [] : [partition];

        // Ranges (low, high]: null bounds are open. Popped lower first, so pages come in key order.
        var ranges = new Stack<(object? Low, object? High)>();
        ranges.Push((null, null));
        while (ranges.TryPop(out var range))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var listing = await client.QueryAsync(collection, new QueryRequest
            {
                Filter = RangeFilter(key.Name, filter, range.Low, range.High, out var filterParams),
                FilterParams = filterParams,
                OutputFields = [key.Name],
                Limit = ListChunk + 1,
                Partitions = partitions,
            }, database, cancellationToken).ConfigureAwait(false);
            var keys = new List<object>(listing.Count);
            foreach (var row in listing)
            {
                keys.Add(row.GetValueOrDefault(key.Name) ?? throw new InvalidOperationException(
                    string.Create(CultureInfo.InvariantCulture, $"collection '{collection}': a row without its primary key '{key.Name}'")));
            }

            keys.Sort(CompareKeys);
            if (keys.Count > ListChunk)
            {
                // Both halves hold at least one listed key, so each is smaller than the range: the split ends.
                var median = keys[(keys.Count / 2) - 1];
                ranges.Push((median, range.High));
                ranges.Push((range.Low, median));
                continue;
            }

            for (var start = 0; start < keys.Count; start += pageSize)
            {
                var page = keys.GetRange(start, Math.Min(pageSize, keys.Count - start));
                var rows = await client.GetAsync(collection, page, fields, partitions, database, cancellationToken).ConfigureAwait(false);
                if (rows.Count == 0)
                {
                    continue; // every row of the page was deleted since the listing
                }

                var sorted = rows.ToList();
                sorted.Sort((a, b) => CompareKeys(a[key.Name]!, b[key.Name]!));
                yield return sorted;
            }
        }
    }

    /// <summary>Orders primary keys as the filter language does: Int64 numerically, VarChar ordinally.</summary>
    public static int CompareKeys(object a, object b) => (a, b) switch
    {
        (long x, long y) => x.CompareTo(y),
        (string x, string y) => string.CompareOrdinal(x, y),
        _ => throw new InvalidOperationException($"primary keys of different types: {a.GetType().Name} and {b.GetType().Name}"),
    };

    private static string RangeFilter(string key, string? filter, object? low, object? high, out Dictionary<string, object?>? parameters)
    {
        var parts = new List<string>(3);
        parameters = null;
        if (!string.IsNullOrWhiteSpace(filter))
        {
            parts.Add($"({filter})");
        }

        if (low is not null)
        {
            parts.Add($"{key} > {{{LowParam}}}");
            (parameters ??= [])[LowParam] = low;
        }

        if (high is not null)
        {
            parts.Add($"{key} <= {{{HighParam}}}");
            (parameters ??= [])[HighParam] = high;
        }

        return string.Join(" && ", parts);
    }
}
