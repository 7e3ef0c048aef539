namespace EventSourcing.Privacy;

/// <summary>
/// Crypto-shredding settings, bound from the configuration section <c>EventSourcing:PersonalData</c> (environment variables
/// <c>EventSourcing__PersonalData__MasterKey</c> and so on); <c>ConfigurePersonalData</c> in code wins over configuration.
/// </summary>
public sealed class PersonalDataOptions
{
    /// <summary>The configuration section the options are bound from.</summary>
    public const string Section = "EventSourcing:PersonalData";

    /// <summary>
    /// The master key that wraps every subject's data key: 32 bytes, base64. Required by the PostgreSQL key store outside
    /// Development; the in-memory store makes a random one per process when none is set.
    /// </summary>
    public string? MasterKey { get; set; }

    /// <summary>A name for the master key, stored with each wrapped key so a rotation knows what wrapped it. Default <c>"default"</c>.</summary>
    public string MasterKeyId { get; set; } = "default";

    /// <summary>
    /// Whether a forgotten subject may get a new key when new personal data of theirs is written (their old data stays
    /// unreadable). Default false: writing personal data of a forgotten subject fails with <see cref="SubjectForgottenException"/>.
    /// </summary>
    public bool AllowNewKeyAfterForget { get; set; }

    /// <summary>How many subjects' keys are kept in memory. Default 10,000.</summary>
    public int KeyCacheSize { get; set; } = 10_000;

    /// <summary>How long a cached key (or a cached "no key") is kept before the key store is asked again. Default 1 minute.</summary>
    public TimeSpan KeyCacheDuration { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// With a key store several processes share (PostgreSQL): the longest time after a forget commits during which another
    /// process may still use the subject's cached key. Each process confirms four times within it that it has heard of
    /// every forget, and trusts its cached keys only while it has; <see cref="Erasure.PersonalDataEraser.ForgetAsync"/> returns
    /// once it has passed. Default 1 second.
    /// </summary>
    public TimeSpan ForgetPropagation { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>What erased strings read as, unless their attribute says otherwise. Default <c>"[erased]"</c>.</summary>
    public string ErasedPlaceholder { get; set; } = "[erased]";
}
