using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace EventSourcing.Tests.Shared.Samples;

/// <summary>
/// The reservation sample in a process of its own (<c>dotnet Reservations.dll</c>, copied beside the tests of a project
/// that references it), as an operator runs it: in Production, configured through environment variables. As a web API
/// it listens on a free loopback port (<see cref="StartApiAsync"/>); killing it is a SIGKILL, nothing runs after it.
/// </summary>
public sealed partial class SampleProcess : IAsyncDisposable
{
    private const int KeptLines = 400;

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SampleProcess(Process process) => _process = process;

    /// <summary>The API's address, once it listens.</summary>
    public Uri BaseAddress => _listening.Task.IsCompletedSuccessfully ? _listening.Task.Result : throw new InvalidOperationException("The API is not listening.");

    /// <summary>Whether the process has ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the process wrote (standard output and error), for failure messages.</summary>
    public string OutputTail => string.Join(Environment.NewLine, _lines);

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

    /// <summary>Kills the process outright (SIGKILL) and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
        }

        _process.Dispose();
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

        _lines.Enqueue(line);
        while (_lines.Count > KeptLines && _lines.TryDequeue(out _))
        {
        }

        if (Listening().Match(line) is { Success: true } match)
        {
            _listening.TrySetResult(new Uri(match.Groups[1].Value));
        }
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex Listening();
}
