using EventSourcing.Erasure;
using EventSourcing.Hosting;
using EventSourcing.Privacy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace EventSourcing.Core.Tests.Privacy;

/// <summary>
/// When a cached key may be used with a key store several processes share: while the news of forgets is current (at
/// most the bound old), or within the bound of the key's read; never after news was missed. Counted as look-ups of the
/// store: a cached answer asks nothing, a distrusted one asks once.
/// </summary>
public sealed class ForgetNewsTrustTests : IDisposable
{
    private const string Scope = "Guest.Name";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(1);
    private readonly FakeTimeProvider _time = new();
    private readonly SharedKeyStoreProbe _store = new(new InMemoryKeyStore(MasterKey.Generate()), Bound);
    private readonly PersonalDataProtector _protector;

    public ForgetNewsTrustTests() => _protector = new PersonalDataProtector(_store, timeProvider: _time);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _protector.Dispose();

    [Fact]
    public void While_the_news_is_current_a_key_read_long_ago_is_used_without_asking_the_store()
    {
        var value = _protector.Protect("guest-1", Scope, "\"Ada\""u8);
        _time.Advance(Bound * 30); // the key was read 30 bounds ago

        var asked = new List<int>();
        for (var i = 0; i < 5; i++)
        {
            _store.DeliveredBefore = _time.GetTimestamp() - _time.TimestampFrequency / 10; // confirmed 100 ms ago
            var before = _store.Reads;
            Assert.True(_protector.TryUnprotect(value, Scope, out _));
            asked.Add(_store.Reads - before);
            _time.Advance(Bound / 2);
        }

        Assert.Equal([0, 0, 0, 0, 0], asked);
    }

    [Fact]
    public void News_older_than_the_bound_makes_a_key_read_earlier_than_the_bound_ask_the_store_again()
    {
        var value = _protector.Protect("guest-1", Scope, "\"Ada\""u8);
        _store.DeliveredBefore = _time.GetTimestamp();

        _time.Advance(Bound); // news and read exactly the bound old: still trusted
        var atTheBound = Asked(() => Assert.True(_protector.TryUnprotect(value, Scope, out _)));
        _time.Advance(Tick); // a millisecond past it: not
        var pastTheBound = Asked(() => Assert.True(_protector.TryUnprotect(value, Scope, out _)));

        Assert.Equal(0, atTheBound);
        Assert.Equal(1, pastTheBound);
    }

    [Fact]
    public void A_key_read_within_the_bound_is_used_even_when_the_news_is_stale_and_not_after()
    {
        var value = _protector.Protect("guest-1", Scope, "\"Ada\""u8);
        _store.DeliveredBefore = _time.GetTimestamp();
        _time.Advance(Bound * 10); // the news is ten bounds old from here on

        var reread = Asked(() => Assert.True(_protector.TryUnprotect(value, Scope, out _))); // read again now
        _time.Advance(Bound - Tick);
        var withinTheBound = Asked(() => Assert.True(_protector.TryUnprotect(value, Scope, out _)));
        _time.Advance(Tick * 2);
        var pastTheBound = Asked(() => Assert.True(_protector.TryUnprotect(value, Scope, out _)));

        Assert.Equal(1, reread);
        Assert.Equal(0, withinTheBound);
        Assert.Equal(1, pastTheBound);
    }

    [Fact]
    public void With_no_news_ever_confirmed_a_key_is_trusted_only_within_the_bound_of_its_read()
    {
        var value = _protector.Protect("guest-1", Scope, "\"Ada\""u8);
        Assert.Null(_store.DeliveredBefore);

        var withinTheBound = Asked(() => Assert.True(_protector.TryUnprotect(value, Scope, out _)));
        _time.Advance(Bound + Tick);
        var pastTheBound = Asked(() => Assert.True(_protector.TryUnprotect(value, Scope, out _)));

        Assert.Equal(0, withinTheBound);
        Assert.Equal(1, pastTheBound);
    }

