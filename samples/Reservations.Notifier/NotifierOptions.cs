namespace Reservations.Notifier;

/// <summary>The notifier's settings (section <c>Notifier</c>).</summary>
public sealed class NotifierOptions
{
    public const string Section = "Notifier";

    /// <summary>The folder the e-mails are written to, one file per confirmed reservation. Default <c>./outbox/</c>.</summary>
    public string Outbox { get; set; } = "outbox";

    /// <summary>The durable JetStream consumer's name: JetStream keeps the notifier's position under it.</summary>
    public string DurableName { get; set; } = "reservations-notifier";

    /// <summary>The sender written in each e-mail.</summary>
    public string From { get; set; } = "reservations@example.com";
}
