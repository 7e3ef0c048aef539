using System.Text;

namespace EventSourcing.Testing.Processes;

/// <summary>What a process printed, standard output and error interleaved in arrival order; the events fire on pool threads.</summary>
internal sealed class ProcessOutput
{
    private readonly StringBuilder _text = new();
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
