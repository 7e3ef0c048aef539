using System.Globalization;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.Extensions.Options;
using Reservations.Domain;

namespace Reservations;

/// <summary>
/// Every request answers within <see cref="ReservationOptions.RequestTimeout"/>: past it the request is cancelled (the
/// store stops waiting for the database at once) and answered 503 with Retry-After. A database that hangs, or a network
/// to it that drops packets, then costs a client one bounded wait, not one as long as the driver's own timeouts (30 s
/// per command, then the cancellation's own wait for the server).
/// </summary>
public static class RequestDeadline
{
    public static IServiceCollection AddRequestDeadline(this IServiceCollection services)
    {
        services.AddRequestTimeouts();
        services.AddOptions<RequestTimeoutOptions>().Configure<IOptions<ReservationOptions>>((timeouts, reservations) =>
        {
            var timeout = reservations.Value.RequestTimeout;
            timeouts.DefaultPolicy = new RequestTimeoutPolicy
            {
                Timeout = timeout,
                TimeoutStatusCode = StatusCodes.Status503ServiceUnavailable,
                WriteTimeoutResponse = context => ProblemDetailsExceptionHandler.WriteUnavailableAsync(
                    context,
                    string.Create(CultureInfo.InvariantCulture, $"The request took longer than {timeout.TotalSeconds} s (the event store is slow to answer); try again shortly.")),
            };
        });
        return services;
    }
}
