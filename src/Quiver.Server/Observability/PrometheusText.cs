using System.Globalization;
using System.Text;

namespace Quiver.Server.Observability;

/// <summary>
/// Writes the Prometheus text exposition format, version 0.0.4: per metric family one <c># HELP</c> and one
/// <c># TYPE</c> line, then its samples <c>name{label="value",...} number</c>. Label values escape backslash, double
/// quote and newline; help text escapes backslash and newline. Numbers use invariant culture with <c>+Inf</c>,
/// <c>-Inf</c> and <c>NaN</c> spelled as the format wants.
/// </summary>
internal sealed class PrometheusText
{
    /// <summary>The content type of the format.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly StringBuilder _text = new();

    /// <summary>Starts a family: <paramref name="type"/> is <c>counter</c>, <c>gauge</c> or <c>histogram</c>.</summary>
    public void Family(string name, string type, string help)
    {
        _text.Append("# HELP ").Append(name).Append(' ').Append(EscapeHelp(help)).Append('\n');
        _text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    /// <summary>One sample of the current family. <paramref name="labels"/> alternate names and values.</summary>
    public void Sample(string name, double value, params ReadOnlySpan<string> labels)
    {
        _text.Append(name);
        AppendLabels(labels, extraName: null, extraValue: null);
        _text.Append(' ').Append(Format(value)).Append('\n');
    }

    /// <summary>The <c>_bucket</c>, <c>_sum</c> and <c>_count</c> samples of a histogram family.</summary>
    public void Histogram(string name, HistogramSnapshot snapshot, params ReadOnlySpan<string> labels)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        for (var i = 0; i < snapshot.Cumulative.Length; i++)
        {
            var bound = i < snapshot.Bounds.Length ? Format(snapshot.Bounds[i]) : "+Inf";
            _text.Append(name).Append("_bucket");
            AppendLabels(labels, "le", bound);
            _text.Append(' ').Append(snapshot.Cumulative[i].ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        _text.Append(name).Append("_sum");
        AppendLabels(labels, null, null);
        _text.Append(' ').Append(Format(snapshot.Sum)).Append('\n');
        _text.Append(name).Append("_count");
        AppendLabels(labels, null, null);
        _text.Append(' ').Append(snapshot.Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }

    /// <inheritdoc/>
    public override string ToString() => _text.ToString();

    /// <summary>A number as the format spells it (shortest round-trip form).</summary>
    public static string Format(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    /// <summary>A label value escaped: <c>\</c>, <c>"</c> and newline.</summary>
    public static string EscapeLabel(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal);

    private static string EscapeHelp(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private void AppendLabels(ReadOnlySpan<string> labels, string? extraName, string? extraValue)
    {
        if (labels.Length % 2 != 0)
        {
            throw new ArgumentException($"labels come in name/value pairs; got {labels.Length} strings", nameof(labels));
        }
        if (labels.Length == 0 && extraName is null)
        {
            return;
        }
        _text.Append('{');
        var first = true;
        for (var i = 0; i < labels.Length; i += 2)
        {
            AppendLabel(ref first, labels[i], labels[i + 1]);
        }
        if (extraName is not null)
        {
            AppendLabel(ref first, extraName, extraValue!);
        }
        _text.Append('}');
    }

    private void AppendLabel(ref bool first, string name, string value)
    {
        if (!first)
        {
            _text.Append(',');
        }
        first = false;
        _text.Append(name).Append("=\"").Append(EscapeLabel(value)).Append('"');
    }
}
