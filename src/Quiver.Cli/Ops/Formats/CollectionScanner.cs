using System.Globalization;
using System.Runtime.CompilerServices;
using Quiver.Client;

namespace Quiver.Cli.Ops.Formats;

/// <summary>
/// Reads every row of a collection (or of one partition) in primary-key order, one page at a time, with bounded memory:
/// each page is a query <c>key &gt; last</c> with a limit. Works the same embedded and against a server.
/// <para>Under concurrent writes each page sees the state at its own time, so a row that existed when the scan began
/// and is not deleted during it is returned exactly once (in its latest version); rows written during the scan may or
/// may not be. This is the guarantee backups rely on.</para>
/// </summary>
internal static class CollectionScanner
{
    /// <summary>Yields pages of up to <paramref name="pageSize"/> rows with <paramref name="outputFields"/> (default
    /// every field, including dynamic keys) until the collection is exhausted.</summary>
    public static async IAsyncEnumerable<IReadOnlyList<Row>> ScanAsync(
        IQuiverClient client,
        string collection,
        string? database = null,
        string? partition = null,
        int pageSize = 1000,
        IReadOnlyList<string>? outputFields = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var info = await client.DescribeCollectionAsync(collection, database, cancellationToken).ConfigureAwait(false);
        var key = info.Schema.PrimaryKey;
        var fields = outputFields ?? ["*"];
        object? last = null;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var request = new QueryRequest
            {
                Filter = last is null ? "" : $"{key.Name} > {{last}}",
                FilterParams = last is null ? null : new Dictionary<string, object?> { ["last"] = last },
                OutputFields = fields.Contains(key.Name) || fields.Contains("*") ? fields : [.. fields, key.Name],
                Limit = pageSize,
                Partitions = partition is null ? [] : [partition],
            };
            var page = await client.QueryAsync(collection, request, database, cancellationToken).ConfigureAwait(false);
            if (page.Count == 0)
            {
                yield break;
            }

            yield return page;
            last = page[^1][key.Name] ?? throw new InvalidOperationException(
                string.Create(CultureInfo.InvariantCulture, $"collection '{collection}': a row without its primary key '{key.Name}'"));
            if (page.Count < pageSize)
            {
                yield break;
            }
        }
    }
}
