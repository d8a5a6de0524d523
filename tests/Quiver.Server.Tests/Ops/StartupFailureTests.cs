using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Quiver.Server.Hosting;

namespace Quiver.Server.Tests.Ops;

/// <summary>The one-line description of each start-up failure, including those a test cannot provoke on loopback (a
/// foreign address, a privileged port when running as root).</summary>
public sealed class StartupFailureTests
{
    private static readonly ServerOptions Options = new() { Host = "10.1.2.3", Port = 80, DataPath = "/srv/quiver" };

    public static TheoryData<Exception, bool, string> Cases => new()
    {
        { new IOException("Failed to bind to address http://10.1.2.3:80: address already in use.", new AddressInUseException("in use")), false, "in use by another process" },
        { new IOException("Failed to bind", new SocketException((int)SocketError.AccessDenied)), true, "ports below 1024" },
        { new IOException("Failed to bind", new SocketException((int)SocketError.AddressNotAvailable)), true, "not an address of this machine" },
        { new ServerConfigurationException("the TLS certificate 'x' expired"), true, "the TLS certificate 'x' expired" },
        { new ArgumentOutOfRangeException("SegmentMaxRows", "must be positive"), true, "bad setting: must be positive" },
        { new QuiverException(QuiverErrorCode.Locked, "'/srv/quiver' is in use by another process"), false, "--data" },
        { new UnauthorizedAccessException("Access to the path '/srv/quiver/LOCK' is denied."), false, "/srv/quiver" },
        { new QuiverException(QuiverErrorCode.Corruption, "bad checksum\nin segment 7"), false, "bad checksum in segment 7" },
        { new InvalidOperationException("something\nunexpected"), false, "InvalidOperationException: something unexpected" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Of_NamesTheCause_InOneLine_AndSaysWhetherASettingIsWrong(Exception exception, bool configuration, string expected)
    {
        var failure = StartupFailure.Of(exception, Options);
        Assert.Equal(configuration, failure.IsConfigurationMistake);
        Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', failure.Message);
    }
}
