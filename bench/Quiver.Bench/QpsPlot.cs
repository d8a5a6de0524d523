using System.Globalization;
using System.Text;

namespace Quiver.Bench;

/// <summary>A small SVG line plot of QPS (log scale) against rows (log scale), one line per transport and dimension,
/// written by the harness itself so that no plotting package is needed.</summary>
internal static class QpsPlot
{
    private const int Width = 720;
    private const int Height = 420;
    private const int Left = 70;
    private const int Right = 170;
    private const int Top = 40;
    private const int Bottom = 50;
    private static readonly string[] Colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

    public static string Svg(IReadOnlyList<ScaleBench.Measurement> points, string title)
    {
        var c = CultureInfo.InvariantCulture;
        var svg = new StringBuilder();
        svg.AppendLine(c, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{Width}" height="{Height}" font-family="sans-serif" font-size="12">""");
        svg.AppendLine(c, $"""<rect width="{Width}" height="{Height}" fill="white"/>""");
        svg.AppendLine(c, $"""<text x="{Width / 2}" y="20" text-anchor="middle" font-size="14">{Escape(title)}</text>""");
        var usable = points.Where(p => p.Qps > 0 && p.Rows > 0).ToList();
        if (usable.Count == 0)
        {
            svg.AppendLine("</svg>");
            return svg.ToString();
        }
        var (xMin, xMax) = Decades(usable.Min(p => (double)p.Rows), usable.Max(p => (double)p.Rows));
        var (yMin, yMax) = Decades(usable.Min(p => p.Qps), usable.Max(p => p.Qps));
        double X(double rows) => Left + ((Math.Log10(rows) - xMin) / (xMax - xMin) * (Width - Left - Right));
        double Y(double qps) => Height - Bottom - ((Math.Log10(qps) - yMin) / (yMax - yMin) * (Height - Top - Bottom));
        for (var d = xMin; d <= xMax; d++)
        {
            svg.AppendLine(c, $"""<line x1="{X(Math.Pow(10, d)):F1}" y1="{Top}" x2="{X(Math.Pow(10, d)):F1}" y2="{Height - Bottom}" stroke="#ddd"/>""");
            svg.AppendLine(c, $"""<text x="{X(Math.Pow(10, d)):F1}" y="{Height - Bottom + 16}" text-anchor="middle">{Math.Pow(10, d):0.#E+0}</text>""");
        }
        for (var d = yMin; d <= yMax; d++)
        {
            svg.AppendLine(c, $"""<line x1="{Left}" y1="{Y(Math.Pow(10, d)):F1}" x2="{Width - Right}" y2="{Y(Math.Pow(10, d)):F1}" stroke="#ddd"/>""");
            svg.AppendLine(c, $"""<text x="{Left - 6}" y="{Y(Math.Pow(10, d)) + 4:F1}" text-anchor="end">{Math.Pow(10, d):0}</text>""");
        }
        svg.AppendLine(c, $"""<text x="{(Left + Width - Right) / 2}" y="{Height - 12}" text-anchor="middle">rows</text>""");
        svg.AppendLine(c, $"""<text x="16" y="{(Top + Height - Bottom) / 2}" text-anchor="middle" transform="rotate(-90 16 {(Top + Height - Bottom) / 2})">queries per second</text>""");
        var series = usable.GroupBy(p => (p.Transport, p.Params, p.Dim)).OrderBy(g => g.Key.Dim).ThenBy(g => g.Key.Transport, StringComparer.Ordinal)
            .ThenBy(g => g.Key.Params, StringComparer.Ordinal).ToList();
        for (var i = 0; i < series.Count; i++)
        {
            var color = Colors[i % Colors.Length];
            var line = series[i].OrderBy(p => p.Rows).ToList();
            var path = string.Join(" ", line.Select(p => string.Create(c, $"{X(p.Rows):F1},{Y(p.Qps):F1}")));
            svg.AppendLine(c, $"""<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>""");
            foreach (var p in line)
            {
                svg.AppendLine(c, $"""<circle cx="{X(p.Rows):F1}" cy="{Y(p.Qps):F1}" r="3" fill="{color}"><title>{Escape(p.Set)} {p.Transport} {Escape(p.Params)}: {p.Qps:F0} QPS, recall {p.Recall:F3}</title></circle>""");
            }
            var legendY = Top + 10 + (i * 18);
            svg.AppendLine(c, $"""<line x1="{Width - Right + 12}" y1="{legendY}" x2="{Width - Right + 32}" y2="{legendY}" stroke="{color}" stroke-width="2"/>""");
            svg.AppendLine(c, $"""<text x="{Width - Right + 38}" y="{legendY + 4}">{Escape(series[i].Key.Transport)} {Escape(series[i].Key.Params)} {series[i].Key.Dim}-d</text>""");
        }
        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    /// <summary>Whole powers of ten around [min, max] (at least one decade wide).</summary>
    private static (double Low, double High) Decades(double min, double max)
    {
        var low = Math.Floor(Math.Log10(min));
        var high = Math.Ceiling(Math.Log10(max));
        return (low, Math.Max(high, low + 1));
    }

    private static string Escape(string text) => text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal);
}
