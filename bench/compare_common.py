"""What the side-by-side scripts (bench/compare, bench/compare-mqtt) share: free ports,
waiting for a server to listen, a process's memory and CPU, one tern-bench run, and
rewriting one marked section of docs/BENCHMARKS.md."""
import json, os, socket, subprocess, sys, time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, name):
    for _ in range(200):
        if proc.poll() is not None:
            sys.exit(f"compare: {name} exited at start-up")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"compare: {name} did not start listening on {port}")


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid):
    """User + system CPU time the process has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def run_bench(command, server_pid):
    """Runs one tern-bench command line (ending in --json); the result carries the server's
    peak RSS and the CPU seconds it used during the run."""
    cpu_before = cpu_seconds(server_pid)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, rss_kb(server_pid))
        time.sleep(0.05)
    stdout, stderr = proc.communicate(timeout=300)
    try:
        result = json.loads(stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        result = {"ok": False, "error": stderr.strip()[-200:]}
    result["peak_rss_kb"] = peak
    result["server_cpu_s"] = cpu_seconds(server_pid) - cpu_before
    return result


def replace_section(path, begin, end, lines):
    """Rewrites the text between the begin and end markers (appends them if missing)."""
    generated = begin + "\n" + "\n".join(lines) + "\n" + end
    text = open(path).read() if os.path.exists(path) else ""
    if begin in text and end in text:
        text = text[:text.index(begin)] + generated + text[text.index(end) + len(end):]
    else:
        text = text + "\n" + generated + "\n"
    with open(path, "w") as f:
        f.write(text)