    [Fact]
    public async Task A_forget_whose_news_was_never_delivered_is_honoured_once_the_bound_has_passed_since_the_read()
    {
        // Another process forgot the subjects, and this one never heard of it (its listener is down: the news goes stale).
        const int subjects = 50;
        var values = Enumerable.Range(0, subjects).Select(i => _protector.Protect($"guest-{i}", Scope, "\"Ada\""u8)).ToArray();
        _store.DeliveredBefore = _time.GetTimestamp();
        for (var i = 0; i < subjects; i++)
        {
            Assert.True(await _store.Inner.DeleteAsync($"guest-{i}", Ct)); // committed now, news never delivered
        }

        var readableWithinTheBound = values.Count(v => _protector.TryUnprotect(v, Scope, out _));
        _time.Advance(Bound + Tick); // what PersonalDataEraser waits in the forgetting process, and a millisecond
        var readableAfterTheBound = values.Count(v => _protector.TryUnprotect(v, Scope, out _));

        TestContext.Current.TestOutputHelper?.WriteLine($"{readableWithinTheBound} of {subjects} values still read within the bound (allowed), {readableAfterTheBound} after it");
        Assert.Equal(0, readableAfterTheBound);
    }

    [Fact]
    public void News_missed_drops_every_cached_key_even_fresh_ones_with_current_news()
    {
        var values = Enumerable.Range(0, 10).Select(i => _protector.Protect($"guest-{i}", Scope, "\"Ada\""u8)).ToArray();
        _store.DeliveredBefore = _time.GetTimestamp();
        var cached = Asked(() => Assert.All(values, v => Assert.True(_protector.TryUnprotect(v, Scope, out _))));

        _store.Publish(null);
        var afterNewsMissed = Asked(() => Assert.All(values, v => Assert.True(_protector.TryUnprotect(v, Scope, out _))));

        Assert.Equal(0, cached);
        Assert.Equal(values.Length, afterNewsMissed);
    }

    [Fact]
    public async Task News_of_a_forget_drops_that_subject_at_once_and_no_other()
    {
        var ada = _protector.Protect("guest-ada", Scope, "\"Ada\""u8);
        var bob = _protector.Protect("guest-bob", Scope, "\"Bob\""u8);
        _store.DeliveredBefore = _time.GetTimestamp();

        Assert.True(await _store.Inner.DeleteAsync("guest-ada", Ct));
        _store.Publish("guest-ada");
        var adaReadable = true;
        var askedForAda = Asked(() => adaReadable = _protector.TryUnprotect(ada, Scope, out _));
        var askedForBob = Asked(() => Assert.True(_protector.TryUnprotect(bob, Scope, out _)));

        Assert.False(adaReadable);
        Assert.Equal(1, askedForAda);
        Assert.Equal(0, askedForBob);
    }

    [Fact]
    public async Task Forgetting_with_a_shared_key_store_returns_only_once_the_bound_has_passed_since_the_key_was_deleted()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddSingleton<IKeyStore>(_store);
        services.AddEventSourcing(_ => { });
        await using var provider = services.BuildServiceProvider();
        var eraser = provider.GetRequiredService<PersonalDataEraser>();
        provider.GetRequiredService<PersonalDataProtector>().Protect("guest-1", Scope, "\"Ada\""u8);

        var forgetting = eraser.ForgetAsync("guest-1", Ct);
        var keyGoneAtOnce = await _store.Inner.FindAsync("guest-1", Ct) is null;
        var returnedAtOnce = forgetting.IsCompleted;
        _time.Advance(Bound - Tick);
        var returnedBeforeTheBound = forgetting.IsCompleted;
        _time.Advance(Tick);
        await forgetting.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        Assert.True(keyGoneAtOnce);
        Assert.False(returnedAtOnce);
        Assert.False(returnedBeforeTheBound);
    }

    private int Asked(Action read)
    {
        var before = _store.Reads;
        read();
        return _store.Reads - before;
    }
}
