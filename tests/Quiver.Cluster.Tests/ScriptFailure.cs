namespace Quiver.Cluster.Tests;

/// <summary>The message of a compat script that exited non-zero (<see cref="ClusterSdkTests"/>). The nodes' output runs
/// to thousands of lines, and a CI log keeps only part of a failure's message (the project's CI cut session 32's between
/// the nodes' lines and the stack trace), so the script's own failure line (the <c>NAME: FAILED: ...</c> line that
/// tests/compat/common.js's <c>main</c> writes to standard error, else standard error's last lines) comes first and
/// again last, around the script's output and each node's.</summary>
internal static class ScriptFailure
{
    /// <summary>How many of standard error's last lines stand for the failure when no <c>FAILED:</c> line is there (a
    /// crash of node itself, an unhandled rejection).</summary>
    private const int TailLines = 5;

    /// <summary>The failure line of <paramref name="stderr"/>: its last line containing <c>: FAILED: </c>, else its last
    /// <see cref="TailLines"/> non-empty lines; "(nothing on standard error)" when it is empty.</summary>
    public static string Line(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.LastOrDefault(l => l.Contains(": FAILED: ", StringComparison.Ordinal)) is { } failed)
        {
            return failed;
        }

        return lines.Length == 0 ? "(nothing on standard error)" : string.Join(" | ", lines[^Math.Min(TailLines, lines.Length)..]);
    }

    /// <summary>The whole message: the failure line, the exit code, standard error, standard output, each node's output
    /// (<paramref name="nodes"/>), and the failure line once more.</summary>
    public static string Message(string script, int exitCode, string stderr, string stdout, IReadOnlyList<string> nodes)
    {
        var line = Line(stderr);
        var text = new System.Text.StringBuilder();
        text.Append(script).Append(" failed (exit ").Append(exitCode).Append("): ").Append(line).Append('\n');
        text.Append("--- standard error:\n").Append(stderr).Append('\n');
        text.Append("--- standard output:\n").Append(stdout).Append('\n');
        for (var i = 0; i < nodes.Count; i++)
        {
            text.Append("--- node ").Append(i).Append(":\n").Append(nodes[i]).Append('\n');
        }

        text.Append("--- ").Append(script).Append(" failed: ").Append(line);
        return text.ToString();
    }
}
