using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Reservations.Security;

namespace Reservations.Tests.Security;

/// <summary>
/// Rate limit and CORS settings that make no sense fail the start (the checks the host runs before it starts anything),
/// with the setting named; sensible ones pass.
/// </summary>
public sealed class SettingsValidationTests
{
    [Theory]
    [InlineData("RateLimiting:Writes:TokenLimit", "0", "TokenLimit")]
    [InlineData("RateLimiting:Writes:TokensPerPeriod", "-1", "TokensPerPeriod")]
    [InlineData("RateLimiting:Writes:ReplenishmentPeriod", "-00:00:01", "ReplenishmentPeriod")]
    [InlineData("RateLimiting:Writes:ReplenishmentPeriod", "00:00:00", "ReplenishmentPeriod")]
    [InlineData("RateLimiting:Writes:QueueLimit", "-1", "QueueLimit")]
    [InlineData("Cors:AllowedOrigins:0", "https://app.example.com/", "'https://app.example.com/'")]
    [InlineData("Cors:AllowedOrigins:0", "https://app.example.com/path", "'https://app.example.com/path'")]
    [InlineData("Cors:AllowedOrigins:0", "app.example.com", "'app.example.com'")]
    [InlineData("Cors:AllowedOrigins:0", "ftp://app.example.com", "'ftp://app.example.com'")]
    [InlineData("Cors:AllowedOrigins:0", "", "''")]
    public void A_setting_that_makes_no_sense_fails_the_start_with_the_setting_named(string key, string value, string named)
    {
        using var services = Services(new Dictionary<string, string?> { [key] = value });

        var failure = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains(named, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sensible_settings_pass()
    {
        using var services = Services(new Dictionary<string, string?>
        {
            ["RateLimiting:Writes:TokenLimit"] = "100",
            ["RateLimiting:Writes:ReplenishmentPeriod"] = "00:00:00.5",
            ["Cors:AllowedOrigins:0"] = "https://app.example.com",
            ["Cors:AllowedOrigins:1"] = "http://localhost:5173",
        });

        services.GetRequiredService<IStartupValidator>().Validate();

        Assert.Equal(["https://app.example.com", "http://localhost:5173"], services.GetRequiredService<IOptions<CrossOriginOptions>>().Value.AllowedOrigins);
        Assert.Equal(100, services.GetRequiredService<IOptions<WriteRateLimitOptions>>().Value.TokenLimit);
    }

    private static ServiceProvider Services(Dictionary<string, string?> settings) =>
        new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
            .AddWriteRateLimit()
            .AddCrossOrigin()
            .BuildServiceProvider();
}
