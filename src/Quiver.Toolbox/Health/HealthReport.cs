namespace Quiver.Toolbox.Health;

/// <summary>What <c>quiver health</c> is asked to do.</summary>
/// <param name="Target">The server (<c>--uri</c>) or folder (<c>--data</c>).</param>
/// <param name="Window">Against a server: the time between the two <c>/metrics</c> scrapes the traffic figures are
/// computed over (<c>--window</c>, default 10 s).</param>
/// <param name="Probes">Sample searches per collection (<c>--probe</c>); null: 0 against a server, 10 against a folder.</param>
/// <param name="K">Top-k of the probe searches (<c>--k</c>, default 10).</param>
/// <param name="Thresholds">The thresholds to judge by.</param>
public sealed record HealthOptions(TargetSpec Target, TimeSpan Window, int? Probes, int K, HealthThresholds Thresholds);

/// <summary>One judged check.</summary>
/// <param name="Check">The check's key (as in the thresholds), e.g. <c>search.p99_ms</c>.</param>
/// <param name="Subject">What it is about: <c>server</c>, or <c>database.collection</c>.</param>
/// <param name="Value">The measured value, or null when there was nothing to measure.</param>
/// <param name="Unit">Unit of <paramref name="Value"/>.</param>
/// <param name="Warn">The warn threshold applied.</param>
/// <param name="Fail">The fail threshold applied.</param>
/// <param name="Status">ok, warn, fail or info.</param>
/// <param name="Note">Why info, or how the value was obtained.</param>
public sealed record HealthCheck(string Check, string Subject, double? Value, string Unit, double? Warn, double? Fail, string Status, string? Note);

/// <summary>Live traffic over the window, from the deltas of two scrapes.</summary>
/// <param name="Seconds">Time between the scrapes.</param>
/// <param name="Searches">Search calls completed in the window (gRPC and REST).</param>
/// <param name="Calls">Calls of every method completed in the window.</param>
/// <param name="Errors">Calls that answered a non-zero Milvus status code.</param>
/// <param name="SearchQps">Searches per second.</param>
/// <param name="CallsPerSecond">Calls per second, every method.</param>
/// <param name="ErrorRate">Errors / calls (0 without calls).</param>
/// <param name="SearchP50Ms">Median search latency in ms, interpolated within the histogram bucket; null without searches.</param>
/// <param name="SearchP95Ms">95th percentile, likewise.</param>
/// <param name="SearchP99Ms">99th percentile, likewise.</param>
public sealed record TrafficFigures(double Seconds, double Searches, double Calls, double Errors, double SearchQps, double CallsPerSecond,
    double ErrorRate, double? SearchP50Ms, double? SearchP95Ms, double? SearchP99Ms);

/// <summary>Server process memory at the second scrape.</summary>
/// <param name="WorkingSetBytes">Physical memory of the process.</param>
/// <param name="GcHeapBytes">Managed heap after the last collection.</param>
/// <param name="LimitBytes">Memory available to the process (container limit or machine), when the server reports it.</param>
public sealed record MemoryFigures(double WorkingSetBytes, double GcHeapBytes, double? LimitBytes);

/// <summary>One index of a collection.</summary>
/// <param name="Name">Index name.</param>
/// <param name="Field">Indexed field.</param>
/// <param name="Type">Index type.</param>
/// <param name="State">built, pending or failed.</param>
/// <param name="PendingRows">Rows of sealed segments not yet indexed.</param>
/// <param name="MemoryBytes">Bytes the built segment indexes hold beyond the raw vectors.</param>
/// <param name="FailReason">Why the last build failed.</param>
public sealed record IndexHealth(string Name, string Field, string Type, string State, long PendingRows, long MemoryBytes, string? FailReason);

/// <summary>Probe searches of one collection: latency and recall@k against exact search.</summary>
/// <param name="Field">The vector field searched.</param>
/// <param name="Queries">Probe searches run.</param>
/// <param name="K">Top-k.</param>
/// <param name="P50Ms">Median latency in ms (nearest rank over the probes).</param>
/// <param name="P99Ms">99th percentile latency in ms (nearest rank; with few probes, the slowest).</param>
/// <param name="Recall">Mean recall@k against the same searches run exactly.</param>
public sealed record ProbeFigures(string Field, int Queries, int K, double P50Ms, double P99Ms, double Recall);

/// <summary>One collection's state.</summary>
/// <param name="Database">Database.</param>
/// <param name="Name">Collection.</param>
/// <param name="Rows">Live rows.</param>
/// <param name="SealedSegments">Sealed segments.</param>
/// <param name="GrowingSegments">Growing segments.</param>
/// <param name="Indexes">Its indexes.</param>
/// <param name="IndexMemoryBytes">Folder only: estimated memory to serve the collection, raw vectors plus built
/// index structures; null against a server (its process memory is reported instead).</param>
/// <param name="Recall">The server's live recall estimate, when it has samples.</param>
/// <param name="RecallSamples">Samples in the server's recall window.</param>
/// <param name="Probe">Probe figures, when probes ran.</param>
public sealed record CollectionHealth(string Database, string Name, long Rows, long SealedSegments, long GrowingSegments, IReadOnlyList<IndexHealth> Indexes,
    long? IndexMemoryBytes, double? Recall, long RecallSamples, ProbeFigures? Probe);

/// <summary>The report.</summary>
/// <param name="Target">"server http://..." or "folder ./data".</param>
/// <param name="Healthy">False when any check failed.</param>
/// <param name="Checks">Every check, judged.</param>
/// <param name="Traffic">Live traffic (server only).</param>
/// <param name="Memory">Process memory (server only).</param>
/// <param name="RecallSampleRate">The server's recall monitor sample rate (server only; 0: off).</param>
/// <param name="Collections">Every collection of every database.</param>
/// <param name="Notes">How figures were obtained and what could not be measured.</param>
public sealed record HealthResult(string Target, bool Healthy, IReadOnlyList<HealthCheck> Checks, TrafficFigures? Traffic, MemoryFigures? Memory,
    double? RecallSampleRate, IReadOnlyList<CollectionHealth> Collections, IReadOnlyList<string> Notes)
{
}
