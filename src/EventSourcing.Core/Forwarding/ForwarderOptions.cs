using EventSourcing.Projections;

namespace EventSourcing.Forwarding;

/// <summary>How the forwarder publishes the log (<see cref="Hosting.EventSourcingBuilder.AddForwarder"/>).</summary>
public sealed class ForwarderOptions
{
    /// <summary>
    /// The forwarder's name: its checkpoint and its leadership are kept under it, as a reactor's (<c>reactor:{name}</c>),
    /// and <c>followers status</c> and <c>followers replay</c> show and move it. Default <c>forwarder</c>.
    /// </summary>
    public string Name { get; set; } = "forwarder";

    /// <summary>The event types to forward (and their subtypes); null, by default, forwards every event.</summary>
    public IReadOnlyCollection<Type>? EventTypes { get; set; }

    /// <summary>How many times a page, and then an event, is tried before the poison policy applies. Default 5.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>
    /// What happens to an event that cannot be forwarded (it cannot be read, or the broker refuses it every time):
    /// set aside as a dead letter (the default) or stop there until replayed.
    /// </summary>
    public PoisonEventPolicy OnPoisonEvent { get; set; } = PoisonEventPolicy.DeadLetter;

    /// <summary>
    /// How long the checkpoint may trail the events the broker acknowledged (default 1 second): after a crash, the events
    /// since the last checkpoint are sent again, and the broker must still recognise them as duplicates, so keep it well
    /// under the broker's duplicate window.
    /// </summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How personal values leave: <see cref="ForwardedPersonalData.Sealed"/> (the default), as the stores write them,
    /// encrypted under their subject's key; or <see cref="ForwardedPersonalData.Redacted"/>, not at all.
    /// </summary>
    public ForwardedPersonalData PersonalData { get; set; } = ForwardedPersonalData.Sealed;

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Name, nameof(Name));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxAttempts, 1, nameof(MaxAttempts));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(CheckpointInterval, TimeSpan.Zero, nameof(CheckpointInterval));
        if (!Enum.IsDefined(PersonalData))
        {
            throw new ArgumentOutOfRangeException(nameof(PersonalData), PersonalData, $"{nameof(PersonalData)} is {nameof(ForwardedPersonalData.Sealed)} or {nameof(ForwardedPersonalData.Redacted)}.");
        }
    }
}

/// <summary>How a forwarder publishes the personal values of events (<see cref="ForwarderOptions.PersonalData"/>).</summary>
public enum ForwardedPersonalData
{
    /// <summary>
    /// Sealed under the subject's key, as stored (format version 2): a forget shreds the broker's copies with the log's,
    /// and a consumer that shares the key store reads the values (<c>TrustedEventReader</c>).
    /// </summary>
    Sealed,

    /// <summary>
    /// Left out: every personal value is published as the erased marker (<c>es-pd:erased</c>), neither its value nor its
    /// ciphertext, and no key is read. The library's serializer reads such an event as it reads a forgotten subject's
    /// (placeholders, <see cref="Privacy.PersonalDataErasedAttribute"/> flags set), without any key; no consumer can read
    /// the values. The subject's id (<see cref="Privacy.DataSubjectAttribute"/>) still travels.
    /// </summary>
    Redacted,
}
