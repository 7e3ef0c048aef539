using EventSourcing.Privacy;
using Microsoft.Extensions.Options;

namespace EventSourcing.Core.Tests.Privacy;

/// <summary>
/// Creating a key and forgetting, raced on fresh subjects in the in-memory key store: a key created concurrently with a
/// forget is deleted by it or never created, and a new key after a forget (when allowed) never opens the old data.
/// </summary>
public sealed class KeyStoreForgetRaceTests
{
    private const int Trials = 600;
    private const string Scope = "Guest.Name";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private enum Created
    {
        Key,
        Refused,
    }

    [Fact]
    public async Task A_key_created_while_the_subject_is_forgotten_is_deleted_by_the_forget_or_never_created()
    {
        var store = new InMemoryKeyStore(MasterKey.Generate());
        var trials = await RaceAsync(store, seed: 1);

        var broken = new List<string>();
        var keysLeft = 0;
        var returnedAndKept = 0;
        foreach (var trial in trials)
        {
            var left = await store.FindAsync(trial.Subject, Ct);
            keysLeft += left is null ? 0 : 1;
            returnedAndKept += trial.Created == Created.Key && left is not null ? 1 : 0;
        }

        var refused = trials.Count(t => t.Created == Created.Refused);
        var created = trials.Count(t => t.Created == Created.Key);
        TestContext.Current.TestOutputHelper?.WriteLine($"{Trials} races of GetOrCreate against Delete: {created} created a key (then deleted), {refused} refused (SubjectForgottenException); delete found a key in {trials.Count(t => t.Deleted)}");
        Assert.Equal(0, keysLeft);
        Assert.Equal(0, returnedAndKept);
        Assert.Equal(0, store.Count);
        Assert.Equal(created, trials.Count(t => t.Deleted)); // a forget reports a key exactly when one was created before it
        Assert.True(created > 0 && refused > 0, "the race went one way only: the test proved nothing");
    }

    [Fact]
    public async Task With_new_keys_allowed_after_a_forget_a_key_survives_only_when_created_after_the_forget()
    {
        var store = new InMemoryKeyStore(MasterKey.Generate(), allowNewKeyAfterForget: true);
        var trials = await RaceAsync(store, seed: 2);

        var (survivedItsForget, lostAfterTheForget, otherKeyKept) = (0, 0, 0);
        foreach (var trial in trials)
        {
            Assert.Equal(Created.Key, trial.Created); // never refused when new keys are allowed
            var left = await store.FindAsync(trial.Subject, Ct);
            survivedItsForget += trial.Deleted && left is not null ? 1 : 0; // the forget deleted this key: it must be gone
            lostAfterTheForget += !trial.Deleted && left is null ? 1 : 0; // created after the forget: it must be there
            otherKeyKept += left is not null && !left.SequenceEqual(trial.Key!) ? 1 : 0;
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{Trials} races with new keys allowed: {trials.Count(t => t.Deleted)} keys deleted by their forget, {trials.Count(t => !t.Deleted)} created after it");
        Assert.Equal(0, survivedItsForget);
        Assert.Equal(0, lostAfterTheForget);
        Assert.Equal(0, otherKeyKept);
        Assert.True(trials.Any(t => t.Deleted) && trials.Any(t => !t.Deleted), "the race went one way only: the test proved nothing");
    }

    [Fact]
    public async Task A_new_key_after_a_forget_has_another_id_and_values_of_the_old_key_read_as_erased()
    {
        var store = new InMemoryKeyStore(MasterKey.Generate(), allowNewKeyAfterForget: true);
        using var protector = new PersonalDataProtector(store, Options.Create(new PersonalDataOptions { AllowNewKeyAfterForget = true }));
        var old = protector.Protect("guest-1", Scope, "\"Ada\""u8);

        Assert.True(await store.DeleteAsync("guest-1", Ct));
        protector.Evict("guest-1");
        var fresh = protector.Protect("guest-1", Scope, "\"Ada Again\""u8);

        Assert.NotEqual(KeyId(old), KeyId(fresh));
        Assert.False(protector.TryUnprotect(old, Scope, out var erased));
        Assert.Null(erased);
        Assert.True(protector.TryUnprotect(fresh, Scope, out var plaintext));
        Assert.Equal("\"Ada Again\""u8.ToArray(), plaintext);

        // A process that never cached anything, reading both: the old value stays erased there too.
        using var other = new PersonalDataProtector(store, Options.Create(new PersonalDataOptions { AllowNewKeyAfterForget = true }));
        Assert.False(other.TryUnprotect(old, Scope, out _));
        Assert.True(other.TryUnprotect(fresh, Scope, out _));
    }

    /// <summary>
    /// Per trial a fresh subject, a GetOrCreate and a Delete released together by a barrier, each after a random spin of
    /// its own, none in a quarter of the trials (so either may go first, or both at once); synchronous and asynchronous
    /// GetOrCreate alternate.
    /// </summary>
    private static async Task<Trial[]> RaceAsync(InMemoryKeyStore store, int seed)
    {
        var trials = Enumerable.Range(0, Trials).Select(i => new Trial($"guest-{seed}-{i}")).ToArray();
        var spins = new Random(seed);
        int Spin() => spins.Next(4) == 0 ? 0 : spins.Next(2_000); // a quarter of the trials start both at once
        var (createSpins, deleteSpins) = (trials.Select(_ => Spin()).ToArray(), trials.Select(_ => Spin()).ToArray());
        using var barrier = new Barrier(2);

        var creating = Task.Factory.StartNew(() =>
        {
            for (var i = 0; i < Trials; i++)
            {
                barrier.SignalAndWait(Ct);
                Thread.SpinWait(createSpins[i]);
                try
                {
                    trials[i].Key = i % 2 == 0 ? store.GetOrCreate(trials[i].Subject) : store.GetOrCreateAsync(trials[i].Subject, Ct).GetAwaiter().GetResult();
                    trials[i].Created = Created.Key;
                }
                catch (SubjectForgottenException)
                {
                    trials[i].Created = Created.Refused;
                }
            }
        }, Ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var deleting = Task.Factory.StartNew(() =>
        {
            for (var i = 0; i < Trials; i++)
            {
                barrier.SignalAndWait(Ct);
                Thread.SpinWait(deleteSpins[i]);
                trials[i].Deleted = store.DeleteAsync(trials[i].Subject, Ct).GetAwaiter().GetResult();
            }
        }, Ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        await Task.WhenAll(creating, deleting).WaitAsync(TimeSpan.FromSeconds(20), Ct);
        return trials;
    }

    private static string KeyId(string value) => value.Split(':')[3];

    private sealed class Trial(string subject)
    {
        public string Subject { get; } = subject;

        public byte[]? Key { get; set; }

        public Created Created { get; set; }

        public bool Deleted { get; set; }
    }
}
