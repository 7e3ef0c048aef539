using System.Globalization;
using System.Text;
using EventSourcing.Nats;
using Microsoft.Extensions.Options;

namespace Reservations.Notifier;

/// <summary>
/// For each confirmed reservation, writes the e-mail the venue would send to the outbox, as <c>{reservation id}.eml</c>,
/// and logs a line; nothing is sent. The file is the record of the work done: a confirmation delivered again (or read
/// again by a new durable) finds it and writes nothing, so each reservation gets one e-mail.
/// </summary>
public sealed partial class ConfirmationMailer(
    PlacementLookup placements,
    IPlacementReader reader,
    IOptions<NotifierOptions> options,
    TimeProvider timeProvider,
    ILogger<ConfirmationMailer> logger) : IReceivedEventProcessor
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    public async Task HandleAsync(ReceivedEvent received, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(received);
        var outbox = Path.GetFullPath(options.Value.Outbox);
        var reservation = received.StreamId["reservation-".Length..];
        var path = Path.Combine(outbox, $"{reservation}.eml");
        if (File.Exists(path))
        {
            LogAlreadyWritten(logger, reservation);
            return;
        }

        var body = await placements.FirstEventAsync(received.StreamId, cancellationToken)
            ?? throw new InvalidOperationException($"JetStream holds no placement for {received.StreamId}: the confirmation is tried again.");
        var placement = await reader.ReadAsync(body, cancellationToken);
        Directory.CreateDirectory(outbox);
        var temporary = Path.Combine(outbox, $".{reservation}.{Guid.NewGuid():N}.tmp");
        await File.WriteAllTextAsync(temporary, Compose(placement, received), Utf8, cancellationToken);
        try
        {
            File.Move(temporary, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temporary); // written at the same time by another delivery: one e-mail all the same
            return;
        }

        LogWritten(logger, reservation, path, placement.Access);
    }

    private string Compose(Placement placement, ReceivedEvent confirmation)
    {
        var to = placement.Access switch
        {
            PersonalDataAccess.Sealed => $"guest {placement.GuestId} (name and address sealed: the notifier does not share the API's key store)",
            _ => $"{OneLine(placement.GuestName)} <{OneLine(placement.GuestEmail)}>",
        };
        var greeting = placement.Access == PersonalDataAccess.Sealed ? "Dear guest" : $"Dear {OneLine(placement.GuestName)}";
        var text = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"From: {options.Value.From}\n")
            .Append(CultureInfo.InvariantCulture, $"To: {to}\n")
            .Append(CultureInfo.InvariantCulture, $"Subject: Your reservation for {placement.Day:yyyy-MM-dd} is confirmed\n")
            .Append(CultureInfo.InvariantCulture, $"Date: {timeProvider.GetUtcNow():R}\n")
            .Append(CultureInfo.InvariantCulture, $"X-Reservation-Id: {placement.Id}\n")
            .Append(CultureInfo.InvariantCulture, $"X-Event-Id: {confirmation.EventId}\n")
            .Append(CultureInfo.InvariantCulture, $"X-Personal-Data: {placement.Access.ToString().ToLowerInvariant()}\n")
            .Append('\n')
            .Append(CultureInfo.InvariantCulture, $"{greeting},\n\n")
            .Append(CultureInfo.InvariantCulture, $"your table for {placement.PartySize} on {placement.Day:dddd d MMMM yyyy} is confirmed.\n")
            .Append(CultureInfo.InvariantCulture, $"Reservation {placement.Id}.\n");
        return text.ToString();
    }

    /// <summary>A value on one line: a line break in a name cannot add a header to the e-mail.</summary>
    private static string OneLine(string? value) => string.Concat((value ?? string.Empty).Select(c => char.IsControl(c) ? ' ' : c));

    [LoggerMessage(Level = LogLevel.Information, Message = "E-mail for the confirmed reservation {Reservation} written to {Path} (personal data: {Access}); nothing was sent")]
    private static partial void LogWritten(ILogger logger, string reservation, string path, PersonalDataAccess access);

    [LoggerMessage(Level = LogLevel.Information, Message = "The e-mail for reservation {Reservation} was written before: nothing to do")]
    private static partial void LogAlreadyWritten(ILogger logger, string reservation);
}
