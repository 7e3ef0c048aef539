using System.Diagnostics;

namespace EventSourcing.Testing.Postgres;

/// <summary>The outcome of an external command: its exit code and everything it printed.</summary>
internal sealed record ProcessResult(string Command, int ExitCode, string Output)
{
    public bool Succeeded => ExitCode == 0;

    public override string ToString() => $"`{Command}` exited with code {ExitCode}:{Environment.NewLine}{Output}";
}

/// <summary>Runs a command to completion with its output captured (no shell, arguments passed as a list).</summary>
internal static class ExternalProcess
{
    public static async Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        using var process = Start(fileName, arguments, out var output);
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            throw;
        }

        return Result(process, output);
    }

    /// <summary>The synchronous form, for a process-exit handler where nothing can be awaited.</summary>
    public static ProcessResult Run(string fileName, IEnumerable<string> arguments, TimeSpan timeout)
    {
        using var process = Start(fileName, arguments, out var output);
        if (!process.WaitForExit(timeout))
        {
            Kill(process);
            return new ProcessResult(Describe(process.StartInfo), -1, $"timed out after {timeout}");
        }

        process.WaitForExit();   // drains the redirected output
        return Result(process, output);
    }

    /// <summary>Finds an executable on the PATH, as a shell would.</summary>
    public static string? FindOnPath(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, ExecutableName(name)))
            .FirstOrDefault(File.Exists);
    }

    public static string ExecutableName(string name) => OperatingSystem.IsWindows() ? name + ".exe" : name;

    private static Process Start(string fileName, IEnumerable<string> arguments, out SynchronizedOutput output)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = startInfo };
        var captured = new SynchronizedOutput();
        process.OutputDataReceived += (_, e) => captured.Append(e.Data);
        process.ErrorDataReceived += (_, e) => captured.Append(e.Data);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            process.Dispose();
            throw new InvalidOperationException($"Could not run `{Describe(startInfo)}`: {exception.Message}", exception);
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        output = captured;
        return process;
    }

    private static ProcessResult Result(Process process, SynchronizedOutput output) =>
        new(Describe(process.StartInfo), process.ExitCode, output.ToString());

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It has exited already.
        }
    }

    private static string Describe(ProcessStartInfo startInfo) =>
        string.Join(' ', startInfo.ArgumentList.Prepend(startInfo.FileName));

    /// <summary>Standard output and error interleaved in arrival order; the events fire on pool threads.</summary>
    private sealed class SynchronizedOutput
    {
        private readonly System.Text.StringBuilder _text = new();
        private readonly Lock _lock = new();

        public void Append(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_lock)
            {
                _text.AppendLine(line);
            }
        }

        public override string ToString()
        {
            lock (_lock)
            {
                return _text.ToString();
            }
        }
    }
}
