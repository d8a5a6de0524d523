using System.Collections.Immutable;
using Quiver.Protocol.Schema;

namespace Quiver.Wire;

/// <summary>Search results on the wire (<c>schema.SearchResultData</c>: the hits of all queries concatenated, <c>topks</c>
/// telling how many belong to each query, ids and scores in the same order, one column per output field, the group-by
/// values when grouping) and in the engine (<see cref="SearchColumns"/>; <see cref="SearchResult"/> for the client).</summary>
public static class SearchResultCodec
{
    /// <summary>The result data of <paramref name="result"/>, straight from its columns.</summary>
    /// <param name="schema">The collection's schema.</param>
    /// <param name="result">The engine's hits as columns (they may hold a group-by field not asked for).</param>
    /// <param name="topK">The requested top-k, reported as <c>top_k</c>.</param>
    /// <param name="declared">The declared output fields, in output order, primary key first.</param>
    /// <param name="outputNames">The names reported in <c>output_fields</c>.</param>
    /// <param name="groupBy">The group-by field, or null.</param>
    /// <param name="roundDecimal">Decimal places to round scores to; -1 keeps them as computed.</param>
    public static SearchResultData Write(CollectionSchema schema, SearchColumns result, int topK, IReadOnlyList<FieldSchema> declared,
        IReadOnlyList<string> outputNames, FieldSchema? groupBy, int roundDecimal)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(declared);
        ArgumentNullException.ThrowIfNull(outputNames);
        var fields = result.Fields;
        var data = new SearchResultData
        {
            NumQueries = result.Counts.Length,
            TopK = topK,
            PrimaryFieldName = schema.PrimaryKey.Name,
            Ids = PrimaryKeys.ToIds(result.Ids),
        };
        // Each repeated field sized once (an enumerable of unknown length grew its array step by step).
        data.Topks.Capacity = result.Counts.Length;
        foreach (var count in result.Counts)
        {
            data.Topks.Add(count);
        }

        if (roundDecimal >= 0)
        {
            var digits = Math.Min(roundDecimal, 15);
            data.Scores.Capacity = result.Scores.Length;
            foreach (var score in result.Scores)
            {
                data.Scores.Add((float)Math.Round(score, digits, MidpointRounding.AwayFromZero));
            }
        }
        else
        {
            data.Scores.AddRange(result.Scores);
        }

        foreach (var field in declared)
        {
            data.FieldsData.Add(FieldDataWriter.Write(schema, field, fields.Find(field.Name)!, fields.RowCount, NullForm.Dense));
        }

        if (fields.Dynamic is not null)
        {
            data.FieldsData.Add(FieldDataWriter.Write(schema, new ColumnBatch(fields.RowCount) { Dynamic = fields.Dynamic }, NullForm.Dense));
        }

        data.OutputFields.AddRange(outputNames);
        if (groupBy is not null)
        {
            data.GroupByFieldValue = FieldDataWriter.Write(schema, groupBy, fields.Find(groupBy.Name)!, fields.RowCount, NullForm.Dense);
        }

        return data;
    }

    /// <summary>The engine's result of a Milvus SearchResultData: <c>topks[q]</c> hits for query q, taken in order from
    /// <c>ids</c>, <c>scores</c> and the columns of <c>fields_data</c>; at least <paramref name="queries"/> lists. A
    /// malformed answer (counts that do not add up) is an <see cref="QuiverErrorCode.Unavailable"/> error.</summary>
    public static SearchResult Read(SearchResultData? data, int queries)
    {
        if (data is null)
        {
            return new SearchResult { Hits = [.. Enumerable.Range(0, queries).Select(_ => (IReadOnlyList<SearchHit>)[])] };
        }

        var ids = PrimaryKeys.FromIds(data.Ids);
        var total = ids.Count;
        if (data.Scores.Count != total)
        {
            throw Malformed($"search returned {total} ids and {data.Scores.Count} scores");
        }

        IReadOnlyList<Row> rows;
        try
        {
            var (batch, fields) = FieldDataReader.ReadResult(data.FieldsData, total);
            rows = batch.ToRows(fields);
        }
        catch (QuiverException e) when (e.Code == QuiverErrorCode.InvalidArgument)
        {
            throw Malformed(e.Message);
        }

        var topks = data.Topks.Count > 0
            ? [.. data.Topks]
            : Enumerable.Repeat(data.NumQueries > 0 ? total / data.NumQueries : total, (int)Math.Max(1, data.NumQueries)).ToList();
        var hits = ImmutableArray.CreateBuilder<IReadOnlyList<SearchHit>>(Math.Max(queries, topks.Count));
        var at = 0;
        foreach (var k in topks)
        {
            var list = new List<SearchHit>((int)Math.Min(k, total));
            for (var i = 0; i < k; i++, at++)
            {
                if (at >= total)
                {
                    throw Malformed($"topks add up to more than the {total} ids returned");
                }

                list.Add(new SearchHit { Id = ids[at], Score = data.Scores[at], Fields = rows[at] });
            }

            hits.Add(list);
        }

        while (hits.Count < queries)
        {
            hits.Add([]);
        }

        return new SearchResult { Hits = hits.ToImmutable() };
    }

    /// <summary>The rows of a query answer's columns (count(*) answers one row), for a client; a malformed answer is an
    /// <see cref="QuiverErrorCode.Unavailable"/> error.</summary>
    public static IReadOnlyList<Row> ReadRows(IReadOnlyList<FieldData> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        try
        {
            var (batch, fields) = FieldDataReader.ReadResult(columns, columns.Count == 0 ? 0 : FieldDataReader.RowCount(columns[0]));
            return batch.ToRows(fields);
        }
        catch (QuiverException e) when (e.Code == QuiverErrorCode.InvalidArgument)
        {
            throw Malformed(e.Message);
        }
    }

    private static QuiverException Malformed(string message) => new(QuiverErrorCode.Unavailable, $"malformed server answer: {message}");
}
