using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace Quiver.Server.Hosting;

/// <summary>Why <see cref="QuiverServer.StartAsync"/> failed, said in one line for an operator: the cause and the fix.</summary>
/// <param name="IsConfigurationMistake">True when a setting is wrong (a refused or foreign bind address, a bad TLS set-up,
/// a missing root password): changing the settings fixes it. False when the machine is in the way (the port or the data
/// folder held by another process, a folder the server may not read) or the cause is unknown.</param>
/// <param name="Message">One line, no stack trace.</param>
public sealed record StartupFailure(bool IsConfigurationMistake, string Message)
{
    /// <summary>Describes <paramref name="exception"/>, thrown by <see cref="QuiverServer.StartAsync"/> with
    /// <paramref name="options"/>.</summary>
    public static StartupFailure Of(Exception exception, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(options);
        var where = $"{options.Host}:{options.Port}";
        if (exception is ServerConfigurationException)
        {
            return new(true, OneLine(exception.Message));
        }
        if (exception is ArgumentException argument)
        {
            // Options the engine or the host validate themselves (they name the option).
            return new(true, $"bad setting: {OneLine(argument.Message)}");
        }
        if (Find<AddressInUseException>(exception) is not null
            || Find<SocketException>(exception) is { SocketErrorCode: SocketError.AddressAlreadyInUse })
        {
            return new(false, $"cannot listen on {where}: the port is in use by another process; stop that process, or " +
                "choose another port with --port (0 picks a free one)");
        }
        if (Find<SocketException>(exception) is { } socket)
        {
            switch (socket.SocketErrorCode)
            {
                case SocketError.AccessDenied:
                    return new(true, $"cannot listen on {where}: permission denied (ports below 1024 need privileges); " +
                        "choose a port above 1023 with --port");
                case SocketError.AddressNotAvailable:
                    return new(true, $"cannot listen on {where}: {options.Host} is not an address of this machine; bind " +
                        "one of its addresses with --host (127.0.0.1 for this machine only)");
            }
        }
        if (exception is QuiverException { Code: QuiverErrorCode.Locked })
        {
            return new(false, OneLine(exception.Message) + "; stop the other process (another quiver serve, or an " +
                "application with the folder open), or choose another folder with --data");
        }
        var data = Path.GetFullPath(options.DataPath);
        if (exception is UnauthorizedAccessException)
        {
            return new(false, $"cannot use the data folder '{data}': {OneLine(exception.Message)} Give the server's user " +
                "read and write access to it, or choose another folder with --data");
        }
        if (exception is QuiverException { Code: QuiverErrorCode.Corruption })
        {
            return new(false, $"the data folder '{data}' is damaged: {OneLine(exception.Message)} Restore it from a backup " +
                "(docs/operations-backup.md)");
        }
        if (exception is IOException or QuiverException)
        {
            return new(false, $"cannot start on the data folder '{data}': {OneLine(exception.Message)}");
        }
        return new(false, $"cannot start: {exception.GetType().Name}: {OneLine(exception.Message)} (--log-level Debug " +
            "prints the details)");
    }

    private static T? Find<T>(Exception exception)
        where T : Exception
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }
        return null;
    }

    private static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
