using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace EventSourcing.Hosting;

/// <summary>
/// How the health checks of <see cref="EventSourcingHealthChecks.AddEventSourcing"/> judge the store and the
/// followers: configuration section <c>EventSourcing:Health</c>, then the code's own settings.
/// </summary>
public sealed class EventSourcingHealthOptions
{
    /// <summary>The configuration section the options are bound to: <c>EventSourcing:Health</c>.</summary>
    public const string Section = "EventSourcing:Health";

    /// <summary>
    /// The longest the store, or the followers' status, may take to answer before its check is unhealthy
    /// (<c>Timeout</c>). Default 5 seconds.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The most events an async projection or a reactor may be behind the head of the log before the followers' check
    /// reports <see cref="LagStatus"/> (<c>MaxLag</c>). Default 10,000.
    /// </summary>
    public long MaxLag { get; set; } = 10_000;

    /// <summary>
    /// What the followers' check reports when a follower lags by more than <see cref="MaxLag"/> (<c>LagStatus</c>).
    /// Default <see cref="HealthStatus.Degraded"/>: the views are still served, only older, and every process sharing the
    /// store sees the same lag, so taking them out of service would not help it catch up.
    /// </summary>
    public HealthStatus LagStatus { get; set; } = HealthStatus.Degraded;
}

/// <summary>Refuses health options that cannot work, naming the setting.</summary>
internal sealed class EventSourcingHealthOptionsValidator : IValidateOptions<EventSourcingHealthOptions>
{
    public ValidateOptionsResult Validate(string? name, EventSourcingHealthOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.Timeout <= TimeSpan.Zero)
        {
            failures.Add($"{EventSourcingHealthOptions.Section}:{nameof(options.Timeout)} must be longer than zero (it is {options.Timeout}).");
        }

        if (options.MaxLag < 0)
        {
            failures.Add($"{EventSourcingHealthOptions.Section}:{nameof(options.MaxLag)} must be 0 or more (it is {options.MaxLag}).");
        }

        if (!Enum.IsDefined(options.LagStatus))
        {
            failures.Add($"{EventSourcingHealthOptions.Section}:{nameof(options.LagStatus)} must be Unhealthy, Degraded or Healthy (it is {options.LagStatus}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
