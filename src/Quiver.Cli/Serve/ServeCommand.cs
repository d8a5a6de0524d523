using System.CommandLine;
using Microsoft.Extensions.Logging;
using Quiver.Server.Hosting;

namespace Quiver.Cli.Serve;

/// <summary><c>quiver serve</c>: the main job, the Milvus-compatible server over a local data folder.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Data folder (created when missing).", DefaultValueFactory = _ => "data" };
        var host = new Option<string>("--host") { Description = "Address to bind.", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Port for gRPC and REST together.", DefaultValueFactory = _ => 19530 };
        var command = new Command("serve", "Run the Milvus-compatible server (gRPC and REST v2 on one port) over a local data folder.");
        command.Options.Add(data);
        command.Options.Add(host);
        command.Options.Add(port);
        command.SetAction(async (parse, ct) =>
        {
            var options = new ServerOptions { DataPath = parse.GetValue(data)!, Host = parse.GetValue(host)!, Port = parse.GetValue(port) };
            await using var server = await QuiverServer.StartAsync(options, logging => logging.AddSimpleConsole(), ct);
            Console.WriteLine($"quiver: serving {Path.GetFullPath(options.DataPath)} on {options.Host}:{server.Port} (gRPC and REST v2)");
            await server.WaitForShutdownAsync(CancellationToken.None);
            return 0;
        });
        return command;
    }
}
