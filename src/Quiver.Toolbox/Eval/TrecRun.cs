using System.Globalization;
using System.Text;

namespace Quiver.Toolbox.Eval;

/// <summary>One retrieved document of a run: its id and score (larger is better, as TREC runs are ordered).</summary>
internal readonly record struct RunEntry(string DocId, double Score);

/// <summary>A run: per query, the retrieved documents best first, in the order queries first appear.</summary>
internal sealed class TrecRun
{
    private readonly Dictionary<string, List<RunEntry>> _byQuery = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    /// <summary>The queries, in first-appearance order.</summary>
    public IReadOnlyList<string> QueryIds => _order;

    /// <summary>The ranked documents of <paramref name="queryId"/>, or null when the run has none for it.</summary>
    public IReadOnlyList<RunEntry>? Find(string queryId) => _byQuery.GetValueOrDefault(queryId);

    /// <summary>Sets the ranked list of <paramref name="queryId"/> (best first), replacing any earlier one.</summary>
    public void Set(string queryId, List<RunEntry> ranked)
    {
        if (!_byQuery.ContainsKey(queryId))
        {
            _order.Add(queryId);
        }

        _byQuery[queryId] = ranked;
    }

    /// <summary>Reads a TREC run file: lines <c>qid Q0 docid rank score tag</c> (six whitespace-separated fields; the
    /// second and the tag are ignored, the rank must be an integer and the score a number). As trec_eval does, each
    /// query's documents are ordered by score, largest first, ties broken by document id in descending ordinal order;
    /// the rank column is not used for ordering. Blank lines are skipped; a malformed line is an
    /// <see cref="ToolboxException"/> naming the file and line. Duplicate documents are kept here (see
    /// <see cref="RetrievalMetrics.Deduplicate"/>).</summary>
    public static TrecRun Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new ToolboxException(ToolboxErrorKind.NotFound, $"{path}: no such run file");
        }

        var run = new TrecRun();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length != 6)
            {
                throw EvalQueries.LineError(path, lineNumber, $"expected 6 fields 'qid Q0 docid rank score tag', got {fields.Length}");
            }

            if (!int.TryParse(fields[3], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
            {
                throw EvalQueries.LineError(path, lineNumber, $"rank '{fields[3]}' is not an integer");
            }

            if (!double.TryParse(fields[4], NumberStyles.Float, CultureInfo.InvariantCulture, out var score) || !double.IsFinite(score))
            {
                throw EvalQueries.LineError(path, lineNumber, $"score '{fields[4]}' is not a finite number");
            }

            if (!run._byQuery.TryGetValue(fields[0], out var list))
            {
                list = [];
                run.Set(fields[0], list);
            }

            list.Add(new RunEntry(fields[2], score));
        }

        foreach (var list in run._byQuery.Values)
        {
            list.Sort(static (a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : string.CompareOrdinal(b.DocId, a.DocId));
        }

        return run;
    }

    /// <summary>Writes the run as a TREC run file (<c>qid Q0 docid rank score tag</c>, ranks from 1, scores in
    /// round-trip form) through a temporary file renamed into place. A document repeated in a query's list is written
    /// once, at its best rank (trec_eval refuses repeats). Ids with whitespace cannot be written in this format and are
    /// an <see cref="ToolboxException"/>; nothing is written then.</summary>
    public void Write(string path, string tag)
    {
        var text = new StringBuilder();
        foreach (var qid in _order)
        {
            CheckToken(qid, "query id");
            var rank = 0;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in _byQuery[qid])
            {
                CheckToken(entry.DocId, "document id");
                if (!seen.Add(entry.DocId))
                {
                    continue;
                }

                rank++;
                text.Append(CultureInfo.InvariantCulture, $"{qid} Q0 {entry.DocId} {rank} {entry.Score:R} {tag}\n");
            }
        }

        var temporary = path + ".tmp";
        File.WriteAllText(temporary, text.ToString());
        File.Move(temporary, path, overwrite: true);
    }

    private static void CheckToken(string value, string what)
    {
        if (value.Length == 0 || value.Any(char.IsWhiteSpace))
        {
            throw new ToolboxException($"{what} '{value}' is empty or holds whitespace; a TREC run file cannot carry it");
        }
    }
}
