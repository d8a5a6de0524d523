using System.Diagnostics;
using System.Diagnostics.Metrics;
using Quiver.Testing;

namespace Quiver.Engine.Tests.Storage;

/// <summary>The engine's <c>Quiver.Engine</c> meter: WAL fsync durations and row counts reach a listener, and recording
/// allocates nothing.</summary>
public sealed class EngineMetricsTests
{
    [Fact]
    public async Task DurableWrites_RecordFsyncsAndRows()
    {
        // The instruments are process-wide and other tests write in parallel: count only this test's folder's effect
        // through lower bounds.
        long fsyncs = 0;
        long written = 0;
        long deleted = 0;
        using var listener = Listen((name, value) =>
        {
            switch (name)
            {
                case EngineMetrics.WalFsyncDurationName:
                    Assert.True(value > 0, $"an fsync recorded as taking {value} s");
                    Interlocked.Increment(ref fsyncs);
                    break;
                case EngineMetrics.RowsWrittenName:
                    Interlocked.Add(ref written, (long)value);
                    break;
                case EngineMetrics.RowsDeletedName:
                    Interlocked.Add(ref deleted, (long)value);
                    break;
            }
        });

        using var folder = new TempFolder();
        await using (var engine = await QuiverEngine.OpenAsync(folder.Path, new QuiverOptions { BackgroundMaintenance = false }))
        {
            await engine.CreateCollectionAsync("c", new CollectionSchema { Fields = [FieldSchema.Int64Key("id"), FieldSchema.Vector("v", 2, MetricType.L2)] });
            await engine.InsertAsync("c", [.. Enumerable.Range(0, 5).Select(i => new Row { ["id"] = (long)i, ["v"] = new[] { i, 1f } })]);
            await engine.DeleteAsync("c", [1L, 2L, 99L]);
        }

        Assert.True(Interlocked.Read(ref fsyncs) >= 2, "each durable write fsyncs the WAL under DurabilityMode.Always");
        Assert.True(Interlocked.Read(ref written) >= 5);
        Assert.True(Interlocked.Read(ref deleted) >= 2);
    }

    [Fact]
    public void WalFsynced_WithListener_AllocatesNothing()
    {
        long seen = 0;
        using var listener = Listen((_, _) => Interlocked.Increment(ref seen));
        EngineMetrics.WalFsynced(Stopwatch.GetTimestamp()); // first call: JIT and lazy state
        EngineMetrics.Written(1, delete: false);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1_000; i++)
        {
            EngineMetrics.WalFsynced(Stopwatch.GetTimestamp());
            EngineMetrics.Written(3, delete: i % 2 == 0);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(Interlocked.Read(ref seen) >= 2_000);
    }

    private static MeterListener Listen(Action<string, double> onMeasurement)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == EngineMetrics.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => onMeasurement(instrument.Name, value));
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => onMeasurement(instrument.Name, value));
        listener.Start();
        return listener;
    }
}
