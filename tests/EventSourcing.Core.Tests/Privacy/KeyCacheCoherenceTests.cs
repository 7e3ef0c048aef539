using System.Text;
using EventSourcing.Privacy;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EventSourcing.Core.Tests.Privacy;

/// <summary>
/// The key cache against a forget that overtakes a read: a key read from the store before the forget, but handed to the
/// cache after the eviction, must not outlive the eviction; and reads of subjects nobody forgot must not suffer from
/// evictions of others.
/// </summary>
public sealed class KeyCacheCoherenceTests
{
    private const string Scope = "Guest.Name";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    public enum ReadPath
    {
        /// <summary>PrepareReadAsync: FindAsync, ahead of deserializing.</summary>
        PrepareRead,

        /// <summary>TryUnprotect on a cold cache: the synchronous Find.</summary>
        Unprotect,

        /// <summary>PrepareWriteAsync: GetOrCreateAsync, ahead of serializing.</summary>
        PrepareWrite,

        /// <summary>Protect on a cold cache: the synchronous GetOrCreate.</summary>
        Protect,
    }

    public enum Eviction
    {
        /// <summary>This process forgot the subject: PersonalDataEraser evicts the key itself.</summary>
        OwnForget,

        /// <summary>Another process forgot it: the news of the subject evicts the key.</summary>
        NewsOfTheSubject,

        /// <summary>News may have been missed (the listener reconnected): every key goes.</summary>
        NewsMissed,
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<ReadPath, Eviction> Races()
    {
        var data = new TheoryData<ReadPath, Eviction>();
        foreach (var path in Enum.GetValues<ReadPath>())
        {
            foreach (var eviction in Enum.GetValues<Eviction>())
            {
                data.Add(path, eviction);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Races))]
    public async Task A_key_read_before_a_forget_and_handed_to_the_cache_after_its_eviction_is_not_kept(ReadPath path, Eviction eviction)
    {
        var time = new FakeTimeProvider(); // never advances: every cached key stays fresh, so only the eviction can drop it
        var inner = new InMemoryKeyStore(MasterKey.Generate());
        using var writer = new PersonalDataProtector(inner);
        const string subject = "guest-1";
        var value = writer.Protect(subject, Scope, "\"Ada\""u8);
        var probe = eviction == Eviction.OwnForget
            ? new KeyStoreProbe(inner)
            : new SharedKeyStoreProbe(inner, Bound) { DeliveredBefore = time.GetTimestamp() };
        using var reader = new PersonalDataProtector(probe, timeProvider: time);

        var hold = probe.HoldNextRead();
        var racing = path switch
        {
            ReadPath.PrepareRead => reader.PrepareReadAsync([Json(value)], Ct),
            ReadPath.Unprotect => Task.Run(() => reader.TryUnprotect(value, Scope, out _), Ct),
            ReadPath.PrepareWrite => reader.PrepareWriteAsync([subject], Ct),
            _ => Task.Run(() => reader.Protect(subject, Scope, "\"Ada\""u8), Ct),
        };
        await hold.Reached.Task.WaitAsync(Patience, Ct); // the store has read the key and not answered yet

        Assert.True(await inner.DeleteAsync(subject, Ct));
        switch (eviction)
        {
            case Eviction.OwnForget:
                reader.Evict(subject);
                break;
            case Eviction.NewsOfTheSubject:
                ((SharedKeyStoreProbe)probe).Publish(subject);
                break;
            default:
                ((SharedKeyStoreProbe)probe).Publish(null);
                break;
        }

        hold.Released.SetResult();
        await racing.WaitAsync(Patience, Ct); // what started before the forget may finish with the old key: used once

        var readsBefore = probe.Reads;
        var readable = reader.TryUnprotect(value, Scope, out _) ? 1 : 0;
        var storeAsked = probe.Reads - readsBefore;
        var written = 0;
        try
        {
            reader.Protect(subject, Scope, "\"Ada\""u8);
            written = 1;
        }
        catch (SubjectForgottenException)
        {
            // the subject is forgotten: refused, as it must be
        }

        Assert.Equal(0, readable);
        Assert.Equal(1, storeAsked); // the cache did not answer: the store did (with no key)
        Assert.Equal(0, written);
        Assert.Null(await inner.FindAsync(subject, Ct));
    }

    [Fact]
    public async Task Reads_of_subjects_nobody_forgot_never_come_back_erased_while_other_subjects_are_forgotten()
    {
        // A projection rebuild on a cold cache reads thousands of subjects while other processes forget others. An erased
        // answer for a live subject would be written back into views as an erased marker: data lost for good.
        const int subjects = 20_000;
        var time = new FakeTimeProvider();
        var inner = new InMemoryKeyStore(MasterKey.Generate());
        using var writer = new PersonalDataProtector(inner, Options.Create(new PersonalDataOptions { KeyCacheSize = subjects * 2 }));
        var values = Enumerable.Range(0, subjects).Select(i => writer.Protect($"live-{i}", Scope, "\"Ada\""u8)).ToArray();
        var shared = new SharedKeyStoreProbe(inner, Bound) { DeliveredBefore = time.GetTimestamp() };
        using var reader = new PersonalDataProtector(shared, Options.Create(new PersonalDataOptions { KeyCacheSize = subjects * 2 }), time);
        using var done = new CancellationTokenSource();
        using var forgetsBegan = new ManualResetEventSlim();
        var forgets = 0;

        var forgetting = Task.Run(() =>
        {
            var random = new Random(subjects);
            while (!done.IsCancellationRequested)
            {
                shared.Publish($"other-{forgets++}"); // news of another process's forget of someone else
                forgetsBegan.Set();
                Thread.SpinWait(random.Next(300)); // forgets from rare to constant: a read must be able to finish between two
            }
        }, Ct);
        var erased = await Task.Run(() =>
        {
            Assert.True(forgetsBegan.Wait(Patience, Ct), "the forgets did not begin"); // on a busy machine, the reads wait for them
            var count = 0;
            foreach (var value in values)
            {
                count += reader.TryUnprotect(value, Scope, out var plaintext) && plaintext!.SequenceEqual("\"Ada\""u8.ToArray()) ? 0 : 1;
            }

            return count;
        }, Ct);
        await done.CancelAsync();
        await forgetting.WaitAsync(Patience, Ct);

        TestContext.Current.TestOutputHelper?.WriteLine($"{subjects} live subjects read on a cold cache during {forgets} forgets of others: {erased} read as erased");
        Assert.True(forgets > 0, "no forget ran during the reads: the test proved nothing");
        Assert.Equal(0, erased);
    }

    private static ReadOnlyMemory<byte> Json(string value) => Encoding.UTF8.GetBytes($$"""{"name":"{{value}}"}""");
}
