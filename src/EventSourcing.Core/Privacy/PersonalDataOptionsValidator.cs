using Microsoft.Extensions.Options;

namespace EventSourcing.Privacy;

/// <summary>Checks <see cref="PersonalDataOptions"/> when the application starts; each failure names the configuration setting to fix.</summary>
internal sealed class PersonalDataOptionsValidator : IValidateOptions<PersonalDataOptions>
{
    public ValidateOptionsResult Validate(string? name, PersonalDataOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        void Require(bool condition, string setting, string rule)
        {
            if (!condition)
            {
                failures.Add($"{PersonalDataOptions.Section}:{setting} {rule}.");
            }
        }

        if (options.MasterKey is { Length: > 0 } key)
        {
            try
            {
                MasterKey.FromBase64(options.MasterKeyId ?? "default", key);
            }
            catch (ArgumentException exception)
            {
                failures.Add(exception.Message.Split(" (Parameter", 2)[0]);
            }
        }

        Require(!string.IsNullOrWhiteSpace(options.MasterKeyId), nameof(options.MasterKeyId), "must name the master key");
        Require(options.KeyCacheSize >= 1, nameof(options.KeyCacheSize), $"must be at least 1 (it is {options.KeyCacheSize})");
        Require(options.KeyCacheDuration > TimeSpan.Zero, nameof(options.KeyCacheDuration), $"must be longer than zero (it is {options.KeyCacheDuration})");
        Require(options.ForgetPropagation > TimeSpan.Zero, nameof(options.ForgetPropagation), $"must be longer than zero (it is {options.ForgetPropagation})");
        Require(options.ErasedPlaceholder is not null, nameof(options.ErasedPlaceholder), "must be set (it may be empty)");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
