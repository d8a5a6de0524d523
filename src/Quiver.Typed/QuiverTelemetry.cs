using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Quiver.Typed;

/// <summary>The typed API's OpenTelemetry sources, named by the OpenTelemetry database client conventions: one span
/// per operation named <c>{db.operation.name} {db.collection.name}</c> with <c>db.system.name</c> = <c>quiver</c>,
/// <c>db.namespace</c>, <c>db.collection.name</c>, <c>db.operation.name</c> and, on failure, <c>error.type</c> and
/// <c>db.response.status_code</c>; the histograms <c>db.client.operation.duration</c> (seconds) and
/// <c>db.client.response.returned_rows</c> with the same attributes. Listen with
/// <c>AddSource(QuiverTelemetry.SourceName)</c> and <c>AddMeter(QuiverTelemetry.SourceName)</c>.</summary>
public static class QuiverTelemetry
{
    /// <summary>The name of the <see cref="ActivitySource"/> and of the <see cref="Meter"/>: <c>Quiver.Typed</c>.</summary>
    public const string SourceName = "Quiver.Typed";

    /// <summary>The value of <c>db.system.name</c>.</summary>
    public const string SystemName = "quiver";

    internal static readonly ActivitySource Source = new(SourceName);

    private static readonly Meter s_meter = new(SourceName);

    internal static readonly Histogram<double> OperationDuration = s_meter.CreateHistogram<double>(
        "db.client.operation.duration", "s", "Duration of database client operations.");

    internal static readonly Histogram<long> ReturnedRows = s_meter.CreateHistogram<long>(
        "db.client.response.returned_rows", "{row}", "Number of rows returned by the operation.");
}
