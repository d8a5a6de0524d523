using System.Net;

namespace Quiver.Cluster.Nodes;

/// <summary>The standalone server's binding rule on a node (docs/security.md): a node bound to an address other hosts
/// can reach serves only with authentication on, unless its configuration says <c>insecure</c>. Checked before the node
/// connects to anything.</summary>
internal static class NodeBinding
{
    /// <summary>Throws <see cref="NodeConfigurationException"/> when <paramref name="config"/> binds
    /// <paramref name="address"/> beyond loopback with authentication off and <see cref="NodeConfig.Insecure"/> unset.</summary>
    public static void Check(NodeConfig config, IPAddress address)
    {
        if (!IPAddress.IsLoopback(address) && !config.AuthEnabled && !config.Insecure)
        {
            throw new NodeConfigurationException(
                $"refusing to listen on {address}: it is reachable from other hosts and authentication is off. Turn " +
                "authentication on (\"authEnabled\": true, with a root password), set \"host\" to 127.0.0.1, or set " +
                "\"insecure\": true to accept unauthenticated access from the network");
        }
    }
}

/// <summary>A node setting that cannot work (docs/errors.md, "Cluster nodes"): the node does not start, and
/// <c>quiver node</c> prints the message and exits with code 2, as <c>quiver serve</c> does.</summary>
internal sealed class NodeConfigurationException(string message) : Exception(message);
