using System.Text.Json;
using Quiver.Protocol.Milvus;
using MilvusMutation = global::Quiver.Protocol.Milvus.MutationResult;
using Quiver.Protocol.Schema;
using Quiver.Wire;

namespace Quiver.Cluster.Nodes;

/// <summary>How the answers of a collection's shards become one answer, as the single engine holding every row would
/// give it: search hits merged into a global top-k by score, query rows merged in primary-key order (the order a query
/// answers in, docs/server-data.md), counts summed, write results put back in the request's row order.</summary>
internal static class ShardMerge
{
    /// <summary>One search answer of the shards' answers (each searched for <paramref name="offset"/> +
    /// <paramref name="topK"/> hits from the start): per query, every shard's hits ordered by score (best first, ties by
    /// primary key), the first <paramref name="offset"/> skipped and <paramref name="topK"/> kept.</summary>
    public static SearchResults Search(IReadOnlyList<SearchResults> answers, int nq, int topK, int offset, bool largerIsCloser, int roundDecimal)
    {
        var hits = Hits(answers, nq);
        var picked = new List<List<(float Score, object Key, int Answer, int At)>>(nq);
        for (var q = 0; q < nq; q++)
        {
            var candidates = hits.SelectMany((perQuery, s) => perQuery[q].Select(h => (h.Score, h.Key, Answer: s, h.At))).ToList();
            candidates.Sort((a, b) =>
            {
                var byScore = largerIsCloser ? b.Score.CompareTo(a.Score) : a.Score.CompareTo(b.Score);
                return byScore != 0 ? byScore : CompareKeys(a.Key, b.Key);
            });
            picked.Add([.. candidates.Skip(offset).Take(topK)]);
        }

        return Pick(answers, picked, topK, roundDecimal);
    }

    /// <summary>Every answer's hits per query, in its order: each hit's score, primary key and position in the answer's
    /// flattened hit list.</summary>
    public static List<List<(float Score, object Key, int At)>>[] Hits(IReadOnlyList<SearchResults> answers, int nq)
    {
        var all = new List<List<(float Score, object Key, int At)>>[answers.Count];
        for (var s = 0; s < answers.Count; s++)
        {
            var part = answers[s].Results ?? new SearchResultData();
            var keys = PrimaryKeys.FromIds(part.Ids);
            all[s] = new List<List<(float, object, int)>>(nq);
            var start = 0;
            for (var q = 0; q < nq; q++)
            {
                var count = q < part.Topks.Count ? (int)part.Topks[q] : 0;
                all[s].Add([.. Enumerable.Range(start, count).Select(at => (part.Scores[at], keys[at], at))]);
                start += count;
            }
        }

        return all;
    }

    /// <summary>A search answer made of hits picked from <paramref name="answers"/>: per query, the hits
    /// <paramref name="picked"/> names (the answer and position each comes from, its key and the score it is answered
    /// with), with the output fields their answers carried; scores rounded to <paramref name="roundDecimal"/> places
    /// unless it is negative.</summary>
    public static SearchResults Pick(IReadOnlyList<SearchResults> answers, IReadOnlyList<IReadOnlyList<(float Score, object Key, int Answer, int At)>> picked, int topK, int roundDecimal)
    {
        var parts = answers.Select(a => a.Results ?? new SearchResultData()).ToList();
        var sizes = parts.Select(p => PrimaryKeys.FromIds(p.Ids).Count).ToList();
        var (batch, fields) = Concat([.. parts.Select((p, s) => ((IReadOnlyList<FieldData>)p.FieldsData, sizes[s]))]);
        var bases = new int[parts.Count];
        for (var s = 1; s < parts.Count; s++)
        {
            bases[s] = bases[s - 1] + sizes[s - 1];
        }

        var merged = new SearchResultData
        {
            NumQueries = picked.Count,
            TopK = topK,
            PrimaryFieldName = parts.Select(p => p.PrimaryFieldName).FirstOrDefault(n => n.Length > 0) ?? "",
            AllSearchCount = parts.Sum(p => p.AllSearchCount),
        };
        merged.OutputFields.AddRange(parts[0].OutputFields);
        var rows = new List<int>();
        var ids = new List<object>();
        foreach (var window in picked)
        {
            merged.Topks.Add(window.Count);
            foreach (var hit in window)
            {
                rows.Add(bases[hit.Answer] + hit.At);
                ids.Add(hit.Key);
                merged.Scores.Add(roundDecimal >= 0 ? (float)Math.Round(hit.Score, Math.Min(roundDecimal, 15), MidpointRounding.AwayFromZero) : hit.Score);
            }
        }

        merged.Ids = Ids(ids, parts.Select(p => p.Ids).FirstOrDefault(i => i is not null));
        merged.FieldsData.AddRange(Write(batch.Select(rows), fields, parts.SelectMany(p => p.FieldsData)));
        return new SearchResults { Status = new Protocol.Common.Status(), Results = merged, CollectionName = answers[0].CollectionName, SessionTs = answers.Max(a => a.SessionTs) };
    }

