using System.Security.Cryptography;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using EventSourcing.Benchmarks.Domain;
using EventSourcing.Benchmarks.Harness;
using EventSourcing.Events;
using EventSourcing.Privacy;
using Microsoft.Extensions.DependencyInjection;

namespace EventSourcing.Benchmarks.Scenarios;

public static partial class CryptoScenario
{
    public const string PartsName = "crypto-parts";

    /// <summary>The parts alone (<see cref="PartsName"/>): a report of their own.</summary>
    public static async Task<ScenarioReport> RunPartsAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var report = new ScenarioReport(PartsName, context.Quick) { Machine = await context.DescribeAsync(withPostgres: false, cancellationToken).ConfigureAwait(false) };
        await PartsAsync(context, report, cancellationToken).ConfigureAwait(false);
        report.Notes.Add("BenchmarkDotNet, in-process toolchain; the event has three personal fields of one guest, whose key is cached");
        return report;
    }

    /// <summary>
    /// Where an event's crypto-shredding time goes, under BenchmarkDotNet: one event (three personal fields of one guest)
    /// serialized without personal data, with each value sealed alone (format 1) and with the guest's values sealed
    /// together (format 2, as the stores write events), read back, and one AES-GCM operation over as many bytes alone.
    /// </summary>
    private static async Task PartsAsync(BenchmarkContext context, ScenarioReport report, CancellationToken cancellationToken)
    {
        var job = (context.Quick ? Job.Dry.WithIterationCount(2) : Job.Default.WithWarmupCount(3).WithIterationCount(15))
            .WithToolchain(InProcessEmitToolchain.Instance);
        var config = BenchmarkDotNetRun.Config(context, job);
        var summary = await Task.Run(() => BenchmarkRunner.Run<CryptoPartsBenchmarks>(config), cancellationToken).ConfigureAwait(false);
        if (summary.HasCriticalValidationErrors || summary.Reports.Any(r => !r.Success))
        {
            throw new InvalidOperationException("BenchmarkDotNet could not run the crypto parts: " + string.Join("; ", summary.ValidationErrors.Select(e => e.Message)));
        }

        var plain = BenchmarkDotNetRun.Mean(summary, nameof(CryptoPartsBenchmarks.SerializePlain));
        foreach (var (method, label) in new[]
        {
            (nameof(CryptoPartsBenchmarks.SerializePlain), "parts: serialize an event, no personal data"),
            (nameof(CryptoPartsBenchmarks.SerializeEachValueSealed), "parts: serialize, 3 values sealed one by one (format 1)"),
            (nameof(CryptoPartsBenchmarks.SerializeSealedTogether), "parts: serialize, 3 values sealed together (format 2, as stored)"),
            (nameof(CryptoPartsBenchmarks.AesGcmAlone), "parts: one AES-GCM operation over the group's bytes, alone"),
            (nameof(CryptoPartsBenchmarks.DeserializePlain), "parts: deserialize an event, no personal data"),
            (nameof(CryptoPartsBenchmarks.DeserializeSealedTogether), "parts: deserialize, format 2, opened"),
        })
        {
            var (nanoseconds, allocated) = BenchmarkDotNetRun.Mean(summary, method);
            report.Add(new ResultRow(label, 1, nanoseconds / 1000, "µs/event", nanoseconds / plain.Nanoseconds, "of serialize plain"));
            report.Add(new ResultRow(label, 1, allocated, "bytes allocated/event"));
        }

        var each = BenchmarkDotNetRun.Mean(summary, nameof(CryptoPartsBenchmarks.SerializeEachValueSealed));
        var together = BenchmarkDotNetRun.Mean(summary, nameof(CryptoPartsBenchmarks.SerializeSealedTogether));
        report.Add(new ResultRow("parts: events serialized, 3 values sealed together (format 2), one thread", 1, 1e9 / together.Nanoseconds, "events/s"));
        report.Add(new ResultRow("parts: events serialized, 3 values sealed one by one (format 1), one thread", 1, 1e9 / each.Nanoseconds, "events/s"));
        report.Check("sealing together (one AES-GCM operation) takes less time than one by one (three)", $"{together.Nanoseconds / each.Nanoseconds:0.00}x the time", together.Nanoseconds < each.Nanoseconds);
        report.Check("sealing together allocates less than one by one", $"{together.Allocated:N0} vs {each.Allocated:N0} bytes", together.Allocated < each.Allocated);
    }

}

/// <summary>The BenchmarkDotNet class of <see cref="CryptoScenario"/>'s parts: one event per invocation, its guest's key cached.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822:Mark members as static", Justification = "BenchmarkDotNet methods are instance methods.")]
public class CryptoPartsBenchmarks : IDisposable
{
    private readonly ServiceProvider _services = Apps.Build(postgres: null);
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly byte[] _nonce = new byte[12];
    private readonly byte[] _tag = new byte[16];
    private readonly byte[] _plaintext = new byte[110];
    private readonly byte[] _ciphertext = new byte[110];
    private readonly byte[] _associated = new byte[64];
    private IEventSerializer _serializer = null!;
    private JsonSerializerOptions _options = null!;
    private AesGcm _aes = null!;
    private object _plainEvent = null!;
    private object _personalEvent = null!;
    private SerializedEvent _storedPlain = null!;
    private SerializedEvent _storedPersonal = null!;

    [GlobalSetup]
    public void Setup()
    {
        _serializer = _services.GetRequiredService<IEventSerializer>();
        _options = _services.GetRequiredService<EventSourcingJson>().Options;
        _aes = new AesGcm(_key, 16);
        _plainEvent = Ledger.Event(1, personal: false);
        _personalEvent = Ledger.Event(1, personal: true);
        _storedPlain = _serializer.Serialize(_plainEvent);
        _storedPersonal = _serializer.Serialize(_personalEvent); // creates the guest's key
    }

    [Benchmark(Baseline = true)]
    public SerializedEvent SerializePlain() => _serializer.Serialize(_plainEvent);

    [Benchmark]
    public byte[] SerializeEachValueSealed() => JsonSerializer.SerializeToUtf8Bytes(_personalEvent, _personalEvent.GetType(), _options);

    [Benchmark]
    public SerializedEvent SerializeSealedTogether() => _serializer.Serialize(_personalEvent);

    [Benchmark]
    public byte[] AesGcmAlone()
    {
        _aes.Encrypt(_nonce, _plaintext, _ciphertext, _tag, _associated);
        return _ciphertext;
    }

    [Benchmark]
    public object DeserializePlain() => _serializer.Deserialize(_storedPlain.EventType, _storedPlain.Data).Data;

    [Benchmark]
    public object DeserializeSealedTogether() => _serializer.Deserialize(_storedPersonal.EventType, _storedPersonal.Data).Data;

    public void Dispose()
    {
        _aes?.Dispose();
        _services.Dispose();
        GC.SuppressFinalize(this);
    }
}
