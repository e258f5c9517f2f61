#!/usr/bin/env python3
"""Smoke check of a Velero version on the e2e stack, with no CSI plugin of ours.

usage: smoke.py VELERO_VERSION   (run by `tests/e2e/run --velero VERSION --smoke`)

Brings the stack up (stack.py) with bin/velero-VERSION as server and CLI, only the S3
stand-in in the plugin dir and --features=EnableCSI, then checks that:
- BSL default is Available (Stack.up waits for it),
- `velero version` reports the server at VERSION,
- the server logged EnableCSI as its one feature flag,
- the plugin dir holds the S3 stand-in only,
- every listener is on loopback (Stack.check_listeners; controller-runtime's :8080 excepted),
- velero.log has no level=error/fatal line besides the two startup ones in STARTUP_ERRORS.
It prints `velero plugin get` (Velero's built-in plugins), then tears everything down.
The exit status is 0 only if every check passed and no process was left behind.
State and logs: /tmp/e2e-smoke-VERSION (wiped by the next run).
"""
import os
import re
import signal
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import Stack, claim  # noqa: E402

CACHE = Path(os.environ.get("E2E_CACHE", Path.home() / ".cache" / "velero-csi-e2e"))
# Logged at level=error once at startup, before the first BSL validation has been stored
# (backup-sync runs first; the BSL controller's summary counts the BSLs as listed before it).
STARTUP_ERRORS = ('msg="BackupStorageLocation is in unavailable state, skip syncing backup from it."',
                  'msg="Current BackupStorageLocations available/unavailable/unknown: 0/0/1)"')


def main():
    version = sys.argv[1]
    stack = Stack(Path(os.environ.get("E2E_STATE_ROOT", "/tmp")) / f"e2e-smoke-{version}", CACHE, None,
                  velero_version=version)

    lock = claim(stack)  # noqa: F841 (held until exit)

    failures = []
    t0 = time.time()
    try:
        print(f"== smoke {version}: starting stack in {stack.E}", flush=True)
        stack.up()  # waits for BSL Available and checks the listeners
        print(f"== smoke {version}: BSL default Available after {time.time() - t0:.1f}s", flush=True)
        out = stack.velero("version", timeout=60)
        print(out.rstrip())
        m = re.search(r"Server:\s*\n\s*Version:\s*(\S+)", out)
        if not m or m.group(1) != version:
            failures.append(f"`velero version` server is {m.group(1) if m else '?'}, want {version}")
        plugins = stack.velero("plugin", "get", timeout=60)
        print(plugins.rstrip())
        listeners = (stack.E / "logs" / "listeners.txt").read_text()
        print("listeners:\n" + listeners.rstrip())
        plugin_files = sorted(p.name for p in (stack.E / "plugins").iterdir())
        print(f"plugin dir: {plugin_files}")
        if plugin_files != ["velero-plugin-e2e-s3"]:
            failures.append(f"plugin dir holds {plugin_files}")
        log = (stack.E / "logs" / "velero.log").read_text(errors="replace")
        bad = [ln for ln in log.splitlines() if re.search(r"level=(error|fatal|panic)", ln)
               and not any(m in ln for m in STARTUP_ERRORS)]
        if bad:
            failures.append(f"{len(bad)} error lines in velero.log, first: {bad[0][:300]}")
        if 'msg="1 feature flags enabled [EnableCSI]"' not in log:
            failures.append("velero.log does not say the EnableCSI feature flag is enabled")
    except BaseException as e:  # noqa: BLE001
        failures.append(f"{type(e).__name__}: {e}")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # let the teardown finish
        stack.down()
        left = stack.leftovers()
        if left:
            failures.append(f"processes left behind: {left}")
    for f in failures:
        print(f"== smoke {version}: FAIL {f}", flush=True)
    print(f"== smoke {version}: {'FAIL' if failures else 'PASS'} in {time.time() - t0:.1f}s; "
          f"logs in {stack.E}/logs", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
