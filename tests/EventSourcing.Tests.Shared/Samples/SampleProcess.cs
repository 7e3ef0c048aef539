using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace EventSourcing.Tests.Shared.Samples;

/// <summary>
/// The reservation sample in a process of its own (<c>dotnet Reservations.dll</c>, copied beside the tests of a project
/// that references it), as an operator runs it: in Production, configured through environment variables. As a web API
/// it listens on a free loopback port (<see cref="StartApiAsync"/>); killing it is a SIGKILL, nothing runs after it;
/// pausing it is a SIGSTOP (a long GC pause, a VM migration: its sockets stay open, nothing in it runs) until a SIGCONT.
/// </summary>
public sealed partial class SampleProcess : IAsyncDisposable
{
    private const int KeptLines = 400;

    private readonly Process _process;
    private readonly ConcurrentQueue<(long Number, string Text)> _lines = new();
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _written = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lineCount;

    private SampleProcess(Process process) => _process = process;

    /// <summary>The API's address, once it listens.</summary>
    public Uri BaseAddress => _listening.Task.IsCompletedSuccessfully ? _listening.Task.Result : throw new InvalidOperationException("The API is not listening.");

    /// <summary>The operating system's id of the process (<c>dotnet</c> runs the sample in its own process: the sample's <c>Environment.ProcessId</c>).</summary>
    public int Id => _process.Id;

    /// <summary>Whether the process has ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the process wrote (standard output and error), for failure messages.</summary>
    public string OutputTail => string.Join(Environment.NewLine, _lines.Select(l => l.Text));

    /// <summary>How many lines the process has written so far: a mark for <see cref="OutputSince"/>.</summary>
    public long LinesWritten => Interlocked.Read(ref _lineCount);

    /// <summary>The lines written after <paramref name="mark"/> (a <see cref="LinesWritten"/>), of those still kept.</summary>
    public IReadOnlyList<string> OutputSince(long mark) => [.. _lines.Where(l => l.Number > mark).Select(l => l.Text)];

    /// <summary>
    /// Runs the sample with <paramref name="arguments"/> and <paramref name="environment"/> (on top of Production), its
    /// standard output and error redirected to the caller.
    /// </summary>
    public static Process Start(IEnumerable<string> arguments, IReadOnlyDictionary<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(environment);
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Assembly());
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        return Process.Start(start) ?? throw new InvalidOperationException("The sample process did not start.");
    }

    /// <summary>
    /// Starts the sample as a web API (on a free loopback port unless <c>ASPNETCORE_URLS</c> says where) and returns once it listens (at most
    /// <paramref name="timeout"/>); its output is kept for <see cref="OutputTail"/>.
    /// </summary>
    public static async Task<SampleProcess> StartApiAsync(IReadOnlyDictionary<string, string?> environment, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var settings = new Dictionary<string, string?>(environment)
        {
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information", // says where it listens
        };
        settings.TryAdd("ASPNETCORE_URLS", "http://127.0.0.1:0");
        var sample = new SampleProcess(Start([], settings));
        sample._process.OutputDataReceived += (_, e) => sample.Keep(e.Data);
        sample._process.ErrorDataReceived += (_, e) => sample.Keep(e.Data);
        sample._process.BeginOutputReadLine();
        sample._process.BeginErrorReadLine();
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            var exited = sample._process.WaitForExitAsync(deadline.Token);
            if (await Task.WhenAny(sample._listening.Task, exited).WaitAsync(deadline.Token) != sample._listening.Task)
            {
                throw new InvalidOperationException($"The sample exited with code {sample._process.ExitCode} before listening:{Environment.NewLine}{sample.OutputTail}");
            }

            return sample;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await sample.DisposeAsync();
            throw new TimeoutException($"The sample did not listen within {timeout.TotalSeconds} s:{Environment.NewLine}{sample.OutputTail}");
        }
        catch
        {
            await sample.DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills the process outright (SIGKILL, paused or not) and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>Stops the process where it is (SIGSTOP): it keeps its sockets and connections, and runs nothing until <see cref="ResumeAsync"/>.</summary>
    public Task PauseAsync(CancellationToken cancellationToken) => SignalAsync("STOP", cancellationToken);

    /// <summary>Lets the process paused by <see cref="PauseAsync"/> run again (SIGCONT).</summary>
    public Task ResumeAsync(CancellationToken cancellationToken) => SignalAsync("CONT", cancellationToken);

    /// <summary>
    /// Waits until the process writes a line containing <paramref name="text"/> after the line <paramref name="after"/>
    /// (a <see cref="LinesWritten"/>; one it wrote already counts), at most <paramref name="timeout"/>; returns the line,
    /// or null when none came in time.
    /// </summary>
    public async Task<string?> WaitForOutputAsync(string text, long after, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            var written = Volatile.Read(ref _written).Task;
            if (OutputSince(after).FirstOrDefault(line => line.Contains(text, StringComparison.Ordinal)) is { } line)
            {
                return line;
            }

            try
            {
                await written.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return null;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
        }

        _process.Dispose();
    }

    private async Task SignalAsync(string signal, CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            throw new PlatformNotSupportedException("Pausing a process needs POSIX signals (kill).");
        }

        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            UseShellExecute = false,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("kill did not start.");
        var error = await kill.StandardError.ReadToEndAsync(cancellationToken);
        await kill.WaitForExitAsync(cancellationToken);
        if (kill.ExitCode != 0 && !_process.HasExited)
        {
            throw new InvalidOperationException($"kill -{signal} {_process.Id} failed ({kill.ExitCode}): {error}");
        }
    }

    /// <summary>The sample's assembly, copied beside the tests (with its runtime configuration) when the project references it.</summary>
    private static string Assembly()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Reservations.dll");
        return File.Exists(path) && File.Exists(Path.ChangeExtension(path, ".runtimeconfig.json"))
            ? path
            : throw new FileNotFoundException("The sample application is not beside the tests: reference samples/Reservations from the test project.", path);
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _lines.Enqueue((Interlocked.Increment(ref _lineCount), line));
        while (_lines.Count > KeptLines && _lines.TryDequeue(out _))
        {
        }

        if (Listening().Match(line) is { Success: true } match)
        {
            _listening.TrySetResult(new Uri(match.Groups[1].Value));
        }

        Interlocked.Exchange(ref _written, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex Listening();
}
