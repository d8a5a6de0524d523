using System.Text.Json;

namespace Quiver.Toolbox.Prep;

/// <summary>One input line or row that <c>prep</c> did not write (or wrote with a warning).</summary>
/// <param name="Number">Line (JSONL) or row (<c>.npy</c>, <c>.fvecs</c>) number, 1-based.</param>
/// <param name="Reason">What is wrong, naming the field and value.</param>
public sealed record PrepIssue(long Number, string Reason);

/// <summary>Summary of a set of numbers: count, minimum, median, maximum, mean.</summary>
/// <param name="Count">How many numbers.</param>
/// <param name="Min">Smallest (0 when none).</param>
/// <param name="Median">Middle value (lower middle for an even count; 0 when none).</param>
/// <param name="Max">Largest (0 when none).</param>
/// <param name="Mean">Average (0 when none).</param>
public sealed record Distribution(long Count, double Min, double Median, double Max, double Mean);

/// <summary>Keeps the first <see cref="Limit"/> issues (so a file of bad lines cannot fill memory) and counts all.</summary>
internal sealed class IssueLog
{
    /// <summary>Issues kept in full; the rest are only counted.</summary>
    public const int Limit = 1000;

    private readonly List<PrepIssue> _kept = [];

    /// <summary>Issues in all.</summary>
    public long Count { get; private set; }

    /// <summary>The first <see cref="Limit"/> issues, in input order.</summary>
    public IReadOnlyList<PrepIssue> Kept => _kept;

    /// <summary>Records an issue.</summary>
    public void Add(long number, string reason)
    {
        Count++;
        if (_kept.Count < Limit)
        {
            _kept.Add(new PrepIssue(number, reason));
        }
    }
}

/// <summary>An exact distribution of non-negative integers (chunk lengths, chunks per document) held as counts per
/// distinct value, so memory grows with the number of distinct values, not of samples.</summary>
internal sealed class IntegerDistribution
{
    private readonly SortedDictionary<long, long> _counts = [];
    private long _total;
    private double _sum;

    /// <summary>Adds one sample.</summary>
    public void Add(long value)
    {
        _counts[value] = _counts.GetValueOrDefault(value) + 1;
        _total++;
        _sum += value;
    }

    /// <summary>The summary.</summary>
    public Distribution Summarize()
    {
        if (_total == 0)
        {
            return new Distribution(0, 0, 0, 0, 0);
        }

        var middle = (_total - 1) / 2;
        long seen = 0;
        long median = 0;
        foreach (var (value, count) in _counts)
        {
            seen += count;
            if (seen > middle)
            {
                median = value;
                break;
            }
        }

        return new Distribution(_total, _counts.Keys.First(), median, _counts.Keys.Last(), _sum / _total);
    }
}

/// <summary>Files the <c>prep</c> calls write besides their output.</summary>
internal static class PrepFiles
{
    /// <summary>Writes <paramref name="report"/> as JSON to <paramref name="path"/> (when given), through a temporary
    /// file renamed into place.</summary>
    public static void WriteReportFile<T>(string? path, T report)
    {
        if (path is null)
        {
            return;
        }

        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(report, ToolboxJson.Options) + "\n");
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Deletes <paramref name="path"/> if it exists, ignoring failures (clean-up after a failed run).</summary>
    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
