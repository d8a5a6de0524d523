using System.Globalization;
using System.Text.Json;

namespace Quiver.Toolbox.Health;

/// <summary>Which way a check's value goes bad: above its thresholds (latency, errors, memory) or below (recall, QPS).</summary>
public enum ThresholdDirection
{
    /// <summary>Bad when the value is above the threshold.</summary>
    Max,

    /// <summary>Bad when the value is below the threshold.</summary>
    Min,
}

/// <summary>One check's thresholds: <paramref name="Warn"/> and <paramref name="Fail"/>, either absent.</summary>
/// <param name="Direction">Max: bad above; Min: bad below.</param>
/// <param name="Warn">Beyond this the check warns; null: never.</param>
/// <param name="Fail">Beyond this the check fails (exit 2); null: never.</param>
public sealed record Threshold(ThresholdDirection Direction, double? Warn, double? Fail)
{
    /// <summary>ok, warn or fail for <paramref name="value"/>; info when no threshold is set.</summary>
    public string Judge(double value)
    {
        if (Warn is null && Fail is null)
        {
            return HealthStatus.Info;
        }
        return Beyond(value, Fail) ? HealthStatus.Fail : Beyond(value, Warn) ? HealthStatus.Warn : HealthStatus.Ok;
    }

    private bool Beyond(double value, double? limit) =>
        limit is { } l && (Direction == ThresholdDirection.Max ? value > l : value < l);
}

/// <summary>The statuses a check can have.</summary>
internal static class HealthStatus
{
    /// <summary>Within its thresholds.</summary>
    public const string Ok = "ok";

    /// <summary>Beyond its warn threshold.</summary>
    public const string Warn = "warn";

    /// <summary>Beyond its fail threshold: the report is unhealthy (exit 2).</summary>
    public const string Fail = "fail";

    /// <summary>Measured, but no threshold applies, or nothing to measure (no traffic, monitor off).</summary>
    public const string Info = "info";
}

/// <summary>
/// The thresholds <c>quiver health</c> judges by. Defaults follow published vector-search monitoring guidance where it
/// gives a number, and are ours where it does not (docs/operations-health.md lists the source of each); override them
/// with a JSON file (<c>--thresholds FILE</c>: <c>{"search.p99_ms": {"warn": 80, "fail": 250}}</c>) and
/// <c>--threshold KEY.warn=V</c> / <c>KEY.fail=V</c> (repeatable, applied after the file; <c>none</c> removes one).
/// </summary>
public sealed class HealthThresholds
{
    /// <summary>Searches per second over the window (min); no default: traffic depends on the application.</summary>
    public const string SearchQps = "search.qps";

    /// <summary>Median search latency in ms (max).</summary>
    public const string SearchP50 = "search.p50_ms";

    /// <summary>95th percentile search latency in ms (max).</summary>
    public const string SearchP95 = "search.p95_ms";

    /// <summary>99th percentile search latency in ms (max).</summary>
    public const string SearchP99 = "search.p99_ms";

    /// <summary>Failed calls over all calls in the window, a fraction (max).</summary>
    public const string ErrorRate = "error_rate";

    /// <summary>Process working set over the memory available to it, a fraction (max).</summary>
    public const string Memory = "memory.fraction";

    /// <summary>Live recall estimate per collection (min).</summary>
    public const string Recall = "recall";

    /// <summary>99th percentile latency of the probe searches per collection, in ms (max).</summary>
    public const string ProbeP99 = "probe.p99_ms";

    /// <summary>Mean recall@k of the probe searches against exact search, per collection (min).</summary>
    public const string ProbeRecall = "probe.recall";

    /// <summary>Indexes whose last build failed, per collection (max).</summary>
    public const string IndexFailed = "index.failed";

    /// <summary>Rows of sealed segments not yet indexed, per collection (max).</summary>
    public const string IndexPending = "index.pending_rows";

    private readonly Dictionary<string, Threshold> _values;

    private HealthThresholds(Dictionary<string, Threshold> values) => _values = values;

