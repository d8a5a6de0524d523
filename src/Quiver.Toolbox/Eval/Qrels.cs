using System.Globalization;

namespace Quiver.Toolbox.Eval;

/// <summary>The layout of a qrels file, detected from its first non-blank line.</summary>
internal enum QrelsFormat
{
    /// <summary>TREC: <c>qid iter docid rel</c>, four whitespace-separated fields per line; <c>iter</c> is ignored.</summary>
    Trec,

    /// <summary>BEIR: a header line <c>query-id\tcorpus-id\tscore</c>, then one tab-separated judgment per line.</summary>
    Beir,
}

/// <summary>The relevance judgments of one query: a grade per judged document. A grade &gt; 0 means relevant;
/// 0 and negative grades are judged non-relevant (they contribute nothing to any metric, as unjudged documents).</summary>
internal sealed class QueryJudgments
{
    private readonly Dictionary<string, int> _grades = new(StringComparer.Ordinal);
    private int[]? _idealGains;

    /// <summary>The query's id.</summary>
    public required string QueryId { get; init; }

    /// <summary>Judged documents and their grades.</summary>
    public IReadOnlyDictionary<string, int> Grades => _grades;

    /// <summary>R: the number of documents with a grade &gt; 0.</summary>
    public int RelevantCount { get; private set; }

    /// <summary>The positive grades, largest first: the gains of the ideal ranking (for IDCG).</summary>
    public ReadOnlySpan<int> IdealGains => _idealGains ??= [.. _grades.Values.Where(g => g > 0).OrderDescending()];

    /// <summary>The grade of <paramref name="docId"/>; 0 when it is not judged.</summary>
    public int GradeOf(string docId) => _grades.GetValueOrDefault(docId);

    /// <summary>Adds a judgment; false (and nothing changed) when the document already has one.</summary>
    public bool TryAdd(string docId, int grade)
    {
        if (!_grades.TryAdd(docId, grade))
        {
            return false;
        }

        _idealGains = null;
        RelevantCount += grade > 0 ? 1 : 0;
        return true;
    }
}

/// <summary>A qrels file: relevance judgments per query, in the order queries first appear in the file.</summary>
internal sealed class Qrels
{
    private readonly Dictionary<string, QueryJudgments> _byQuery;

    private Qrels(string path, QrelsFormat format, List<QueryJudgments> queries)
    {
        Path = path;
        Format = format;
        Queries = queries;
        _byQuery = queries.ToDictionary(q => q.QueryId, StringComparer.Ordinal);
    }

    /// <summary>The file read.</summary>
    public string Path { get; }

    /// <summary>The layout detected.</summary>
    public QrelsFormat Format { get; }

    /// <summary>Every judged query, in file order.</summary>
    public IReadOnlyList<QueryJudgments> Queries { get; }

    /// <summary>The judgments of <paramref name="queryId"/>, or null when the qrels do not mention it.</summary>
    public QueryJudgments? Find(string queryId) => _byQuery.GetValueOrDefault(queryId);

    /// <summary>Reads <paramref name="path"/>. The format is detected from the first non-blank line: a BEIR header
    /// (<c>query-id</c> as its first tab-separated field) means BEIR TSV, anything else TREC. Grades are integers.
    /// Blank lines are skipped. A malformed line (wrong field count, a grade that is not an integer, an empty id) or a
    /// second judgment of the same (query, document) with a different grade is an <see cref="ToolboxException"/> naming the
    /// file and line; an identical repeated judgment is accepted once.</summary>
    public static Qrels Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new ToolboxException(ToolboxErrorKind.NotFound, $"{path}: no such qrels file");
        }

        var queries = new List<QueryJudgments>();
        var byQuery = new Dictionary<string, QueryJudgments>(StringComparer.Ordinal);
        var firstLine = new Dictionary<(string, string), int>();
        QrelsFormat? format = null;
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            if (format is null)
            {
                var first = line.Split('\t')[0].Trim();
                if (first.Equals("query-id", StringComparison.OrdinalIgnoreCase))
                {
                    format = QrelsFormat.Beir;
                    continue;
                }

                format = QrelsFormat.Trec;
            }

            string qid, docId, grade;
            if (format == QrelsFormat.Beir)
            {
                var fields = line.Split('\t');
                if (fields.Length != 3)
                {
                    throw EvalQueries.LineError(path, lineNumber, $"expected 3 tab-separated fields 'query-id<TAB>corpus-id<TAB>score', got {fields.Length}");
                }

                (qid, docId, grade) = (fields[0].Trim(), fields[1].Trim(), fields[2].Trim());
            }
            else
            {
                var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length != 4)
                {
                    var hint = fields.Length == 3 ? " (a BEIR TSV file needs the header line 'query-id<TAB>corpus-id<TAB>score')" : "";
                    throw EvalQueries.LineError(path, lineNumber, $"expected 4 fields 'qid iter docid rel', got {fields.Length}{hint}");
                }

                (qid, docId, grade) = (fields[0], fields[2], fields[3]);
            }

            if (qid.Length == 0 || docId.Length == 0)
            {
                throw EvalQueries.LineError(path, lineNumber, "empty query or document id");
            }

            if (!int.TryParse(grade, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var rel))
            {
                throw EvalQueries.LineError(path, lineNumber, $"relevance '{grade}' is not an integer");
            }

            if (!byQuery.TryGetValue(qid, out var judgments))
            {
                judgments = new QueryJudgments { QueryId = qid };
                byQuery.Add(qid, judgments);
                queries.Add(judgments);
            }

            if (!judgments.TryAdd(docId, rel))
            {
                if (judgments.GradeOf(docId) != rel)
                {
                    throw EvalQueries.LineError(path, lineNumber, string.Create(CultureInfo.InvariantCulture,
                        $"query '{qid}' document '{docId}' judged {rel} here but {judgments.GradeOf(docId)} on line {firstLine[(qid, docId)]}"));
                }

                continue;
            }

            firstLine[(qid, docId)] = lineNumber;
        }

        if (queries.Count == 0)
        {
            throw new ToolboxException($"{path}: no judgments (the file is empty{(format == QrelsFormat.Beir ? " after its header" : "")})");
        }

        return new Qrels(path, format!.Value, queries);
    }
}
