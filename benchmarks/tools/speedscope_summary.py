#!/usr/bin/env python3
"""Where a .NET process's on-CPU time goes, from a dotnet-trace speedscope file.

Input: the .speedscope.json that `dotnet-trace collect --profile dotnet-sampled-thread-time --format Speedscope`
writes (the http scenario writes one per store when ES_BENCH_TRACE is set; see Scenarios/HttpScenario.cs).

Usage:
    python3 benchmarks/tools/speedscope_summary.py TRACE.speedscope.json [--ms-per-request MS] [--top 40]

What it counts. EventPipe's sampled thread time samples every managed thread about every 10 ms, running or not; the
speedscope export turns each thread into an "evented" profile whose stacks end in a pseudo frame: CPU_TIME (the thread
was in managed code) or UNMANAGED_CODE_TIME (in native code: a P/Invoke, a runtime helper, or blocked). The time between
two events is the time that stack was current. A stack counts as on CPU when
  - its leaf is CPU_TIME, or
  - its leaf is UNMANAGED_CODE_TIME and its innermost managed frame is not a known wait (WAITS below: epoll, the thread
    pool's semaphore, Monitor/WaitHandle/ManualResetEventSlim/SemaphoreSlim waits, Thread.Sleep, an inotify read, ...).
Everything else is waiting and is left out. "On CPU" here means running or ready to run: the sampler cannot tell a thread
that runs from one that waits for a core, nor native work from a native wait it does not know (listed under
"native, not a known wait"). Threads the runtime does not sample (the server GC's threads, the sampler's own) are not
in the file at all, so the garbage collector's own work does not appear; allocating threads stopped for a collection
show as native time in the method that allocated.

Output, all as shares of the on-CPU time (and in ms per request when --ms-per-request gives the process's CPU per
request to scale by):
  (a) the 40 frames with the most inclusive time (each frame once per stack);
  (b) time by component: the component of the innermost frame that is not .NET plumbing (CoreLib, collections, LINQ,
      sockets, pipelines: TRANSPARENT below), so a socket write by Npgsql counts as Npgsql and a dictionary lookup in
      Marten as Marten; stacks of plumbing only are "runtime and BCL plumbing";
  (c) the innermost frames (self time);
  (d) the Npgsql, Marten, Weasel and JasperFx time by the library operation found on the same stack (OPERATIONS below):
      an async continuation's stack holds the method that resumed and what it called, and the callers that resumed
      inline after it, not the whole logical call chain, so a share with no operation on its stack is listed as such.
"""

import argparse
import collections
import json
import re
import sys

WAITS = [
    "WaitForSocketEvents", "LowLevelLifoSemaphore", "LowLevelMonitor", "Monitor.Wait", "Monitor.ObjWait",
    "WaitHandle.Wait", "WaitOneNoCheck", "WaitOneCore", "WaitMultiple", "ManualResetEventSlim.Wait",
    "SemaphoreSlim.Wait", "Thread.Sleep", "SleepInternal", "Thread.Join", "WaitSubsystem", "Interop+Sys.Poll",
    "System.IO.FileSystem.Watcher!Interop+Sys.Read", "Interop+Sys.WaitPid", "TimerQueue.WaitForTimer",
    "ConsolePal", "Interop+Sys.ReadStdin", "PortableThreadPool+GateThread", "Task.SpinThenBlockingWait",
    "Task.InternalWaitCore", "WaitHandle.WaitOne", "Interop+Kernel32.WaitFor",
    "SocketAsyncEngine.EventLoop",  # its native frame is epoll_wait
    "Thread.<PollGC>", "PollGCWorker",  # stopped for a suspension: a collection's, or the sampler's own
]

TRANSPARENT = re.compile(
    r"^(System\.Private\.CoreLib|System\.Runtime(\..*)?|System\.Linq|System\.Collections(\..*)?|System\.Memory"
    r"|System\.Threading(\..*)?|System\.Net\.Sockets|System\.Net\.Primitives|System\.IO\.Pipelines"
    r"|System\.Diagnostics\.DiagnosticSource|Microsoft\.Extensions\.Primitives|System\.Buffers"
    r"|Anonymously Hosted DynamicMethods Assembly|\?)$")

