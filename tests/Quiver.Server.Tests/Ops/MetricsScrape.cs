using System.Globalization;

namespace Quiver.Server.Tests.Ops;

/// <summary>A parsed <c>/metrics</c> answer: sample lines by their full name with labels, e.g.
/// <c>quiver_rpc_requests_total{method="GetVersion",transport="grpc",code="0"}</c>.</summary>
public sealed class MetricsScrape
{
    private MetricsScrape(string text, Dictionary<string, double> samples)
    {
        Text = text;
        Samples = samples;
    }

    public string Text { get; }

    public IReadOnlyDictionary<string, double> Samples { get; }

    public static async Task<MetricsScrape> GetAsync(HttpClient http)
    {
        using var response = await http.GetAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        return Parse(await response.Content.ReadAsStringAsync());
    }

    public static MetricsScrape Parse(string text)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#'))
            {
                Assert.Matches(@"^# (HELP|TYPE) [a-z_]+ .+$", line);
                continue;
            }
            var space = line.LastIndexOf(' ');
            var value = line[(space + 1)..] switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                var v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            Assert.True(samples.TryAdd(line[..space], value), $"duplicate sample {line}");
        }
        return new MetricsScrape(text, samples);
    }

    /// <summary>The value of a sample, or 0 when absent (a counter not yet incremented).</summary>
    public double Value(string sample) => Samples.GetValueOrDefault(sample);

    /// <summary>The <c>_bucket</c> values of a histogram series (labels given without <c>le</c>, e.g.
    /// <c>method="Search",transport="grpc"</c>, or empty), in bound order, checked: cumulative counts never decrease and
    /// the +Inf bucket equals <c>_count</c>.</summary>
    public IReadOnlyList<double> CheckedBuckets(string histogram, string labels)
    {
        var prefix = histogram + "_bucket{" + (labels.Length > 0 ? labels + "," : "") + "le=\"";
        var buckets = Samples.Where(s => s.Key.StartsWith(prefix, StringComparison.Ordinal))
            .Select(s => (Bound: s.Key[prefix.Length..^2] is "+Inf" ? double.PositiveInfinity : double.Parse(s.Key[prefix.Length..^2], CultureInfo.InvariantCulture), s.Value))
            .OrderBy(b => b.Bound).ToList();
        Assert.NotEmpty(buckets);
        Assert.Equal(double.PositiveInfinity, buckets[^1].Bound);
        for (var i = 1; i < buckets.Count; i++)
        {
            Assert.True(buckets[i].Value >= buckets[i - 1].Value, $"{histogram} bucket le={buckets[i].Bound} ({buckets[i].Value}) below the previous ({buckets[i - 1].Value})");
        }
        var suffix = labels.Length > 0 ? "{" + labels + "}" : "";
        Assert.Equal(buckets[^1].Value, Value(histogram + "_count" + suffix));
        return buckets.Select(b => b.Value).ToList();
    }
}
