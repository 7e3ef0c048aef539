#!/usr/bin/env python3
"""Where a .NET process's CPU goes, from `perf script` output of a perf record of that process.

Record (as root; the .NET process started with DOTNET_PerfMapEnabled=1 so perf can name JIT-compiled methods from
/tmp/perf-PID.map):
    perf record -F 999 -g -p PID -o trace.data -- sleep 13
    perf script -i trace.data > trace.txt
Usage:
    python3 benchmarks/tools/perf_summary.py trace.txt [--ms-per-request MS] [--top 40]

Unlike EventPipe's sampled thread time (speedscope_summary.py), perf's cpu-clock samples are taken only while a thread
is running on a core, in user or kernel mode, on every thread of the process (the server GC's threads included), so the
shares are shares of CPU time. Stacks are walked by frame pointers: JIT-compiled code and the kernel keep them; a
native library built without them can cut a stack short, which leaves its samples attributed to that library alone.

Output, as shares of all samples (and ms per request with --ms-per-request):
  (b) by component: the garbage collector, the JIT, the rest of the runtime (libcoreclr), OpenSSL, the kernel and
      libc, then managed code by the namespace of the innermost frame that is not .NET plumbing (System.Private.CoreLib,
      collections, LINQ, sockets, pipelines); a second table charges kernel, libc and System.Native time to the managed
      component that made the call (a socket send by Npgsql counts as Npgsql);
  (a) the top frames by inclusive time; (c) by self time; (d) kernel time by the system call or kernel path;
  (e) runtime (libcoreclr) time by its managed caller; (f) Npgsql, Marten and JasperFx time by library operation;
  and the code tier of the innermost managed frame (QuickJitted, Instrumented..., OptimizedTier1, ReadyToRun), which
  shows how much of the time ran before tiered compilation had optimized the code.
"""

import argparse
import collections
import re
import sys

PLUMBING = re.compile(
    r"^(System\.(Threading|Runtime|Collections|Linq|Buffers|Net\.Sockets|IO\.Pipelines|Memory|SpanHelpers|Span|"
    r"ReadOnlySpan|MemoryExtensions|Diagnostics|Number|String|Guid|Array|Buffer|Text\.StringBuilder|Text\.Unicode|"
    r"Text\.UTF8Encoding|Text\.Encoding|Text\.Ascii|Object|Enum|Math|BitConverter|Convert|Delegate|Func|Action|"
    r"ValueTuple|Tuple|Lazy|Nullable|Int32|Int64|DateTime|TimeSpan|Environment|GC|Exception|Type|RuntimeType|"
    r"Reflection|Activator|Net\.Primitives|Net\.IPAddress|Net\.EndPoint|Net\.Dns|SR|IO\.Stream|IO\.MemoryStream)|"
    r"Interop|Microsoft\.Win32|Internal\.|Microsoft\.Extensions\.Primitives)")

# Components by assembly (the perf map's [Assembly], or the ReadyToRun image's file name); Mediator's code is generated
# into the application's assembly, so it is found by namespace.
MANAGED = [
    ("Mediator, FluentValidation, Polly", r"(^(FluentValidation|Polly)[.!]|!Mediator\.)"),
    ("Npgsql", r"^Npgsql[.!]"),
    ("Marten (and Weasel)", r"^(Marten|Weasel)[.!]"),
    ("JasperFx", r"^JasperFx[.!]"),
    ("System.Text.Json", r"^System\.Text\.(Json|Encodings)"),
    ("EventSourcing.Marten", r"^EventSourcing\.Marten[.!]"),
    ("EventSourcing (core, hosting)", r"^EventSourcing[.!]"),
    ("the sample (Reservations)", r"^Reservations[.!]"),
    ("crypto (AesGcm, OpenSSL)", r"^System\.Security\.Cryptography"),
    ("ASP.NET Core and Kestrel", r"^(Microsoft\.AspNetCore|Microsoft\.Net\.Http|NetEscapades)"),
    ("logging, DI, options", r"^Microsoft\.Extensions"),
]
MANAGED = [(label, re.compile(pattern)) for label, pattern in MANAGED]
PLUMBING_LABEL = "runtime and BCL plumbing (managed: tasks, thread pool, sockets)"

FRAME = re.compile(r"^\s*([0-9a-f]+)\s+(.*?)\s+\((.*)\)\s*$")


def parse(path):
    """Yields (thread name, frames innermost first as (symbol, dso))."""
    with open(path, encoding="utf-8", errors="replace") as f:
        header, frames = None, []
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if header is not None:
                    yield header, frames
                header, frames = None, []
                continue
            if header is None:
                m = re.match(r"^(.*?)\s+\d+(/\d+)?\s+\d+\.\d+:", line)
                header = m.group(1) if m else line.split()[0]
                continue
            m = FRAME.match(line)
            if m:
                symbol = re.sub(r"\+0x[0-9a-f]+$", "", m.group(2))
                frames.append((symbol, m.group(3)))
        if header is not None:
            yield header, frames


