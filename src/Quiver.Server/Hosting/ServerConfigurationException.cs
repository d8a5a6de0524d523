namespace Quiver.Server.Hosting;

/// <summary>
/// A setting of <see cref="ServerOptions"/> that cannot work or is unsafe: a refused bind address, a weak or expired TLS
/// certificate, a missing root password. <see cref="QuiverServer.StartAsync"/> throws it before it opens the data folder;
/// the message is one line naming the setting, the problem and the fix. <c>quiver serve</c> exits 2 on it.
/// </summary>
public sealed class ServerConfigurationException : InvalidOperationException
{
    /// <summary>Creates the error; <paramref name="message"/> names the setting, the problem and the fix.</summary>
    public ServerConfigurationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the error with the failure that revealed it.</summary>
    public ServerConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the error with no message (for serializers; prefer a message).</summary>
    public ServerConfigurationException()
    {
    }
}
