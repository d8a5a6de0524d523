namespace Quiver.Server.Observability;

/// <summary>Live recall monitoring (<see cref="RecallMonitor"/>): a fraction of successful searches is re-run exactly in
/// the background and compared with what the caller got. Config keys <c>Monitoring:*</c> (see docs/server-ops.md and
/// docs/operations-health.md).</summary>
public sealed class MonitoringOptions
{
    /// <summary>Fraction of successful searches re-run exactly, in [0, 1]; default 0.01 (one in a hundred). 0 turns the
    /// monitor off (no background thread, no samples, the metric families stay empty).</summary>
    public double RecallSampleRate { get; set; } = 0.01;

    /// <summary>Per collection, how many of the latest per-query recall samples the exported estimate averages over;
    /// default 1000.</summary>
    public int RecallWindow { get; set; } = 1000;

    /// <summary>Sampled searches waiting for their exact re-run; default 64. A sample arriving when the queue is full is
    /// dropped and counted (<c>quiver_recall_dropped_total</c>), never waited for.</summary>
    public int RecallQueueCapacity { get; set; } = 64;

    /// <summary>The most of one core's time the exact re-runs may take, in (0, 1]; default 0.05. After a re-run that took
    /// <c>t</c>, the monitor's thread waits <c>t × (1 − share) / share</c> before the next, so on a large collection (an
    /// exact search of 1M × 128-d floats reads 512 MB) the monitor cannot take more than this share of the CPU that
    /// searches need; samples that arrive meanwhile wait in the queue, and those that find it full are dropped and
    /// counted. 1 runs the re-runs back to back.</summary>
    public double RecallCpuShare { get; set; } = 0.05;

    /// <summary>Throws <see cref="ArgumentException"/> naming the key of a value out of range.</summary>
    public void Validate()
    {
        if (!(RecallSampleRate is >= 0 and <= 1))
        {
            throw new ArgumentException($"Monitoring:RecallSampleRate {RecallSampleRate} is out of range 0..1");
        }
        if (!(RecallCpuShare is > 0 and <= 1))
        {
            throw new ArgumentException($"Monitoring:RecallCpuShare {RecallCpuShare} is out of range: above 0, at most 1");
        }
        if (RecallWindow < 1)
        {
            throw new ArgumentException($"Monitoring:RecallWindow {RecallWindow} must be at least 1");
        }
        if (RecallQueueCapacity < 1)
        {
            throw new ArgumentException($"Monitoring:RecallQueueCapacity {RecallQueueCapacity} must be at least 1");
        }
    }
}