def managed_name(symbol, dso):
    """A managed frame's name: the method from the perf map, or the assembly for ReadyToRun code (no symbols)."""
    if dso.endswith(".dll"):
        return dso.rsplit("/", 1)[-1][:-4] + "!(ReadyToRun code)"
    # perf map names: "instance void [Npgsql] Npgsql.NpgsqlCommand+<ExecuteReader>d__120::MoveNext()[QuickJitted]",
    # the code's tier in the last brackets; the result is "Npgsql!Npgsql.NpgsqlCommand+<ExecuteReader>d__120::MoveNext()"
    if symbol.startswith("stub "):
        return "(runtime stub)!" + symbol[5:]
    m = re.search(r"\[([A-Za-z0-9_.]+)\] ([^ ]+::.*?)(\[[A-Za-z0-9]+\])?$", symbol)
    return f"{m.group(1)}!{m.group(2)}" if m else symbol


DLL_PLUMBING = re.compile(
    r"^(System\.Private\.CoreLib|System\.Runtime.*|System\.Linq|System\.Collections.*|System\.Memory|System\.Threading.*"
    r"|System\.Net\.Sockets|System\.Net\.Primitives|System\.IO\.Pipelines|System\.Diagnostics\.DiagnosticSource"
    r"|Microsoft\.Extensions\.Primitives)!")


def native_kind(symbol, dso):
    base = dso.rsplit("/", 1)[-1]
    if base.startswith("libcoreclr") or base.startswith("ld-linux"):
        return "runtime (libcoreclr: allocation, casts, stubs, locks, thread statics)"
    if base.startswith("libclrjit"):
        return "JIT (libclrjit)"
    if base.startswith("libcrypto") or base.startswith("libssl") or base.startswith("libSystem.Security.Cryptography"):
        return "crypto (AesGcm, OpenSSL)"
    if dso == "[kernel.kallsyms]" or dso.startswith("[kernel") or dso == "[vdso]":
        return "kernel"
    if base.startswith(("libc.so", "libc-", "libpthread", "libm.so", "libstdc++", "libgcc")):
        return "libc"
    if base.startswith("libSystem.Native"):
        return "libSystem.Native"
    if base.endswith(".so") or ".so." in base:
        return "other native: " + base
    return None


def managed_component(name):
    for label, pattern in MANAGED:
        if pattern.search(name):
            return label
    return None


def is_plumbing(name):
    return bool(DLL_PLUMBING.search(name)) or bool(PLUMBING.search(name))


def classify(thread, frames):
    """(component by what runs, component with kernel/libc charged to the managed caller)."""
    if "GC" in thread:
        return "garbage collector (its threads)", "garbage collector (its threads)"
    if thread.startswith(".NET Tiered Com"):
        return "JIT: tiered compilation (its thread)", "JIT: tiered compilation (its thread)"
    leaf_kind = None
    for symbol, dso in frames:
        kind = native_kind(symbol, dso)
        if kind is None:
            break
        if kind in ("kernel", "libc", "libSystem.Native"):
            leaf_kind = leaf_kind or kind
            continue
        return kind, kind  # runtime, JIT, crypto: the native library itself
    managed = None
    for symbol, dso in frames:
        if native_kind(symbol, dso) is not None:
            continue
        name = managed_name(symbol, dso)
        if is_plumbing(name) or name.startswith("[unknown]"):
            continue
        managed = managed_component(name) or ("other managed: " + (name.split("!", 1)[0] if "!" in name else name.split("::")[0].rsplit(".", 1)[0])[:60])
        if name.startswith("(runtime stub)!"):
            managed = "runtime (libcoreclr: allocation, casts, stubs, locks, thread statics)"
        break
    managed = managed or PLUMBING_LABEL
    if leaf_kind is not None:
        return ("kernel" if leaf_kind == "kernel" else "libc and libSystem.Native"), managed
    return managed, managed


# Library operations, tried against every frame of a stack, innermost first: an async continuation's stack holds the
# method that resumed and the callers that resumed inline after it, not the whole logical call chain.
OPERATIONS = [
    ("idempotency claim", re.compile(r"Idempoten")),
    ("personal-data keys", re.compile(r"KeyStore|PersonalData|SealedDocuments")),
    ("reactors", re.compile(r"Reactor")),
    ("projections and the daemon", re.compile(r"Projection|Daemon|HighWater|Subscription|Checkpoint|Progression|ViewTable")),
    ("event store: stream read, append, session", re.compile(r"!EventSourcing\.Marten\.Storage\.(?!MartenErrors)")),
]