    /// <summary>The defaults (see docs/operations-health.md for where each comes from).</summary>
    public static HealthThresholds Defaults() => new(new Dictionary<string, Threshold>(StringComparer.Ordinal)
    {
        [SearchQps] = new(ThresholdDirection.Min, null, null),
        [SearchP50] = new(ThresholdDirection.Max, 50, null),
        [SearchP95] = new(ThresholdDirection.Max, 100, null),
        [SearchP99] = new(ThresholdDirection.Max, 100, 500),
        [ErrorRate] = new(ThresholdDirection.Max, 0.001, 0.05),
        [Memory] = new(ThresholdDirection.Max, 0.80, 0.90),
        [Recall] = new(ThresholdDirection.Min, 0.95, 0.90),
        [ProbeP99] = new(ThresholdDirection.Max, 100, 500),
        [ProbeRecall] = new(ThresholdDirection.Min, 0.95, 0.90),
        [IndexFailed] = new(ThresholdDirection.Max, null, 0),
        [IndexPending] = new(ThresholdDirection.Max, 0, null),
    });

    /// <summary>The check names, in report order.</summary>
    public IEnumerable<string> Keys => _values.Keys;

    /// <summary>The thresholds of <paramref name="check"/>.</summary>
    public Threshold this[string check] => _values[check];

    /// <summary>The defaults, then <paramref name="file"/> (when given), then <paramref name="overrides"/>
    /// (<c>KEY.warn=V</c>, <c>KEY.fail=V</c>). Throws <see cref="ToolboxException"/> naming the file or override, the key
    /// and the value that cannot be used.</summary>
    public static HealthThresholds Load(string? file, IEnumerable<string> overrides)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        var thresholds = Defaults();
        if (file is not null)
        {
            thresholds.ApplyFile(file);
        }
        foreach (var o in overrides)
        {
            var eq = o.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new ToolboxException(ToolboxErrorKind.InvalidOptions, $"HealthThresholds.Load '{o}': expected KEY.warn=VALUE or KEY.fail=VALUE (e.g. search.p99_ms.warn=80)");
            }
            thresholds.Set($"HealthThresholds.Load '{o}'", o[..eq].Trim(), o[(eq + 1)..].Trim());
        }
        return thresholds;
    }

    private void ApplyFile(string file)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllText(file));
        }
        catch (JsonException e)
        {
            throw new ToolboxException($"thresholds file '{file}' is not valid JSON: {e.Message}", e);
        }
        catch (FileNotFoundException e)
        {
            throw new ToolboxException(ToolboxErrorKind.NotFound, $"thresholds file '{file}' does not exist", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ToolboxException($"thresholds file '{file}': expected a JSON object of checks, e.g. {{\"search.p99_ms\": {{\"warn\": 80}}}}");
            }
            foreach (var check in doc.RootElement.EnumerateObject())
            {
                if (check.Value.ValueKind != JsonValueKind.Object)
                {
                    throw new ToolboxException($"thresholds file '{file}': '{check.Name}' must be an object with 'warn' and/or 'fail', got {check.Value.ValueKind}");
                }
                foreach (var level in check.Value.EnumerateObject())
                {
                    var text = level.Value.ValueKind switch
                    {
                        JsonValueKind.Number => level.Value.GetRawText(),
                        JsonValueKind.Null => "none",
                        JsonValueKind.String => level.Value.GetString()!,
                        _ => throw new ToolboxException($"thresholds file '{file}': '{check.Name}.{level.Name}' must be a number or null, got {level.Value.ValueKind}"),
                    };
                    Set($"thresholds file '{file}'", $"{check.Name}.{level.Name}", text);
                }
            }
        }
    }

    private void Set(string source, string key, string text)
    {
        var dot = key.LastIndexOf('.');
        var check = dot > 0 ? key[..dot] : key;
        var level = dot > 0 ? key[(dot + 1)..] : "";
        if (!_values.TryGetValue(check, out var current))
        {
            throw new ToolboxException($"{source}: unknown check '{check}'; known: {string.Join(", ", _values.Keys)}");
        }
        double? value;
        if (text.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            value = null;
        }
        else if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v))
        {
            value = v;
        }
        else
        {
            throw new ToolboxException($"{source}: '{key}' value '{text}' is not a number (or 'none')");
        }
        _values[check] = level switch
        {
            "warn" => current with { Warn = value },
            "fail" => current with { Fail = value },
            _ => throw new ToolboxException($"{source}: '{key}': the level must be 'warn' or 'fail', got '{level}'"),
        };
    }
}
