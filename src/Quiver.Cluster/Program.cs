using Microsoft.Extensions.Logging;
using Quiver.Cluster.Nodes;

// `Quiver.Cluster node --config FILE`: runs one cluster node until SIGTERM or SIGINT; `Quiver.Cluster status --config
// FILE`: prints the cluster's nodes and shards as its stores say (docs/cluster.md); `log-bench`: see LogBench.
if (args is ["status", "--config", var statusConfig])
{
    Console.Write(await ClusterStatus.ReadAsync(NodeConfig.Load(statusConfig), CancellationToken.None).ConfigureAwait(false));
    return 0;
}

// `Quiver.Cluster log-bench --config FILE`: the replicated log's own write latency and throughput beside the local log's.
if (args is ["log-bench", .. var benchArgs])
{
    return await Quiver.Cluster.LogBench.RunAsync(benchArgs).ConfigureAwait(false);
}

// `Quiver.Cluster apikey create|list|revoke --config FILE ...`: the cluster's API keys (NodeApiKeys).
if (args is ["apikey", .. var keyArgs])
{
    return await NodeApiKeys.RunAsync(keyArgs, Console.Out, Console.Error, CancellationToken.None).ConfigureAwait(false);
}

// `Quiver.Cluster upload --config FILE PATH [NAME]`: a file into the cluster's bucket of import objects.
if (args is ["upload", "--config", var uploadConfig, var uploadPath, .. var uploadName] && uploadName.Length <= 1)
{
    return await ImportObjectUpload.RunAsync(NodeConfig.Load(uploadConfig), uploadPath, uploadName.FirstOrDefault(), Console.Out, Console.Error, CancellationToken.None).ConfigureAwait(false);
}

if (args is not ["node", "--config", var path])
{
    await Console.Error.WriteLineAsync("usage: Quiver.Cluster node --config FILE | Quiver.Cluster status --config FILE | Quiver.Cluster " + ImportObjectUpload.Usage + " | Quiver.Cluster log-bench --config FILE [--records N] [--bytes B] [--writers 1,16,128] | Quiver.Cluster " + NodeApiKeys.Usage).ConfigureAwait(false);
    return 2;
}

NodeConfig config;
ClusterNode started;
try
{
    config = NodeConfig.Load(path);
    started = await ClusterNode.StartAsync(config, logging => logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning).AddFilter("Quiver.Cluster", LogLevel.Information)).ConfigureAwait(false);
}
catch (Exception e) when (e is NodeConfigurationException or System.Text.Json.JsonException or Quiver.Server.Hosting.ServerConfigurationException)
{
    // A setting to change: one line naming it and exit 2, as `quiver serve` answers one (the security settings' refusals
    // are the standalone server's ServerConfigurationException, said in the same words).
    var line = string.Join(' ', e.Message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    await Console.Error.WriteLineAsync($"quiver node: {line}").ConfigureAwait(false);
    return 2;
}

// The ready line scripts and tests wait for.
Console.WriteLine($"quiver node ready: milvus {config.Host}:{started.MilvusPort}, silo {config.Host}:{config.SiloPort}, cluster {config.Cluster}, pid {Environment.ProcessId}");
var code = await started.RunUntilStoppedAsync(Console.Error).ConfigureAwait(false);
if (code != 0)
{
    // The stop still waits on NATS or the other nodes: its threads must not keep the process alive.
    Environment.Exit(code);
}

return 0;
