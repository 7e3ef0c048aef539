using System.Runtime.InteropServices;

namespace EventSourcing.Testing.Processes;

/// <summary>
/// The cleanup of a throwaway server, done once: by its owner's dispose (<see cref="ClaimForDispose"/>), or, if the owner
/// never disposes it, at process exit or SIGTERM (.NET 10 no longer raises ProcessExit on SIGTERM, hence both), where the
/// action given runs and nothing can be awaited or thrown.
/// </summary>
internal sealed class ExitCleanup
{
    private readonly Action _atExit;
    private readonly PosixSignalRegistration? _sigterm;
    private int _claimed;

    public ExitCleanup(Action atExit)
    {
        _atExit = atExit;
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
        try
        {
            _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => RunAtExit());
        }
        catch (PlatformNotSupportedException)
        {
            // ProcessExit alone, then.
        }
    }

    /// <summary>
    /// Takes the cleanup for the owner's dispose, and stops listening for the exit: false when it was taken already (a
    /// second dispose, or the process is exiting), and the caller does nothing.
    /// </summary>
    public bool ClaimForDispose()
    {
        if (Interlocked.Exchange(ref _claimed, 1) == 1)
        {
            return false;
        }

        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        _sigterm?.Dispose();
        return true;
    }

    private void OnProcessExit(object? sender, EventArgs e) => RunAtExit();

    private void RunAtExit()
    {
        if (Interlocked.Exchange(ref _claimed, 1) == 0)
        {
            _atExit();
        }
    }
}
