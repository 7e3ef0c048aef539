using EventSourcing.Projections;

namespace EventSourcing.Reactors;

/// <summary>How a reactor runs: what to do with an event it keeps failing on, and how often its checkpoint is committed.</summary>
public sealed class ReactorOptions
{
    /// <summary>
    /// After <see cref="MaxAttempts"/> failed attempts at one event: keep it as a dead letter and go on (default), or stop
    /// the reactor there until it is replayed. Failures of the store itself (<see cref="Storage.EventStoreUnavailableException"/>)
    /// never count: those are retried for as long as the store is away.
    /// </summary>
    public PoisonEventPolicy OnPoisonEvent { get; set; } = PoisonEventPolicy.DeadLetter;

    /// <summary>How many times an event is tried before the poison policy applies, with a pause doubling from 100 ms (up to 5 s) in between. Default 5.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>
    /// How many handled events the checkpoint may be behind before it is committed. Default 100. The checkpoint is also
    /// committed after <see cref="CheckpointInterval"/>, and whenever the reactor has caught up with the log.
    /// </summary>
    public int CheckpointEvery { get; set; } = 100;

    /// <summary>How long handled events may wait for the checkpoint to be committed. Default 250 ms.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    internal void Validate(string reactor)
    {
        if (MaxAttempts < 1 || CheckpointEvery < 1 || CheckpointInterval < TimeSpan.Zero)
        {
            throw new ArgumentException($"Reactor {reactor}: MaxAttempts and CheckpointEvery must be at least 1, and CheckpointInterval not negative.");
        }
    }
}

/// <summary>A reactor type as registered, with its options.</summary>
/// <param name="ReactorType">The reactor's type.</param>
/// <param name="Options">How it runs.</param>
public sealed record ReactorRegistration(Type ReactorType, ReactorOptions Options);
