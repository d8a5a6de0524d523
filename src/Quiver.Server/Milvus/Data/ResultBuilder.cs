using System.Globalization;
using Quiver.Protocol.Schema;

namespace Quiver.Server.Milvus.Data;

/// <summary>Builds <c>schema.SearchResultData</c> from the engine's hits: the hits of all queries concatenated, with
/// <c>topks</c> telling how many belong to each query, ids and scores in the same order, one column per output field,
/// and the group-by values when grouping.</summary>
internal static class ResultBuilder
{
    /// <summary>The result data of <paramref name="hits"/> (one list per query vector).</summary>
    /// <param name="schema">The collection's schema.</param>
    /// <param name="hits">Per query, its hits, best first.</param>
    /// <param name="topK">The requested top-k, reported as <c>top_k</c>.</param>
    /// <param name="output">The resolved output fields.</param>
    /// <param name="groupBy">The group-by field, or null.</param>
    /// <param name="roundDecimal">Decimal places to round scores to; -1 keeps them as computed.</param>
    public static SearchResultData Build(CollectionSchema schema, IReadOnlyList<IReadOnlyList<SearchHit>> hits, int topK, OutputFields output,
        FieldSchema? groupBy, int roundDecimal)
    {
        var pk = schema.PrimaryKey;
        var data = new SearchResultData { NumQueries = hits.Count, TopK = topK, PrimaryFieldName = pk.Name };
        var ids = new IDs();
        if (pk.DataType == DataType.Int64)
        {
            ids.IntId = new LongArray();
        }
        else
        {
            ids.StrId = new StringArray();
        }

        var rows = new List<IReadOnlyDictionary<string, object?>>();
        foreach (var list in hits)
        {
            data.Topks.Add(list.Count);
            foreach (var hit in list)
            {
                if (ids.IntId is { } ints)
                {
                    ints.Data.Add(Convert.ToInt64(hit.Id, CultureInfo.InvariantCulture));
                }
                else
                {
                    ids.StrId.Data.Add((string)hit.Id);
                }

                data.Scores.Add(roundDecimal >= 0 ? (float)Math.Round(hit.Score, Math.Min(roundDecimal, 15), MidpointRounding.AwayFromZero) : hit.Score);
                rows.Add(hit.Fields);
            }
        }

        data.Ids = ids;
        data.FieldsData.AddRange(FieldDataConverter.ToColumns(schema, output, rows));
        data.OutputFields.AddRange(output.Names);
        if (groupBy is not null)
        {
            data.GroupByFieldValue = FieldDataConverter.Column(schema, groupBy, rows);
        }

        return data;
    }
}
