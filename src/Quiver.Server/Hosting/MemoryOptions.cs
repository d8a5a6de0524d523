using System.Globalization;

namespace Quiver.Server.Hosting;

/// <summary>Memory budgets of one server (<see cref="ServerOptions.Memory"/>): how large one answer may grow and how
/// many request bytes the server holds at once. Config keys <c>Memory:*</c>, environment <c>QUIVER_MEMORY__*</c>.
/// See docs/server-ops.md.</summary>
public sealed class MemoryOptions
{
    /// <summary>Largest estimated size of one search or query answer, in bytes; default 256 MiB. The estimate is made
    /// before any result is built: per hit (or row) the server's own bookkeeping (<see cref="Milvus.Data.ResultBudget"/>)
    /// plus the wire size of the id, score and output fields. A request over it is refused with code 1102.</summary>
    public long MaxResultBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Most request bytes (REST bodies and gRPC messages) the server holds at once, in bytes; default 256 MiB
    /// (four messages of the default <see cref="Security.SecurityOptions.MaxMessageBytes"/>). A request that would pass
    /// it is refused at once with code 4 (retriable), before its body is read. At least <c>MaxMessageBytes</c>.</summary>
    public long MaxInFlightBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Throws <see cref="ArgumentException"/> naming a setting that cannot work.</summary>
    internal void Validate(int maxMessageBytes)
    {
        if (MaxResultBytes <= 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Memory:MaxResultBytes must be positive, not {MaxResultBytes}"));
        }
        if (MaxInFlightBytes < maxMessageBytes)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"Memory:MaxInFlightBytes ({MaxInFlightBytes}) is below Security:MaxMessageBytes ({maxMessageBytes}): a request of the largest allowed size could never be served"));
        }
    }
}
