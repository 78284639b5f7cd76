"""Installs bench.probe in processes started by the benchmark (and only there).

The harness puts this folder on PYTHONPATH for the servers it starts and sets
DUTYCHAT_BENCH_PROBE_DIR; without that variable this does nothing.
"""

import os

if os.environ.get("DUTYCHAT_BENCH_PROBE_DIR"):
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(
        "dutychat_bench_probe", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "probe.py")
    )
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        sys.modules["dutychat_bench_probe"] = module
        spec.loader.exec_module(module)
        module.install(os.environ["DUTYCHAT_BENCH_PROBE_DIR"])
