"""The Apache Kafka broker's jars, fetched from Maven Central into the project cache.

No Docker and no Kafka tarball: Maven resolves `org.apache.kafka:kafka_2.13`
with its runtime dependencies (plus a reload4j logging binding) from the POM
next to this file. A marker file is written only after a complete fetch, so an
interrupted fetch is redone rather than half-used.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

KAFKA_VERSION = "3.9.1"
POM = Path(__file__).with_name("kafka-pom.xml")
MIN_JAVA = 17
_MARKER = ".complete"
_INSTALL_HINT = (
    "install them (e.g. `apt-get install -y openjdk-17-jre-headless maven`), "
    "or set KAFKA_BOOTSTRAP_SERVERS to an existing Kafka cluster")


class KafkaSetupError(RuntimeError):
    """Java, Maven or the jars are missing; the message says what to do instead."""


def kafka_home(cache_dir: Path) -> Path:
    """Where this Kafka version's jars live inside the cache."""
    return cache_dir / "kafka" / KAFKA_VERSION


def java_executable() -> str:
    """Path of a `java` of version 17 or newer (JAVA_HOME first, then PATH)."""
    java_home = os.environ.get("JAVA_HOME")
    candidate = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not candidate or not Path(candidate).exists():
        raise KafkaSetupError(f"`java` ({MIN_JAVA}+) is needed to run the local Kafka broker: "
                              + _INSTALL_HINT)
    result = subprocess.run([candidate, "-version"], capture_output=True, text=True, check=False)
    found = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    major = int(found.group(1)) if found else 0
    if major == 1 and found and found.group(2):  # "1.8.0" style = Java 8
        major = int(found.group(2))
    if major < MIN_JAVA:
        raise KafkaSetupError(f"{candidate} is Java {major or '?'}; Kafka {KAFKA_VERSION} here "
                              f"needs Java {MIN_JAVA}+: " + _INSTALL_HINT)
    return candidate


def ensure_kafka_jars(cache_dir: Path, *, quiet: bool = False) -> Path:
    """Fetch the broker's jars once; return the `libs/` folder (idempotent, uses the cache)."""
    home = kafka_home(cache_dir.resolve())
    libs = home / "libs"
    if (home / _MARKER).exists() and any(libs.glob("kafka_2.13-*.jar")):
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaSetupError("Maven (`mvn`) is needed once to fetch the Kafka broker's jars "
                              "from Maven Central: " + _INSTALL_HINT)
    if libs.exists():  # left over from an interrupted fetch
        shutil.rmtree(libs)
    libs.mkdir(parents=True)
    if not quiet:
        print(f"fetching Apache Kafka {KAFKA_VERSION} jars from Maven Central into {libs} "
              "(first run only, ~30 s)...", flush=True)
    started = time.monotonic()
    result = subprocess.run(
        [mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
         "-DincludeScope=runtime", f"-DoutputDirectory={libs}"],
        capture_output=True, text=True, check=False)
    if result.returncode != 0 or not any(libs.glob("kafka_2.13-*.jar")):
        raise KafkaSetupError(
            f"fetching the Kafka jars failed (mvn exit {result.returncode}):\n"
            f"{(result.stdout + result.stderr)[-3000:]}\n"
            "Check access to Maven Central, or set KAFKA_BOOTSTRAP_SERVERS to an existing cluster.")
    (home / _MARKER).write_text(f"{KAFKA_VERSION}\n")
    if not quiet:
        count = len(list(libs.glob("*.jar")))
        print(f"fetched {count} jars in {time.monotonic() - started:.1f}s", flush=True)
    return libs
