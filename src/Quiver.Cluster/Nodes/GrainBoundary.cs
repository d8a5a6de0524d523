using NATS.Client.Core;

namespace Quiver.Cluster.Nodes;

/// <summary>What a failed grain call may carry back to its caller (docs/cluster.md, "Errors between nodes"). Orleans
/// serializes an exception only when it knows the type: its own, those of <c>System</c> and <c>Microsoft</c>, and those
/// given a codec. NATS's exceptions (<c>NatsJSApiException</c>, <c>NatsKVException</c>, ...) and Quiver's own are none of
/// these, so a grain method that let one escape failed the reply itself with a <c>CodecNotFoundException</c>, which told
/// the caller nothing of the cause. Every grain method and activation therefore passes its failure through
/// <see cref="Wrap"/>: a <see cref="QuiverException"/> keeps its code and message; a NATS failure, or any other, becomes
/// one with code <see cref="QuiverErrorCode.Unavailable"/> naming the cause; Orleans's and the runtime's timeouts and
/// cancellations stay what they are (the access layer retries them), without an inner exception that could not cross.</summary>
internal static class GrainBoundary
{
    /// <summary>Registers the boundary on a silo: the incoming call filter over every grain method. (The codec of
    /// <see cref="QuiverException"/>, <see cref="QuiverExceptionConverter"/>, comes with this assembly's serializers.)</summary>
    public static ISiloBuilder AddGrainBoundary(this ISiloBuilder silo) => silo.AddIncomingGrainCallFilter<Filter>();

    /// <summary>The exception a grain call's caller is to see for <paramref name="ex"/>: one Orleans can serialize, whose
    /// inner exceptions can be serialized too.</summary>
    public static Exception Wrap(Exception ex) => ex switch
    {
        QuiverException quiver => new QuiverException(quiver.Code, quiver.Message),
        AggregateException { InnerExceptions.Count: 1 } one => Wrap(one.InnerExceptions[0]),
        // Orleans's own (a silo that died under a nested call, a rejected message) are its to carry, and the access
        // layer tells them apart (ShardCalls); their inner exceptions are Orleans's too.
        OrleansException => ex,
        TimeoutException => new TimeoutException(ex.Message),
        OperationCanceledException => new OperationCanceledException(ex.Message),
        NatsException => new QuiverException(QuiverErrorCode.Unavailable, $"NATS JetStream failed the call ({ex.GetType().Name}): {ex.Message}"),
        _ => new QuiverException(QuiverErrorCode.Unavailable, $"the call failed on the node that ran it ({ex.GetType().Name}): {ex.Message}"),
    };

    /// <summary>Runs <paramref name="body"/> (a grain method, an activation), replacing its failure by
    /// <see cref="Wrap"/>'s.</summary>
    public static async Task GuardAsync(Func<Task> body)
    {
        try
        {
            await body().ConfigureAwait(true);
        }
        catch (Exception ex)
        {
            var wrapped = Wrap(ex);
            if (ReferenceEquals(wrapped, ex))
            {
                throw;
            }

            throw wrapped;
        }
    }

    /// <summary>Runs every grain method of the silo through <see cref="GuardAsync"/>.</summary>
    private sealed class Filter : IIncomingGrainCallFilter
    {
        public Task Invoke(IIncomingGrainCallContext context) => GuardAsync(context.Invoke);
    }
}

/// <summary>How a <see cref="QuiverException"/> crosses between nodes: its code and message (not its inner exception,
/// which <see cref="GrainBoundary.Wrap"/> has dropped, nor a subclass's extra fields).</summary>
[GenerateSerializer]
internal struct QuiverExceptionSurrogate
{
    [Id(0)]
    public QuiverErrorCode Code;

    [Id(1)]
    public string Message;
}

/// <summary>Orleans's converter between <see cref="QuiverException"/> and <see cref="QuiverExceptionSurrogate"/>.</summary>
[RegisterConverter]
internal sealed class QuiverExceptionConverter : IConverter<QuiverException, QuiverExceptionSurrogate>
{
    public QuiverException ConvertFromSurrogate(in QuiverExceptionSurrogate surrogate) => new(surrogate.Code, surrogate.Message);

    public QuiverExceptionSurrogate ConvertToSurrogate(in QuiverException value) => new() { Code = value.Code, Message = value.Message };
}