    /// <summary>The column <paramref name="column"/> of each answer (such as a grouped search's group values), for the hits
    /// <paramref name="picked"/> names, in their order; null when no answer carries it.</summary>
    public static FieldData? PickColumn(IReadOnlyList<SearchResults> answers, IReadOnlyList<IReadOnlyList<(float Score, object Key, int Answer, int At)>> picked, Func<SearchResults, FieldData?> column)
    {
        var columns = answers.Select(column).ToList();
        if (columns.All(c => c is null))
        {
            return null;
        }

        var sizes = answers.Select(a => a.Results is null ? 0 : PrimaryKeys.FromIds(a.Results.Ids).Count).ToList();
        var like = columns.First(c => c is not null)!;
        var (batch, fields) = Concat([.. columns.Select((c, s) => ((IReadOnlyList<FieldData>)(c is null ? [] : [c]), c is null ? 0 : sizes[s]))]);
        var bases = new int[answers.Count];
        var total = 0;
        for (var s = 0; s < answers.Count; s++)
        {
            bases[s] = total;
            total += columns[s] is null ? 0 : sizes[s];
        }

        var rows = picked.SelectMany(window => window.Select(hit => bases[hit.Answer] + hit.At)).ToList();
        return Write(batch.Select(rows), fields, [like])[0];
    }

    /// <summary>One query answer of the shards' answers: <c>count(*)</c> summed; otherwise every shard's rows in
    /// primary-key order, the first <paramref name="offset"/> skipped and at most <paramref name="limit"/> kept.</summary>
    public static QueryResults Query(IReadOnlyList<QueryResults> answers, int? limit, int offset)
    {
        var first = answers[0];
        if (first.FieldsData is [{ FieldName: "count(*)" } count] && count.Scalars?.LongData is { Data.Count: 1 })
        {
            var total = first.Clone();
            total.FieldsData[0].Scalars.LongData.Data[0] = answers.Sum(a => a.FieldsData[0].Scalars.LongData.Data[0]);
            return total;
        }

        var rows = answers.Select(a => a.FieldsData.Count == 0 ? 0 : FieldDataReader.RowCount(a.FieldsData[0])).ToList();
        if (rows.Sum() == 0)
        {
            return answers.FirstOrDefault(a => a.FieldsData.Count > 0) ?? first;
        }

        var (batch, fields) = Concat([.. answers.Select((a, s) => ((IReadOnlyList<FieldData>)a.FieldsData, rows[s]))]);
        var keyName = answers.Select(a => a.PrimaryFieldName).FirstOrDefault(n => n.Length > 0) ?? fields.Fields[0].Name;
        var keyColumn = batch.Find(keyName) ?? batch.Columns[0];
        var order = Enumerable.Range(0, batch.RowCount).ToList();
        order.Sort((a, b) => CompareKeys(Key(keyColumn, a), Key(keyColumn, b)));
        var window = order.Skip(offset).Take(limit ?? int.MaxValue).ToList();
        var merged = new QueryResults
        {
            Status = new Protocol.Common.Status(),
            CollectionName = first.CollectionName,
            PrimaryFieldName = first.PrimaryFieldName,
            SessionTs = answers.Max(a => a.SessionTs),
        };
        merged.OutputFields.AddRange(first.OutputFields);
        merged.FieldsData.AddRange(Write(batch.Select(window), fields, answers.SelectMany(a => a.FieldsData)));
        return merged;
    }

    /// <summary>One insert or upsert result of the shards' results: shard <c>s</c> was sent the rows
    /// <paramref name="rowsOf"/>[s] of the request (in order) and answered their keys in that order; the merged keys are
    /// in the request's row order.</summary>
    public static MilvusMutation Write(IReadOnlyList<MilvusMutation> answers, IReadOnlyList<IReadOnlyList<int>> rowsOf, int rowCount)
    {
        var keys = new object[rowCount];
        for (var s = 0; s < answers.Count; s++)
        {
            var given = PrimaryKeys.FromIds(answers[s].IDs);
            for (var i = 0; i < rowsOf[s].Count && i < given.Count; i++)
            {
                keys[rowsOf[s][i]] = given[i];
            }
        }

        var merged = Counts(answers);
        merged.IDs = Ids(keys, answers.Select(a => a.IDs).FirstOrDefault(i => i is not null));
        merged.SuccIndex.AddRange(Enumerable.Range(0, rowCount).Select(i => (uint)i));
        return merged;
    }

    /// <summary>One delete result of the shards' results: counts summed, keys concatenated.</summary>
    public static MilvusMutation Delete(IReadOnlyList<MilvusMutation> answers)
    {
        var merged = Counts(answers);
        merged.IDs = Ids([.. answers.SelectMany(a => PrimaryKeys.FromIds(a.IDs))], answers.Select(a => a.IDs).FirstOrDefault(i => i is not null));
        return merged;
    }

