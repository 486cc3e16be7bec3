"""Host a librdkafka mock cluster in its own process (tooling.md section 3).

Usage: ``python kmockhost.py BROKERS [TOPIC:PARTITIONS ...]``. Prints the bootstrap servers on the
first stdout line, then serves until SIGTERM. Topics are created through the C API because the
mock does not implement CreateTopics.
"""

from __future__ import annotations

import ctypes
import glob
import os
import signal
import sys
import time

import confluent_kafka


def main() -> None:
    libdir = os.path.join(
        os.path.dirname(confluent_kafka.__file__), os.pardir, "confluent_kafka.libs"
    )
    lib = ctypes.CDLL(glob.glob(os.path.join(libdir, "librdkafka*.so*"))[0])
    vp, cp, ci = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    lib.rd_kafka_conf_new.restype = vp
    lib.rd_kafka_conf_set.argtypes = [vp, cp, cp, cp, ctypes.c_size_t]
    lib.rd_kafka_new.restype = vp
    lib.rd_kafka_new.argtypes = [ci, vp, cp, ctypes.c_size_t]
    lib.rd_kafka_mock_cluster_new.restype = vp
    lib.rd_kafka_mock_cluster_new.argtypes = [vp, ci]
    lib.rd_kafka_mock_cluster_bootstraps.restype = cp
    lib.rd_kafka_mock_cluster_bootstraps.argtypes = [vp]
    lib.rd_kafka_mock_topic_create.argtypes = [vp, cp, ci, ci]
    lib.rd_kafka_mock_cluster_destroy.argtypes = [vp]
    lib.rd_kafka_destroy.argtypes = [vp]
    err = ctypes.create_string_buffer(512)
    conf = lib.rd_kafka_conf_new()
    lib.rd_kafka_conf_set(conf, b"log_level", b"3", err, 512)
    rk = lib.rd_kafka_new(0, conf, err, 512)
    brokers = int(sys.argv[1])
    mc = lib.rd_kafka_mock_cluster_new(rk, brokers)
    for spec in sys.argv[2:]:
        name, n = spec.split(":")
        rc = lib.rd_kafka_mock_topic_create(mc, name.encode(), int(n), min(3, brokers))
        if rc != 0:
            raise SystemExit(f"topic_create {spec} failed: {rc}")
    print(lib.rd_kafka_mock_cluster_bootstraps(mc).decode(), flush=True)
    stop: list[int] = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    while not stop:
        time.sleep(0.2)
    lib.rd_kafka_mock_cluster_destroy(mc)
    lib.rd_kafka_destroy(rk)


if __name__ == "__main__":
    main()
