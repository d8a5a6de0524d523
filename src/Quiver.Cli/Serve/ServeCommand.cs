using System.CommandLine;
using Quiver.Cli.Ops.Health;
using Quiver.Server.Hosting;
using Quiver.Toolbox.Health;

namespace Quiver.Cli.Serve;

/// <summary>
/// <c>quiver serve</c>: the main job, the Milvus-compatible server over a local data folder. Settings come from the
/// command line, then <c>QUIVER_*</c> environment variables, then the <c>--config</c> JSON file, then the defaults
/// (earlier wins; see <see cref="ServerConfig"/> and docs/server-ops.md). Prints one ready line on stdout once the port
/// accepts calls; on SIGTERM or SIGINT stops accepting, lets in-flight calls finish (up to the shutdown timeout),
/// closes the engine and exits 0.
/// </summary>
internal static class ServeCommand
{
    /// <summary>Settings that hold secrets: refused in <c>--set</c>.</summary>
    private static readonly HashSet<string> SecretKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        "Security:RootPassword", "Security:TlsPfxPassword",
    };

    /// <summary>The start of the line printed once the server accepts calls; tests and scripts wait for it.</summary>
    public const string ReadyPrefix = "quiver: serving ";

    public static Command Create()
    {
        // No defaults here: an option not given must not override the environment or the config file.
        var data = new Option<string?>("--data") { Description = "Data folder, created when missing (default ./data; env QUIVER_DATA)." };
        var host = new Option<string?>("--host") { Description = "Address to bind (default 127.0.0.1; env QUIVER_HOST)." };
        var port = new Option<int?>("--port") { Description = "Port for gRPC and REST together; 0 picks a free one (default 19530; env QUIVER_PORT)." };
        var config = new Option<string?>("--config") { Description = "JSON config file with any setting (env QUIVER_CONFIG); see docs/server-ops.md." };
        var insecure = new Option<bool>("--insecure") { Description = "Allow binding beyond loopback without authentication (env QUIVER_INSECURE)." };
        var durability = new Option<DurabilityMode?>("--durability") { Description = "WAL fsync policy: Always (default), Interval or Never (env QUIVER_ENGINE__DURABILITY)." };
        var logFormat = new Option<ServerLogFormat?>("--log-format") { Description = "Console log format: Text (default) or Json (env QUIVER_LOGFORMAT)." };
        var logLevel = new Option<Microsoft.Extensions.Logging.LogLevel?>("--log-level") { Description = "Minimum log level; Debug logs every call (default Information; env QUIVER_LOGLEVEL)." };
        var set = new Option<string[]>("--set")
        {
            Description = "Any setting as KEY=VALUE, nested keys with ':' (e.g. --set Engine:SegmentMaxRows=65536). Repeatable.",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("serve", "Run the Milvus-compatible server (gRPC and REST v2 on one port) over a local data folder.");
        foreach (var option in new Option[] { data, host, port, config, insecure, durability, logFormat, logLevel, set })
        {
            command.Options.Add(option);
        }
        command.SetAction(async (parse, ct) =>
        {
            var keys = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            foreach (var pair in parse.GetValue(set) ?? [])
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0)
                {
                    await Console.Error.WriteLineAsync($"quiver serve: --set '{pair}' is not KEY=VALUE");
                    return 2;
                }
                var key = pair[..equals].Trim();
                if (SecretKeys.Contains(key))
                {
                    // A command line is visible to every local user (ps, /proc/*/cmdline).
                    await Console.Error.WriteLineAsync($"quiver serve: {key} is a secret and cannot be passed on the command line; use the config file or the environment (QUIVER_{key.Replace(":", "__", StringComparison.Ordinal).ToUpperInvariant()})");
                    return 2;
                }
                keys[key] = pair[(equals + 1)..];
            }
            // Named options win over --set for the same key.
            Put(keys, "Data", parse.GetValue(data));
            Put(keys, "Host", parse.GetValue(host));
            Put(keys, "Port", parse.GetValue(port)?.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Put(keys, ServerConfig.ConfigFileKey, parse.GetValue(config));
            Put(keys, "Insecure", parse.GetValue(insecure) ? "true" : null);
            Put(keys, "Engine:Durability", parse.GetValue(durability)?.ToString());
            Put(keys, "LogFormat", parse.GetValue(logFormat)?.ToString());
            Put(keys, "LogLevel", parse.GetValue(logLevel)?.ToString());

            ServerOptions options;
            try
            {
                options = ServerConfig.Load(keys);
            }
            catch (ArgumentException e)
            {
                await Console.Error.WriteLineAsync($"quiver serve: {e.Message}");
                return 2;
            }

            QuiverServer server;
            try
            {
                // Bulk-import jobs run the toolbox's importer (the server itself knows no file formats).
                options.Import.Importer ??= new Ops.Import.ToolboxBulkImporter();
                // The console's health charts mark the thresholds `quiver health` judges by.
                options.Console.Thresholds = HealthThresholds.Defaults().ForConsole();
                // The console's create-index form offers `advise`, its indexes page runs `tune`: the toolbox's own.
                options.Console.Toolbox ??= new ConsoleToolbox();
                server = await QuiverServer.StartAsync(options, logging => ServerLogging.AddConsole(logging, options), ct);
            }
            catch (Exception e)
            {
                // One line naming the cause and the fix, never a stack trace (unless Debug logging asks for details):
                // exit 2 for a setting to change, 1 when the machine is in the way (port or folder held, no access).
                var failure = StartupFailure.Of(e, options);
                await Console.Error.WriteLineAsync($"quiver serve: {failure.Message}");
                if (options.LogLevel <= Microsoft.Extensions.Logging.LogLevel.Debug)
                {
                    await Console.Error.WriteLineAsync(e.ToString());
                }
                return failure.IsConfigurationMistake ? 2 : 1;
            }
            await using var serverScope = server;
            var console = options.Console.Enabled ? ", console at /console" : "";
            Console.WriteLine($"{ReadyPrefix}{server.Engine.Path} on {options.Host}:{server.Port} (gRPC and REST v2{console})");
            await Console.Out.FlushAsync(CancellationToken.None);
            // The host handles SIGTERM and SIGINT (its console lifetime): this completes once a stop was asked for;
            // disposing then drains in-flight calls and closes the engine.
            await server.WaitForShutdownAsync(CancellationToken.None);
            return 0;
        });
        return command;
    }

    private static void Put(Dictionary<string, string?> keys, string key, string? value)
    {
        if (value is not null)
        {
            keys[key] = value;
        }
    }
}
