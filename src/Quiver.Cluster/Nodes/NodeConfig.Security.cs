using Quiver.Server.Hosting;
using Quiver.Server.Security;

namespace Quiver.Cluster.Nodes;

/// <summary>The node's security settings beyond <see cref="AuthEnabled"/> and <see cref="RootPassword"/>: TLS, the audit
/// log, the request limits and the per-user rate limit, under <c>security</c> with the standalone server's names and
/// meanings (docs/server-security.md), so one block of settings means the same on a node and on <c>quiver serve</c>.</summary>
internal sealed partial class NodeConfig
{
    /// <summary>The standalone server's <c>Security</c> settings, as a node applies them (docs/cluster.md, "Security on
    /// a node"). <c>authEnabled</c> and <c>rootPassword</c> are top-level settings of a node and are refused here.</summary>
    public SecurityOptions Security { get; set; } = new();

    /// <summary>The settings the node's gate, TLS and audit log enforce: <see cref="Security"/> with
    /// <see cref="AuthEnabled"/> and <see cref="RootPassword"/>. Throws <see cref="ServerConfigurationException"/> for
    /// settings that cannot work, with the standalone server's messages.</summary>
    public SecurityOptions EffectiveSecurity()
    {
        if (_merged)
        {
            return Security;
        }

        if (Security.AuthEnabled || Security.RootPassword is not null)
        {
            throw new ServerConfigurationException(
                "security.authEnabled and security.rootPassword are not node settings: set authEnabled and rootPassword at the top level of the node's config");
        }

        if (!double.IsFinite(ClusterRequestsPerSecondPerUser) || ClusterRequestsPerSecondPerUser < 0)
        {
            throw new ServerConfigurationException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"clusterRequestsPerSecondPerUser must be a number of calls per second, 0 or more (0 is no limit), not {ClusterRequestsPerSecondPerUser}"));
        }

        try
        {
            Security.AuditLimits.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ServerConfigurationException(e.Message);
        }

        Security.AuthEnabled = AuthEnabled;
        Security.RootPassword = RootPassword;
        _merged = true;
        return Security;
    }

    private bool _merged;
}
