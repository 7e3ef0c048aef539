using System.Diagnostics;

namespace EventSourcing.Testing.Processes;

/// <summary>The outcome of an external command: its exit code and everything it printed.</summary>
internal sealed record ProcessResult(string Command, int ExitCode, string Output)
{
    public bool Succeeded => ExitCode == 0;

    public override string ToString() => $"`{Command}` exited with code {ExitCode}:{Environment.NewLine}{Output}";
}

/// <summary>
/// Starts external programs (no shell, arguments passed as a list, standard input closed, output captured): a command run
/// to completion, or a server left running.
/// </summary>
internal static class ExternalProcess
{
    public static async Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var output = new ProcessOutput();
        using var process = Start(fileName, arguments, output);
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill(process, entireProcessTree: true);
            throw;
        }

        return Result(process, output);
    }

    /// <summary>The synchronous form, for a process-exit handler where nothing can be awaited.</summary>
    public static ProcessResult Run(string fileName, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var output = new ProcessOutput();
        using var process = Start(fileName, arguments, output);
        if (!process.WaitForExit(timeout))
        {
            Kill(process, entireProcessTree: true);
            return new ProcessResult(Describe(process.StartInfo), -1, $"timed out after {timeout}");
        }

        process.WaitForExit();   // drains the redirected output
        return Result(process, output);
    }

    /// <summary>
    /// Starts <paramref name="fileName"/> with its standard input closed and what it prints (output and error) going to
    /// <paramref name="output"/>; the caller waits for it, or not, and disposes it.
    /// </summary>
    /// <exception cref="InvalidOperationException">The program could not be run (the message names the command).</exception>
    public static Process Start(string fileName, IEnumerable<string> arguments, ProcessOutput output)
    {
        var startInfo = StartInfo(fileName, arguments);
        var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += (_, e) => output.Append(e.Data);
        process.ErrorDataReceived += (_, e) => output.Append(e.Data);
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
        return process;
    }

    /// <summary>How to start <paramref name="fileName"/> without a shell or a window, its standard streams redirected.</summary>
    public static ProcessStartInfo StartInfo(string fileName, IEnumerable<string> arguments)
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

        return startInfo;
    }

    /// <summary>Kills <paramref name="process"/> without waiting; one that has exited already is left as it is.</summary>
    public static void Kill(Process process, bool entireProcessTree = false)
    {
        try
        {
            process.Kill(entireProcessTree);
        }
        catch (InvalidOperationException)
        {
            // It has exited already.
        }
    }

    /// <summary>Sends <c>kill -{signal}</c> to the processes with the given ids.</summary>
    public static Task<ProcessResult> SignalAsync(string signal, IEnumerable<string> processIds, CancellationToken cancellationToken) =>
        RunAsync("kill", [$"-{signal}", .. processIds], cancellationToken);

    /// <summary>Finds an executable on the PATH, as a shell would.</summary>
    public static string? FindOnPath(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, ExecutableName(name)))
            .FirstOrDefault(File.Exists);
    }

    public static string ExecutableName(string name) => OperatingSystem.IsWindows() ? name + ".exe" : name;

    private static ProcessResult Result(Process process, ProcessOutput output) =>
        new(Describe(process.StartInfo), process.ExitCode, output.ToString());

    private static string Describe(ProcessStartInfo startInfo) =>
        string.Join(' ', startInfo.ArgumentList.Prepend(startInfo.FileName));
}
