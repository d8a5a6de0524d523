using System.Text.Json;

namespace Quiver.Cluster.Nodes;

/// <summary>One node's configuration file (JSON): where the NATS servers are, which cluster it joins and where it
/// listens. Every address is loopback unless the operator says otherwise.</summary>
internal sealed partial class NodeConfig
{
    /// <summary>The cluster's name: the Orleans cluster id and the prefix of every JetStream stream and bucket.</summary>
    public string Cluster { get; set; } = "quiver";

    /// <summary>The NATS servers, comma-separated URLs.</summary>
    public string Nats { get; set; } = "nats://127.0.0.1:4222";

    /// <summary>The node's local folder: shard caches live below it.</summary>
    public string DataPath { get; set; } = "node-data";

    /// <summary>The address the node binds (the Milvus API and the silo).</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>The Milvus gRPC port; 0 picks a free one (printed in the ready line).</summary>
    public int MilvusPort { get; set; } = 19530;

    /// <summary>The Orleans silo-to-silo port.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>JetStream replicas of every stream and bucket the cluster creates (3 in production; fewer only for a
    /// cluster with fewer NATS servers).</summary>
    public int Replicas { get; set; } = 3;

    /// <summary>Require credentials on every call and enforce users, roles and grants, as the standalone server's
    /// <c>Security:AuthEnabled</c>. The state is the cluster's (<see cref="ClusterSecurity"/>): every node of a cluster
    /// should set the same value.</summary>
    public bool AuthEnabled { get; set; }

    /// <summary>The password of <c>root</c> when the cluster stores its users for the first time with authentication on;
    /// else read from <c>QUIVER_ROOT_PASSWORD</c>. Ignored once users are stored (change it with
    /// <c>UpdateCredential</c>).</summary>
    public string? RootPassword { get; set; }

    /// <summary>Serve on an address beyond loopback with authentication off (the standalone server's <c>Insecure</c>,
    /// <c>quiver serve --insecure</c>); without it such a node refuses to start (<see cref="NodeBinding"/>).</summary>
    public bool Insecure { get; set; }

    /// <summary>The folder bulk-import jobs this node accepts read their files from (the standalone server's
    /// <c>Import:Root</c>); a job's paths are relative to it and may not leave it. Default <c>import</c> under
    /// <see cref="DataPath"/>. Each node reads its own: a job's files must be on the node that accepts the job.</summary>
    public string? ImportRoot { get; set; }

    /// <summary>Calls per second each user (each client address without authentication) may make across the whole
    /// cluster, whichever nodes the calls go to; 0 (default) is none. Each node enforces its share, this divided by the
    /// live nodes (<see cref="ClusterRate"/>); <c>security.requestsPerSecondPerUser</c> still limits each node on its own.</summary>
    public double ClusterRequestsPerSecondPerUser { get; set; }

    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true, ReadCommentHandling = JsonCommentHandling.Skip };

    /// <summary>Reads a configuration file; unknown settings are refused by name.</summary>
    public static NodeConfig Load(string path)
    {
        var options = new JsonSerializerOptions(Json) { UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow };
        return JsonSerializer.Deserialize<NodeConfig>(File.ReadAllBytes(path), options)
            ?? throw new JsonException($"'{path}' holds no configuration");
    }
}