    private static MilvusMutation Counts(IReadOnlyList<MilvusMutation> answers) => new()
    {
        Status = new Protocol.Common.Status(),
        Acknowledged = answers.All(a => a.Acknowledged),
        InsertCnt = answers.Sum(a => a.InsertCnt),
        UpsertCnt = answers.Sum(a => a.UpsertCnt),
        DeleteCnt = answers.Sum(a => a.DeleteCnt),
        Timestamp = answers.Max(a => a.Timestamp),
    };

    /// <summary>Keys as Milvus's <c>IDs</c>, of the kind <paramref name="like"/> has (Int64 unless it holds strings).</summary>
    private static IDs Ids(IReadOnlyList<object> keys, IDs? like)
    {
        if (like?.IdFieldCase == IDs.IdFieldOneofCase.StrId || keys.FirstOrDefault() is string)
        {
            var strings = new StringArray();
            strings.Data.AddRange(keys.Select(k => (string)k));
            return new IDs { StrId = strings };
        }

        var longs = new LongArray();
        longs.Data.AddRange(keys.Select(k => Convert.ToInt64(k, System.Globalization.CultureInfo.InvariantCulture)));
        return new IDs { IntId = longs };
    }

    /// <summary>Primary keys in the engine's order: Int64 numerically, VarChar by ordinal.</summary>
    internal static int CompareKeys(object a, object b) => a is string x && b is string y
        ? string.CompareOrdinal(x, y)
        : Convert.ToInt64(a, System.Globalization.CultureInfo.InvariantCulture).CompareTo(Convert.ToInt64(b, System.Globalization.CultureInfo.InvariantCulture));

    private static object Key(FieldColumn column, int row) => column.Strings is { } s ? s[row]! : column.Longs![row];

    /// <summary>The result columns of every part (its <c>fields_data</c> and row count) one after the other, as one batch.
    /// Parts without rows are left out (their columns may be empty or absent).</summary>
    internal static (ColumnBatch Batch, CollectionSchema Fields) Concat(IReadOnlyList<(IReadOnlyList<FieldData> Columns, int Rows)> parts)
    {
        var read = parts.Where(p => p.Rows > 0).Select(p => FieldDataReader.ReadResult(p.Columns, p.Rows)).ToList();
        if (read.Count == 0)
        {
            return parts.Count > 0 ? FieldDataReader.ReadResult(parts[0].Columns, 0) : (new ColumnBatch(0), new CollectionSchema { Fields = [] });
        }

        if (read.Count == 1)
        {
            return read[0];
        }

        var total = read.Sum(r => r.Batch.RowCount);
        var batch = new ColumnBatch(total);
        foreach (var column in read[0].Batch.Columns)
        {
            var pieces = read.Select(r => r.Batch.Find(column.Name) ?? throw new InvalidOperationException($"a shard's answer lacks column '{column.Name}'")).ToList();
            batch.Add(new FieldColumn
            {
                Name = column.Name,
                Longs = Join(pieces, c => c.Longs),
                Doubles = Join(pieces, c => c.Doubles),
                Bools = Join(pieces, c => c.Bools),
                Strings = Join(pieces, c => c.Strings),
                Json = Join(pieces, c => c.Json),
                Vectors = Join(pieces, c => c.Vectors),
                Sparse = Join(pieces, c => c.Sparse),
                Nulls = pieces.Any(c => c.Nulls is not null)
                    ? [.. read.SelectMany((r, i) => pieces[i].Nulls ?? new bool[r.Batch.RowCount])]
                    : null,
            });
        }

        if (read.Any(r => r.Batch.Dynamic is not null))
        {
            batch.Dynamic = [.. read.SelectMany(r => r.Batch.Dynamic ?? new JsonElement[r.Batch.RowCount])];
        }

        return (batch, read[0].Fields);
    }

    private static T[]? Join<T>(IReadOnlyList<FieldColumn> pieces, Func<FieldColumn, T[]?> values) =>
        values(pieces[0]) is null ? null : [.. pieces.SelectMany(p => values(p) ?? [])];

    /// <summary>The columns of <paramref name="batch"/> as Milvus's <c>FieldData</c>, each with the field id (and
    /// dynamic flag) the shards answered for its name (<paramref name="answered"/>).</summary>
    private static List<FieldData> Write(ColumnBatch batch, CollectionSchema fields, IEnumerable<FieldData> answered)
    {
        var ids = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var column in answered)
        {
            ids.TryAdd(column.FieldName, column.FieldId);
        }

        var written = FieldDataWriter.Write(fields, batch, NullForm.Dense);
        foreach (var column in written)
        {
            if (ids.TryGetValue(column.FieldName, out var id))
            {
                column.FieldId = id;
            }
        }

        return written;
    }
}
