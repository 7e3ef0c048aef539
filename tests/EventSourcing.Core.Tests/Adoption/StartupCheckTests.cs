using EventSourcing.Deciders;
using EventSourcing.Events;
using EventSourcing.Hosting;
using EventSourcing.Privacy;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EventSourcing.Core.Tests.Adoption;

public abstract record UnnamedEvent;

[EventType("named-one.v1")]
public sealed record NamedOne : UnnamedEvent;

public sealed record ForgotItsName(int Value) : UnnamedEvent;

public abstract record MemberEvent(Guid MemberId);

/// <summary>The subject attribute is lost: the parameter is passed to the base record, so no property carries it.</summary>
[EventType("member-renamed.v1")]
#pragma warning disable CS0657 // the attribute target the compiler drops: the misuse this type exists to show
public sealed record MemberRenamed([property: DataSubject] Guid MemberId, [property: PersonalData] string Name) : MemberEvent(MemberId);
#pragma warning restore CS0657

public sealed record NoEvent;

public sealed class StartupCheckTests
{
    private static readonly Decider<object, UnnamedEvent, int> Unnamed = new(0, (s, _) => s, (_, _) => []);

    private static readonly Decider<object, MemberEvent, int> Members = new(0, (s, _) => s, (_, _) => []);

    [Fact]
    public void An_event_type_of_a_decider_without_a_name_fails_at_start_up_naming_the_type()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddEventSourcing(es => es.AddDecider(Unnamed)));
        Assert.Contains(typeof(ForgotItsName).FullName!, error.Message, StringComparison.Ordinal);
        Assert.Contains("[EventType(\"forgot-its-name.v1\")]", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(nameof(NamedOne), error.Message, StringComparison.Ordinal);

        // Named explicitly, it starts, and the attribute names the other.
        using var provider = new ServiceCollection().AddEventSourcing(es => es.AddEvent<ForgotItsName>("forgot-its-name.v1").AddDecider(Unnamed)).BuildServiceProvider();
        Assert.Equal("named-one.v1", provider.GetRequiredService<EventTypeRegistry>().GetName(typeof(NamedOne)));
    }

    [Fact]
    public void Personal_data_with_no_subject_in_reach_fails_at_start_up_naming_the_field_and_the_fix()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddEventSourcing(es => es.AddDecider(Members)));
        Assert.Contains("MemberRenamed.Name", error.Message, StringComparison.Ordinal);
        Assert.Contains("[property: DataSubject] is lost", error.Message, StringComparison.Ordinal);

        // The same type registered alone (no decider) is checked too.
        Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddEventSourcing(es => es.AddEvent<MemberRenamed>("member-renamed.v1")));
    }

    [Fact]
    public void Personal_data_options_are_bound_from_configuration_and_code_wins()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["EventSourcing:PersonalData:KeyCacheSize"] = "77",
            ["EventSourcing:PersonalData:ErasedPlaceholder"] = "(gone)",
        }).Build();

        using var bound = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddEventSourcing(_ => { }).BuildServiceProvider();
        var options = bound.GetRequiredService<IOptions<PersonalDataOptions>>().Value;
        Assert.Equal((77, "(gone)"), (options.KeyCacheSize, options.ErasedPlaceholder));

        using var coded = new ServiceCollection().AddSingleton<IConfiguration>(configuration)
            .AddEventSourcing(es => es.ConfigurePersonalData(o => o.KeyCacheSize = 5)).BuildServiceProvider();
        Assert.Equal((5, "(gone)"), (coded.GetRequiredService<IOptions<PersonalDataOptions>>().Value.KeyCacheSize, coded.GetRequiredService<IOptions<PersonalDataOptions>>().Value.ErasedPlaceholder));

        using var none = new ServiceCollection().AddEventSourcing(_ => { }).BuildServiceProvider();
        Assert.Equal(10_000, none.GetRequiredService<IOptions<PersonalDataOptions>>().Value.KeyCacheSize);
    }

    [Fact]
    public void A_malformed_master_key_names_the_setting()
    {
        var error = Assert.Throws<ArgumentException>(() => MasterKey.FromBase64("k", Convert.ToBase64String(new byte[16])));
        Assert.Contains("EventSourcing:PersonalData:MasterKey", error.Message, StringComparison.Ordinal);
        Assert.Contains("16 bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Wrong_personal_data_settings_fail_when_the_host_starts_naming_each_setting()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["EventSourcing:PersonalData:MasterKey"] = "not base64!",
            ["EventSourcing:PersonalData:KeyCacheSize"] = "0",
            ["EventSourcing:PersonalData:ForgetPropagation"] = "00:00:00",
        }).Build();
        using var provider = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddEventSourcing(_ => { }).BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("EventSourcing:PersonalData:MasterKey", error.Message, StringComparison.Ordinal);
        Assert.Contains("EventSourcing:PersonalData:KeyCacheSize must be at least 1", error.Message, StringComparison.Ordinal);
        Assert.Contains("EventSourcing:PersonalData:ForgetPropagation must be longer than zero", error.Message, StringComparison.Ordinal);

        using var valid = new ServiceCollection().AddEventSourcing(_ => { }).BuildServiceProvider();
        valid.GetRequiredService<IStartupValidator>().Validate();
    }
}
