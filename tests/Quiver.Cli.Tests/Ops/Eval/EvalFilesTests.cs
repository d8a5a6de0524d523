using Quiver.Testing;
using Quiver.Toolbox;
using Quiver.Toolbox.Eval;
using Quiver.Toolbox.Vectors;

namespace Quiver.Cli.Tests.Ops.Eval;

public sealed class EvalFilesTests : IDisposable
{
    private readonly TempFolder _dir = new("quiver-eval-files");

    public void Dispose() => _dir.Dispose();

    private string Write(string name, string text)
    {
        var path = _dir.Sub(name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Qrels_Trec_ReadsGradesAndKeepsQueryOrder()
    {
        var qrels = Qrels.Read(Write("q.txt", "q2 0 d1 1\n\nq1 0 d7 2\nq1\t0\td8 0\nq2 0 d3 -1\n"));

        Assert.Equal(QrelsFormat.Trec, qrels.Format);
        Assert.Equal(["q2", "q1"], qrels.Queries.Select(q => q.QueryId));
        var q1 = qrels.Find("q1")!;
        Assert.Equal(2, q1.GradeOf("d7"));
        Assert.Equal(0, q1.GradeOf("d8"));
        Assert.Equal(0, q1.GradeOf("unjudged"));
        Assert.Equal(1, q1.RelevantCount);
        Assert.Equal(1, qrels.Find("q2")!.RelevantCount);
        Assert.Null(qrels.Find("q3"));
    }

    [Fact]
    public void Qrels_Beir_DetectedByHeader()
    {
        var qrels = Qrels.Read(Write("q.tsv", "query-id\tcorpus-id\tscore\nq1\tdoc 1\t1\nq1\tdoc2\t2\n"));

        Assert.Equal(QrelsFormat.Beir, qrels.Format);
        var q1 = Assert.Single(qrels.Queries);
        Assert.Equal(1, q1.GradeOf("doc 1"));
        Assert.Equal([2, 1], q1.IdealGains.ToArray());
    }

    [Theory]
    [InlineData("q1 0 d1 1\nq1 d2 1\n", "line 2: expected 4 fields 'qid iter docid rel', got 3 (a BEIR TSV file needs the header")]
    [InlineData("q1 0 d1 1\nq1 0 d2 yes\n", "line 2: relevance 'yes' is not an integer")]
    [InlineData("q1 0 d1 1\nq1 0 d2 1.5\n", "line 2: relevance '1.5' is not an integer")]
    [InlineData("q1 0 d1 1\n\nq1 0 d1 2\n", "line 3: query 'q1' document 'd1' judged 2 here but 1 on line 1")]
    [InlineData("query-id\tcorpus-id\tscore\nq1\td1\n", "line 2: expected 3 tab-separated fields")]
    [InlineData("query-id\tcorpus-id\tscore\n\td1\t1\n", "line 2: empty query or document id")]
    public void Qrels_MalformedLine_NamesFileAndLine(string text, string expected)
    {
        var path = Write("bad.txt", text);
        var e = Assert.Throws<ToolboxException>(() => Qrels.Read(path));
        Assert.StartsWith(path + " ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Qrels_RepeatedIdenticalJudgment_IsAcceptedOnce()
    {
        var q = Assert.Single(Qrels.Read(Write("q.txt", "q1 0 d1 1\nq1 0 d1 1\n")).Queries);
        Assert.Equal(1, q.RelevantCount);
    }

    [Fact]
    public void Qrels_HeaderOnly_IsAnError()
    {
        var e = Assert.Throws<ToolboxException>(() => Qrels.Read(Write("q.tsv", "query-id\tcorpus-id\tscore\n")));
        Assert.Contains("no judgments", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_OrdersByScoreThenDocIdDescending_IgnoringRank()
    {
        // As trec_eval: score decides (the rank column is not used), ties go to the larger document id (ordinal).
        var run = TrecRun.Read(Write("run.txt",
            "q1 Q0 a 1 0.5 t\nq1 Q0 b 2 0.9 t\nq1 Q0 c 3 0.5 t\nq0 Q0 x 1 -2 t\nq1 Q0 B 4 0.5 t\n"));

        Assert.Equal(["q1", "q0"], run.QueryIds);
        Assert.Equal(["b", "c", "a", "B"], run.Find("q1")!.Select(e => e.DocId));
        Assert.Null(run.Find("q2"));
    }

    [Theory]
    [InlineData("q1 Q0 a 1 0.5\n", "line 1: expected 6 fields")]
    [InlineData("q1 Q0 a 1 0.5 t\nq1 Q0 b one 0.4 t\n", "line 2: rank 'one' is not an integer")]
    [InlineData("q1 Q0 a 1 high t\n", "line 1: score 'high' is not a finite number")]
    [InlineData("q1 Q0 a 1 NaN t\n", "line 1: score 'NaN' is not a finite number")]
    public void Run_MalformedLine_NamesFileAndLine(string text, string expected)
    {
        var path = Write("bad.run", text);
        var e = Assert.Throws<ToolboxException>(() => TrecRun.Read(path));
        Assert.StartsWith($"{path} {expected}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_WriteThenRead_RoundTrips()
    {
        var run = new TrecRun();
        run.Set("q1", [new RunEntry("d2", 0.75), new RunEntry("d1", -1.25e-7)]);
        run.Set("7", [new RunEntry("x", 3)]);
        var path = _dir.Sub("out.run");
        run.Write(path, "quiver");

        Assert.Equal("q1 Q0 d2 1 0.75 quiver\nq1 Q0 d1 2 -1.25E-07 quiver\n7 Q0 x 1 3 quiver\n", File.ReadAllText(path));
        var back = TrecRun.Read(path);
        Assert.Equal(["q1", "7"], back.QueryIds);
        Assert.Equal(run.Find("q1"), back.Find("q1"));
    }

    [Fact]
    public void Run_WriteRepeatedDocument_KeepsItsBestRank()
    {
        var run = new TrecRun();
        run.Set("q", [new RunEntry("a", 3), new RunEntry("b", 2), new RunEntry("a", 1), new RunEntry("c", 0)]);
        var path = _dir.Sub("out.run");
        run.Write(path, "t");
        Assert.Equal("q Q0 a 1 3 t\nq Q0 b 2 2 t\nq Q0 c 3 0 t\n", File.ReadAllText(path));
    }

    [Fact]
    public void Run_WriteIdWithSpace_RefusesAndWritesNothing()
    {
        var run = new TrecRun();
        run.Set("q 1", [new RunEntry("d", 1)]);
        var path = _dir.Sub("out.run");
        var e = Assert.Throws<ToolboxException>(() => run.Write(path, "t"));
        Assert.Contains("'q 1'", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Queries_JsonLines_ReadsIdsAndVectors()
    {
        var queries = EvalQueries.Read(Write("q.jsonl", "{\"id\": \"a\", \"vector\": [1, 2.5]}\n\n{\"id\": 7, \"vector\": [0, -1], \"text\": \"x\"}\n"));
        Assert.Equal(["a", "7"], queries.Select(q => q.Id));
        Assert.Equal([1f, 2.5f], queries[0].Vector);
    }

    [Theory]
    [InlineData("{\"id\": \"a\", \"vector\": [1, 2]}\n{\"id\": \"b\", \"vector\": [1]}\n", "line 2: the vector has 1 values, the first query's has 2")]
    [InlineData("{\"id\": \"a\", \"vector\": [1, 2]}\n{\"id\": \"a\", \"vector\": [1, 3]}\n", "line 2: query id 'a' already appears on line 1")]
    [InlineData("{\"id\": \"a\", \"vector\": [1, 2]\n", "line 1: not valid JSON")]
    [InlineData("{\"vector\": [1, 2]}\n", "line 1: no \"id\"")]
    [InlineData("{\"id\": 1.5, \"vector\": [1, 2]}\n", "line 1: \"id\" must be a string or an integer")]
    [InlineData("{\"id\": \"a\", \"vector\": [1, \"2\"]}\n", "line 1: \"vector\"[1] is \"2\", not a finite number")]
    [InlineData("{\"id\": \"a\", \"vector\": 3}\n", "line 1: \"vector\" must be an array of numbers")]
    public void Queries_MalformedLine_NamesFileAndLine(string text, string expected)
    {
        var path = Write("bad.jsonl", text);
        var e = Assert.Throws<ToolboxException>(() => EvalQueries.Read(path));
        Assert.StartsWith($"{path} {expected}", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("q.npy")]
    [InlineData("q.fvecs")]
    public void Queries_Matrix_IdsAreRowIndexes(string name)
    {
        var path = _dir.Sub(name);
        VectorFile.Write<float>(path, [1, 2, 3, 4, 5, 6], 2);
        var queries = EvalQueries.Read(path);
        Assert.Equal(["0", "1", "2"], queries.Select(q => q.Id));
        Assert.Equal([5f, 6f], queries[2].Vector);
    }

    [Fact]
    public void Queries_TruncatedNpy_IsAnErrorNamingTheFile()
    {
        var path = _dir.Sub("q.npy");
        VectorFile.Write<float>(path, [1, 2, 3, 4], 2);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^3]);
        var e = Assert.Throws<ToolboxException>(() => EvalQueries.Read(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }
}
