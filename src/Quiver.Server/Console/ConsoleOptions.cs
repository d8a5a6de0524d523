namespace Quiver.Server.Console;

/// <summary>The web console served at <c>/console</c> (config keys <c>Console:*</c>; see docs/console.md).</summary>
public sealed class ConsoleOptions
{
    /// <summary>Serve the console; default true. Off, <c>/console</c> answers 404 and no metrics history is kept.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often the metrics history behind the health charts takes a sample; default 2 s, at least 100 ms.</summary>
    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Samples kept (the oldest are dropped); default 900 (30 minutes at the default interval), at least 2.</summary>
    public int HistorySamples { get; set; } = 900;

    /// <summary>The health thresholds drawn on the charts, by <c>quiver health</c>'s check name (e.g.
    /// <c>search.p99_ms</c>). <c>quiver serve</c> fills them with <c>quiver health</c>'s defaults; empty draws none.</summary>
    public IReadOnlyList<ChartThreshold> Thresholds { get; set; } = [];

    /// <summary>A PEM client certificate that the console's advise and tune present when they connect back to this server
    /// (with <see cref="ClientKeyPath"/>): needed when the server requires client certificates
    /// (<c>Security:RequireClientCertificate</c>), and then it must come from the CA of <c>Security:ClientCaPath</c>.
    /// Null (default): the tools present none, and such a server refuses them up front.</summary>
    public string? ClientCertificatePath { get; set; }

    /// <summary>The PEM private key of <see cref="ClientCertificatePath"/>.</summary>
    public string? ClientKeyPath { get; set; }

    /// <summary>The advise and tune tools the console offers (<see cref="IConsoleToolbox"/>); <c>quiver serve</c> plugs in
    /// the toolbox's. Null: the console's advise and tune calls answer code 10 (unimplemented).</summary>
    internal IConsoleToolbox? Toolbox { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the key of a value out of range.</summary>
    public void Validate()
    {
        if (SampleInterval < TimeSpan.FromMilliseconds(100))
        {
            throw new ArgumentException($"Console:SampleInterval {SampleInterval} is below the minimum of 100 ms");
        }
        if (HistorySamples < 2)
        {
            throw new ArgumentException($"Console:HistorySamples {HistorySamples} must be at least 2");
        }
    }
}

/// <summary>One health threshold as the console's charts draw it.</summary>
/// <param name="Check">The check's name in <c>quiver health</c>, e.g. <c>search.p99_ms</c> or <c>error_rate</c>.</param>
/// <param name="Warn">The warning level, or null.</param>
/// <param name="Fail">The failure level, or null.</param>
/// <param name="BadBelow">True when values below the levels are bad (recall, QPS); false when values above are.</param>
public sealed record ChartThreshold(string Check, double? Warn, double? Fail, bool BadBelow);
