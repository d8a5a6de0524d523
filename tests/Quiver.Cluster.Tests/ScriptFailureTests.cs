namespace Quiver.Cluster.Tests;

/// <summary>A failed compat script's message (<see cref="ScriptFailure"/>) leads and ends with the script's failure line,
/// so a CI log that keeps only the head or only the tail of a long message still says why the script failed.</summary>
public sealed class ScriptFailureTests
{
    private const string Failed = "cluster-replica-loads: FAILED: Error: after racing loads [3,2,3]: search 4 query 0: hit 3 differs";

    [Fact]
    public void TheFailureLine_LeadsAndEndsTheMessage_AroundTheNodesOutput()
    {
        var stderr = $"(node:123) Warning: something the SDK printed\n{Failed}\n    at check (/compat/common.js:32:19)\n    at run (/compat/cluster-replica-loads.js:84:5)\n";
        var nodes = Enumerable.Range(0, 3).Select(n => string.Join('\n', Enumerable.Range(0, 5000).Select(i => $"info: node {n} line {i}"))).ToArray();

        var message = ScriptFailure.Message("cluster-replica-loads.js", 1, stderr, "", nodes);

        var lines = message.Split('\n');
        Assert.Equal($"cluster-replica-loads.js failed (exit 1): {Failed}", lines[0]);
        Assert.Equal($"--- cluster-replica-loads.js failed: {Failed}", lines[^1]);
        // Nothing is left out between them: standard error whole, then every node's output.
        Assert.Contains(stderr, message, StringComparison.Ordinal);
        Assert.All(nodes, n => Assert.Contains(n, message, StringComparison.Ordinal));
    }

    [Fact]
    public void WithoutAFailedLine_StandardErrorsLastLinesStandForIt()
    {
        var stderr = "line 1\nline 2\n\nline 3\nline 4\nline 5\nnode:internal/process: unhandled rejection\n";

        Assert.Equal("line 2 | line 3 | line 4 | line 5 | node:internal/process: unhandled rejection", ScriptFailure.Line(stderr));
        Assert.Equal("(nothing on standard error)", ScriptFailure.Line(""));
        Assert.StartsWith("x.js failed (exit 134): line 2 | line 3", ScriptFailure.Message("x.js", 134, stderr, "out", ["a", "b", "c"]), StringComparison.Ordinal);
    }
}