COMPONENTS = [
    ("Npgsql", lambda m, n: m.startswith("Npgsql")),
    ("Marten (and Weasel)", lambda m, n: m.startswith("Marten") or m.startswith("Weasel")),
    ("JasperFx", lambda m, n: m.startswith("JasperFx")),
    ("System.Text.Json", lambda m, n: m.startswith("System.Text.Json") or m.startswith("System.Text.Encodings")),
    ("Mediator, FluentValidation, Polly", lambda m, n: n.startswith("Mediator.") or m.startswith("FluentValidation") or m.startswith("Polly")),
    ("EventSourcing.Marten", lambda m, n: m.startswith("EventSourcing.Marten")),
    ("EventSourcing (core, hosting)", lambda m, n: m.startswith("EventSourcing")),
    ("the sample (Reservations)", lambda m, n: m == "Reservations"),
    ("crypto (AesGcm, OpenSSL)", lambda m, n: m.startswith("System.Security.Cryptography") or "Interop+Crypto" in n),
    ("ASP.NET Core and Kestrel", lambda m, n: m.startswith("Microsoft.AspNetCore") or m.startswith("Microsoft.Net.Http") or m.startswith("NetEscapades")),
    ("logging, DI, options", lambda m, n: m.startswith("Microsoft.Extensions")),
]

# Library operations, tried in order against every frame of a stack, innermost first.
OPERATIONS = [
    ("idempotency claim", re.compile(r"Idempoten")),
    ("personal-data keys", re.compile(r"PersonalData|SubjectKey|KeyStore|\bKeys?\b|Crypto")),
    ("reactors", re.compile(r"Reactor")),
    ("projections and the daemon", re.compile(r"Projection|Daemon|HighWater|Subscription|Checkpoint|Progression")),
    ("event store: read, append", re.compile(r"EventSourcing\.Marten.*(Store|Stream|Append|Session)|EventSourcing.*EventStore|Marten.*(Append|QuickAppend|FetchStream|Events\.)")),
]

PLUMBING = "runtime and BCL plumbing (tasks, thread pool, sockets)"
LIBRARY_DB = {"Npgsql", "Marten (and Weasel)", "JasperFx"}


def module(name):
    return name.split("!", 1)[0] if "!" in name else ""


def method(name):
    return name.split("!", 1)[1] if "!" in name else name


def component(name):
    m, n = module(name), method(name)
    for label, test in COMPONENTS:
        if test(m, n):
            return label
    return "other: " + m


