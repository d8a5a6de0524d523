using Quiver.Server.Console;
using Quiver.Toolbox.Health;

namespace Quiver.Cli.Ops.Health;

/// <summary>The toolbox's health thresholds as the web console's charts take them.</summary>
internal static class HealthThresholdsConsole
{
    /// <summary><paramref name="thresholds"/> as the web console's health charts draw them (see docs/console.md).</summary>
    public static IReadOnlyList<ChartThreshold> ForConsole(this HealthThresholds thresholds) =>
        [.. thresholds.Keys.Select(k => (Key: k, Value: thresholds[k])).Select(p => new ChartThreshold(p.Key, p.Value.Warn, p.Value.Fail, p.Value.Direction == ThresholdDirection.Min))];
}
