"""Import TensorFlow without its C++ start-up lines reaching the user's console.

TensorFlow's native libraries print informational lines (oneDNN, CPU features, absl's
"all log messages before absl::InitializeLog()") straight to file descriptor 2 while it
is imported, before ``TF_CPP_MIN_LOG_LEVEL`` is read by absl. :func:`import_tensorflow`
captures descriptor 2 during that import only and writes back every line that is not one
of those known informational lines, so real errors still reach the console.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from types import ModuleType

#: Lines TensorFlow prints on every start that say nothing about the user's work.
_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|[IW]\d{4} [\d:. ]+\d+ (port|cpu_feature_guard)\.cc:\d+\]"
    r"|To enable the following instructions: .* rebuild TensorFlow)"
)
#: Held by every redirection of descriptor 2 in this package (here, image decoding, the
#: LiteRT converter), so that overlapping ones cannot leave it pointing at a closed file.
STDERR_LOCK = threading.RLock()
_LOCK = STDERR_LOCK


def _is_noise(line: str) -> bool:
    return bool(_NOISE.match(line))


def import_tensorflow() -> ModuleType:
    """``import tensorflow``, with its known start-up lines filtered out of stderr."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _LOCK:
        if "tensorflow" in sys.modules:
            return sys.modules["tensorflow"]
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError):  # no real descriptor 2: nothing to filter
            import tensorflow

            return tensorflow
        with tempfile.TemporaryFile(mode="w+b") as capture:
            os.dup2(capture.fileno(), 2)
            try:
                import tensorflow
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                capture.seek(0)
                text = capture.read().decode("utf-8", "replace")
                kept = [line for line in text.splitlines() if line and not _is_noise(line)]
                if kept:
                    sys.stderr.write("\n".join(kept) + "\n")
                    sys.stderr.flush()
        return tensorflow
