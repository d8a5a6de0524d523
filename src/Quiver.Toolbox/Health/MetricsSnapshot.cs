using System.Globalization;

namespace Quiver.Toolbox.Health;

/// <summary>One sample of a Prometheus text scrape: metric name, labels and value.</summary>
/// <param name="Name">Metric name, e.g. <c>quiver_rpc_duration_seconds_bucket</c>.</param>
/// <param name="Labels">Label names to values (unescaped).</param>
/// <param name="Value">The value (<c>+Inf</c>, <c>-Inf</c>, <c>NaN</c> as doubles).</param>
internal sealed record MetricSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    /// <summary>A label's value, or "" when absent.</summary>
    public string Label(string name) => Labels.TryGetValue(name, out var v) ? v : "";
}

/// <summary>
/// A parsed <c>GET /metrics</c> answer (Prometheus text exposition format 0.0.4, as the server writes it: comment lines,
/// then <c>name{label="value",...} number</c> lines without timestamps). Lines it cannot read are an error naming the
/// line, so a proxy's HTML page is not taken for metrics.
/// </summary>
internal sealed class MetricsSnapshot
{
    private readonly List<MetricSample> _samples;

    private MetricsSnapshot(List<MetricSample> samples) => _samples = samples;

    /// <summary>Every sample in scrape order.</summary>
    public IReadOnlyList<MetricSample> Samples => _samples;

    /// <summary>Parses <paramref name="text"/>. Throws <see cref="FormatException"/> naming the first bad line.</summary>
    public static MetricsSnapshot Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var samples = new List<MetricSample>();
        var number = 0;
        foreach (var raw in text.Split('\n'))
        {
            number++;
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            samples.Add(ParseLine(line, number));
        }
        return new MetricsSnapshot(samples);
    }

    /// <summary>Samples named <paramref name="name"/> whose labels include every pair of <paramref name="labels"/>
    /// (name, value alternating).</summary>
    public IEnumerable<MetricSample> Find(string name, params string[] labels) =>
        _samples.Where(s => s.Name == name && Matches(s, labels));

    /// <summary>The sum of the samples <see cref="Find"/> returns; 0 when there are none.</summary>
    public double Sum(string name, params string[] labels) => Find(name, labels).Sum(s => s.Value);

    /// <summary>The value of the one sample <see cref="Find"/> returns, or null when there is none.</summary>
    public double? Value(string name, params string[] labels) => Find(name, labels).Select(s => (double?)s.Value).FirstOrDefault();

    /// <summary>A histogram's buckets (labels given without <c>le</c>), added up across every series that matches
    /// (e.g. both transports of one method): ascending upper bounds, the last +Inf, with cumulative counts.</summary>
    public CumulativeBuckets Histogram(string name, params string[] labels)
    {
        var byBound = new SortedDictionary<double, double>();
        foreach (var s in Find(name + "_bucket", labels))
        {
            var le = s.Label("le");
            var bound = le == "+Inf" ? double.PositiveInfinity : double.Parse(le, NumberStyles.Float, CultureInfo.InvariantCulture);
            byBound[bound] = byBound.GetValueOrDefault(bound) + s.Value;
        }
        return new CumulativeBuckets([.. byBound.Keys], [.. byBound.Values]);
    }

    private static bool Matches(MetricSample s, string[] labels)
    {
        for (var i = 0; i + 1 < labels.Length; i += 2)
        {
            if (s.Label(labels[i]) != labels[i + 1])
            {
                return false;
            }
        }
        return true;
    }

    private static MetricSample ParseLine(string line, int number)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        var i = 0;
        while (i < line.Length && line[i] != '{' && line[i] != ' ')
        {
            i++;
        }
        var name = line[..i];
        if (name.Length == 0)
        {
            throw Bad(number, line, "no metric name");
        }
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (i < line.Length && line[i] != '}')
            {
                var eq = line.IndexOf('=', i);
                if (eq < 0 || eq + 1 >= line.Length || line[eq + 1] != '"')
                {
                    throw Bad(number, line, "a label without =\"value\"");
                }
                var labelName = line[i..eq].Trim();
                var value = new System.Text.StringBuilder();
                var j = eq + 2;
                for (; j < line.Length && line[j] != '"'; j++)
                {
                    if (line[j] == '\\' && j + 1 < line.Length)
                    {
                        j++;
                        value.Append(line[j] == 'n' ? '\n' : line[j]);
                    }
                    else
                    {
                        value.Append(line[j]);
                    }
                }
                if (j >= line.Length)
                {
                    throw Bad(number, line, "an unterminated label value");
                }
                labels[labelName] = value.ToString();
                i = j + 1;
                if (i < line.Length && line[i] == ',')
                {
                    i++;
                }
            }
            i++;
        }
        var rest = line[Math.Min(i, line.Length)..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (rest.Length == 0)
        {
            throw Bad(number, line, "no value");
        }
        var sample = rest[0] switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            var v when double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
            var v => throw Bad(number, line, $"value '{v}' is not a number"),
        };
        return new MetricSample(name, labels, sample);
    }

    private static FormatException Bad(int number, string line, string why) =>
        new(string.Create(CultureInfo.InvariantCulture, $"/metrics line {number}: {why}: {(line.Length > 120 ? line[..120] + "..." : line)}"));
}
