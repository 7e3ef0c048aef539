using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Reservations.Security;

/// <summary>
/// Configuration section <c>RateLimiting:Writes</c>: a token bucket per client (<see cref="Clients.Scope"/>) for the
/// endpoints that write (place, cancel, forget). Reads are not limited. The defaults let a client send 30 writes at
/// once and 60 a minute after that.
/// </summary>
public sealed class WriteRateLimitOptions
{
    public const string Section = "RateLimiting:Writes";

    /// <summary>Whether writes are limited at all (<c>Enabled</c>). Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The bucket's size: the most writes a client can send at once (<c>TokenLimit</c>). Default 30.</summary>
    [Range(1, 1_000_000)]
    public int TokenLimit { get; set; } = 30;

    /// <summary>How many writes come back each <see cref="ReplenishmentPeriod"/> (<c>TokensPerPeriod</c>). Default 1.</summary>
    [Range(1, 1_000_000)]
    public int TokensPerPeriod { get; set; } = 1;

    /// <summary>How often <see cref="TokensPerPeriod"/> come back (<c>ReplenishmentPeriod</c>). Default 1 second.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan ReplenishmentPeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How many writes over the limit wait for a token instead of being refused at once (<c>QueueLimit</c>). Default 0.</summary>
    [Range(0, 100_000)]
    public int QueueLimit { get; set; }
}

/// <summary>The write rate limit: ASP.NET Core's rate limiter with one token bucket per client; refusals are 429 problems with <c>Retry-After</c>.</summary>
public static class WriteRateLimit
{
    public const string Policy = "writes";

    public static IServiceCollection AddWriteRateLimit(this IServiceCollection services)
    {
        services.AddOptions<WriteRateLimitOptions>().BindConfiguration(WriteRateLimitOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        return services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = RejectAsync;
            limiter.AddPolicy(Policy, context =>
            {
                var options = Options(context);
                return options.Enabled
                    ? RateLimitPartition.GetTokenBucketLimiter(Clients.Scope(context), _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = options.TokenLimit,
                        TokensPerPeriod = options.TokensPerPeriod,
                        ReplenishmentPeriod = options.ReplenishmentPeriod,
                        QueueLimit = options.QueueLimit,
                        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                        AutoReplenishment = true,
                    })
                    : RateLimitPartition.GetNoLimiter(string.Empty);
            });
        });
    }

    /// <summary>Counts the endpoint's requests against the client's write limit (and documents the 429).</summary>
    public static RouteHandlerBuilder RequireWriteRateLimit(this RouteHandlerBuilder builder) =>
        builder.RequireRateLimiting(Policy).ProducesProblem(StatusCodes.Status429TooManyRequests);

    private static WriteRateLimitOptions Options(HttpContext context) =>
        context.RequestServices.GetRequiredService<IOptions<WriteRateLimitOptions>>().Value;

    private static ValueTask RejectAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        var wait = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : Options(context).ReplenishmentPeriod;
        var seconds = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return new ValueTask(ProblemDetailsExceptionHandler.WriteAsync(context, new ProblemDetails
        {
            Status = StatusCodes.Status429TooManyRequests,
            Title = "Too many requests",
            Detail = string.Create(CultureInfo.InvariantCulture, $"This client has sent more writes than it may; retry after {seconds} s."),
        }));
    }
}