def operation(names):
    for n in names:
        if n.startswith(("EventSourcing.", "Reservations")) and "!" in n:
            found = next((label for label, pattern in OPERATIONS if pattern.search(n)), None)
            if found:
                return found
    outer = next((n for n in reversed(names) if n.startswith(("Npgsql", "Marten", "Weasel", "JasperFx")) and "!" in n), "?")
    return "no EventSourcing frame; outermost: " + re.sub(r"\(.*", "", outer)[:120]


SYSCALL = re.compile(r"^(__x64_sys_|__do_sys_|__sys_|do_epoll|do_futex|futex_)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("script")
    parser.add_argument("--ms-per-request", type=float, default=None)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()

    by_what, by_caller = collections.Counter(), collections.Counter()
    inclusive, self_time, kernel = collections.Counter(), collections.Counter(), collections.Counter()
    threads = collections.Counter()
    runtime_callers, db_operations, tiers = collections.Counter(), collections.Counter(), collections.Counter()
    total = 0
    for thread, frames in parse(args.script):
        if not frames:
            continue
        total += 1
        threads[re.sub(r"[0-9]+$", "#", thread)] += 1
        what, caller = classify(thread, frames)
        by_what[what] += 1
        by_caller[caller] += 1
        names = []
        for symbol, dso in frames:
            n = managed_name(symbol, dso) if native_kind(symbol, dso) is None else f"{symbol} ({dso.rsplit('/', 1)[-1]})"
            names.append(n)
        self_time[names[0]] += 1
        # the code tier of the innermost managed frame: the perf map's suffix, or ReadyToRun for a framework image
        tier = next((m.group(1) for m in (re.search(r"\[([A-Za-z0-9]+)\]$", sym) for sym, dso in frames if "/tmp/perf-" in dso) if m), None)
        tier = tier or next(("ReadyToRun" for sym, dso in frames if dso.endswith(".dll")), "native only")
        tiers[tier] += 1
        if what.startswith("runtime (libcoreclr"):
            runtime_callers[next((n for n, (sym, dso) in zip(names, frames) if native_kind(sym, dso) is None and not n.startswith("[unknown]")), "no managed frame")] += 1
        if caller in ("Npgsql", "Marten (and Weasel)", "JasperFx"):
            db_operations[operation(names)] += 1
        for n in set(names):
            inclusive[n] += 1
        if what == "kernel":
            # the system call (its __x64_sys_ frame), else the outermost kernel frame (an interrupt or a fault)
            k = [symbol for symbol, dso in frames if native_kind(symbol, dso) == "kernel"]
            call = next((f for f in reversed(k) if SYSCALL.match(f)), None)
            kernel[call or (k[-1] if k else "?")] += 1
    if total == 0:
        sys.exit("no samples")
    scale = args.ms_per_request / total if args.ms_per_request else None

    def row(label, n):
        per = f"{n * scale:8.3f} ms" if scale else ""
        return f"{100.0 * n / total:6.1f}%  {per}  {label}"

    print(f"file: {args.script}\nsamples: {total}")
    if scale:
        print(f"scaled: {args.ms_per_request} ms of the process's CPU per request = 100% of samples")
    print("threads (names, digits folded): " + ", ".join(f"{t} {100.0 * n / total:.1f}%" for t, n in threads.most_common(12)))
    print("code tier of the innermost managed frame: " + ", ".join(f"{t} {100.0 * n / total:.1f}%" for t, n in tiers.most_common()))
    print("\n(b) by component, what runs (kernel and libc on their own)")
    for label, n in by_what.most_common():
        print(row(label, n))
    print("\n(b') by component, kernel, libc and System.Native charged to the managed caller")
    for label, n in by_caller.most_common():
        print(row(label, n))
    print(f"\n(a) top {args.top} frames by inclusive time")
    for n, c in inclusive.most_common(args.top):
        print(row(n[:200], c))
    print("\n(c) top 30 frames by self time")
    for n, c in self_time.most_common(30):
        print(row(n[:200], c))
    print("\n(e) runtime (libcoreclr) time on request threads by the managed frame that called into it")
    for n, c in runtime_callers.most_common(20):
        print(row(n[:200], c))
    print("\n(f) Npgsql, Marten and JasperFx time (kernel time of their calls included) by the library operation on the stack")
    for n, c in db_operations.most_common():
        print(row(n, c))
    print("\n(d) kernel time by its outermost kernel frame (the system call or interrupt)")
    for n, c in kernel.most_common(15):
        print(row(n, c))


if __name__ == "__main__":
    main()