def read(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    frames = [f["name"] for f in data["shared"]["frames"]]
    stacks = collections.Counter()
    threads = 0
    span = 0.0
    for profile in data["profiles"]:
        if profile.get("type") != "evented":
            continue
        threads += 1
        span = max(span, profile["endValue"] - profile["startValue"])
        stack, last = [], None
        for event in profile["events"]:
            at = event["at"]
            if stack and last is not None and at > last:
                stacks[tuple(stack)] += at - last
            last = at
            if event["type"] == "O":
                stack.append(event["frame"])
            else:
                # close the frame (evented profiles close in order)
                while stack:
                    if stack.pop() == event["frame"]:
                        break
    return frames, stacks, threads, span


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("trace")
    parser.add_argument("--ms-per-request", type=float, default=None, help="the process's CPU per request, to scale shares by")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()

    frames, stacks, threads, span = read(args.trace)
    cpu = collections.Counter()       # on-CPU stacks (managed frames only, outermost first) -> ms
    native = collections.Counter()    # same, when the leaf was UNMANAGED_CODE_TIME
    waited = 0.0
    for stack, ms in stacks.items():
        names = [frames[i] for i in stack]
        leaf = names[-1]
        managed = tuple(n for n in names if "!" in n)
        # the innermost frame with a name (P/Invoke stubs and native frames show as "?!?")
        inner = next((n for n in reversed(managed) if n != "?!?"), "")
        if leaf not in ("CPU_TIME", "UNMANAGED_CODE_TIME") or not inner or any(w in inner for w in WAITS):
            waited += ms
            continue
        cpu[managed] += ms
        if leaf == "UNMANAGED_CODE_TIME" or managed[-1] == "?!?":
            native[managed] += ms
    total = sum(cpu.values())
    if total == 0:
        sys.exit("no on-CPU samples")
    scale = (args.ms_per_request / total) if args.ms_per_request else None

    def row(label, ms, extra=""):
        pct = 100.0 * ms / total
        per = f"{ms * scale:8.3f} ms" if scale else ""
        return f"{pct:6.1f}%  {per}  {label}{extra}"

    print(f"file: {args.trace}")
    print(f"threads: {threads}, span {span / 1000:.1f} s; thread time sampled {(total + waited) / 1000:.1f} s, "
          f"of which on CPU {total / 1000:.2f} s ({total / span:.2f} threads on average), waiting {waited / 1000:.1f} s; "
          f"native, not a known wait: {100 * sum(native.values()) / total:.1f}% of on-CPU")
    if scale:
        print(f"scaled: {args.ms_per_request} ms of the process's CPU per request = 100% of on-CPU samples")

    print(f"\n(b) on-CPU time by component (innermost frame that is not plumbing)")
    by_component = collections.Counter()
    native_component = collections.Counter()
    for stack, ms in cpu.items():
        label = next((component(n) for n in reversed(stack) if not TRANSPARENT.match(module(n))), PLUMBING)
        by_component[label] += ms
        native_component[label] += native.get(stack, 0.0)
    for label, ms in by_component.most_common():
        print(row(label, ms, f"  (native {100 * native_component[label] / ms:.0f}%)"))

    print(f"\n(a) top {args.top} frames by inclusive on-CPU time")
    inclusive = collections.Counter()
    for stack, ms in cpu.items():
        for n in set(stack):
            inclusive[n] += ms
    for n, ms in inclusive.most_common(args.top):
        print(row(n[:200], ms))

    print(f"\n(c) top 30 frames by self on-CPU time (innermost managed frame)")
    self_time = collections.Counter()
    for stack, ms in cpu.items():
        named = next((n for n in reversed(stack) if n != "?!?"), "?")
        self_time[named + (" > native or stub (?!?)" if stack and stack[-1] == "?!?" else "")] += ms
    for n, ms in self_time.most_common(30):
        print(row(n[:200], ms))

    print(f"\n(d) Npgsql, Marten, Weasel and JasperFx time by the library operation on the same stack")
    operations = collections.Counter()
    operation_frames = collections.defaultdict(collections.Counter)
    db_total = 0.0
    for stack, ms in cpu.items():
        label = next((component(n) for n in reversed(stack) if not TRANSPARENT.match(module(n))), PLUMBING)
        if label not in LIBRARY_DB:
            continue
        db_total += ms
        found = None
        for n in reversed(stack):
            if not (module(n).startswith("EventSourcing") or module(n) == "Reservations"):
                continue
            found = next((op for op, pattern in OPERATIONS if pattern.search(method(n))), None)
            if found:
                operation_frames[found][n] += ms
                break
        if not found:
            # no library frame: name the outermost Marten, Npgsql or JasperFx frame that resumed
            outer = next((n for n in stack if module(n).startswith(("Marten", "Weasel", "JasperFx", "Npgsql"))), "?")
            found = "no EventSourcing frame on the stack"
            operation_frames[found][outer] += ms
        operations[found] += ms
    print(row("all of Npgsql, Marten, Weasel and JasperFx", db_total))
    for op, ms in operations.most_common():
        print(row(op, ms))
        for n, fms in operation_frames[op].most_common(5):
            print("          " + row(n[:180], fms))


if __name__ == "__main__":
    main()
