namespace EventSourcing.Privacy;

/// <summary>
/// News of the forgets made by every process that shares a key store, so that each process drops the forgotten
/// subjects' cached keys within a bound. A key store that several processes share implements it (the PostgreSQL key
/// store does, through PostgreSQL notifications); the <see cref="PersonalDataProtector"/> subscribes its key cache and,
/// while the news is not current, trusts a cached key no longer than <see cref="PropagationBound"/> after it was read.
/// </summary>
public interface IForgetNotifications
{
    /// <summary>
    /// The longest time after a forget commits during which a process may still use the forgotten subject's cached key.
    /// <see cref="Erasure.PersonalDataEraser.ForgetAsync"/> returns only once it has passed.
    /// </summary>
    TimeSpan PropagationBound { get; }

    /// <summary>
    /// A moment of this process (<see cref="TimeProvider.GetTimestamp"/> of the store's time provider) before which
    /// every forget committed by any process has been delivered to the subscribers; null until the news is first confirmed.
    /// </summary>
    long? DeliveredBefore { get; }

    /// <summary>
    /// Subscribes <paramref name="forgotten"/>: called with each subject forgotten by any process (this one included), and
    /// with null when news may have been missed (every cached key must go).
    /// </summary>
    IDisposable Subscribe(Action<string?> forgotten);
}
