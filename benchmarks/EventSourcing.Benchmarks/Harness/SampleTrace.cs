using System.Diagnostics;
using System.Globalization;

namespace EventSourcing.Benchmarks.Harness;

/// <summary>
/// An opt-in sampled profile of the sample's process: with <see cref="DirectoryVariable"/> set to a folder, <c>dotnet-trace</c>
/// (the tool named by <see cref="ToolVariable"/>, otherwise the one on the path) collects EventPipe's sampled thread time
/// from the process for a while and writes a <c>.nettrace</c> and a <c>.speedscope.json</c> there. Off when the variable
/// is not set; summarize the output with <c>benchmarks/tools/speedscope_summary.py</c>.
/// </summary>
internal sealed class SampleTrace(Process tool, string output)
{
    public const string DirectoryVariable = "ES_BENCH_TRACE";
    public const string ToolVariable = "ES_BENCH_DOTNET_TRACE";

    private readonly Task<string> _output = tool.StandardOutput.ReadToEndAsync();
    private readonly Task<string> _errors = tool.StandardError.ReadToEndAsync();

    /// <summary>Starts tracing process <paramref name="processId"/> for <paramref name="duration"/>, or returns null when tracing is off.</summary>
    public static SampleTrace? Start(int processId, string name, TimeSpan duration, BenchmarkContext context)
    {
        if (Environment.GetEnvironmentVariable(DirectoryVariable) is not { Length: > 0 } directory)
        {
            return null;
        }

        Directory.CreateDirectory(directory);
        var output = Path.Combine(Path.GetFullPath(directory), name + ".nettrace");
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable(ToolVariable) is { Length: > 0 } tool ? tool : "dotnet-trace")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
                 {
                     "collect", "-p", processId.ToString(CultureInfo.InvariantCulture), "--profile", "dotnet-sampled-thread-time",
                     "--format", "Speedscope", "--duration", duration.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture), "-o", output,
                 })
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {info.FileName}.");
        context.Log($"tracing the sample (pid {processId}) for {duration.TotalSeconds:0} s into {output}");
        return new SampleTrace(process, output);
    }

    /// <summary>Waits for the trace to end and its speedscope file to be written.</summary>
    public async Task WaitAsync(BenchmarkContext context)
    {
        await tool.WaitForExitAsync().ConfigureAwait(false);
        var said = (await _output.ConfigureAwait(false) + await _errors.ConfigureAwait(false)).Trim();
        var speedscope = Path.ChangeExtension(output, ".speedscope.json");
        context.Log(tool.ExitCode == 0 && File.Exists(speedscope)
            ? $"trace written: {speedscope}"
            : $"dotnet-trace exited with {tool.ExitCode}: {said[Math.Max(0, said.Length - 2000)..]}");
        tool.Dispose();
    }
}
