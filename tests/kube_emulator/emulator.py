#!/usr/bin/python3
"""fatectl's Kubernetes API emulator: an HTTPS API server (Python standard library only) that behaves
like kube-apiserver plus the controllers fatectl relies on, checked with the real kubectl.

Run with Debian's /usr/bin/python3; normally started by scripts/kube-emulator, which makes the
certificates and the kubeconfig. Modules: kube_model.py (registry, Status, selectors, patches, SSA
field sets), emu_core.py (store, API operations, controllers), emu_http.py (HTTPS, discovery, watch,
exec, faults, admin API). See README.md and CONFORMANCE.md beside this file."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from emu_core import Emulator  # noqa: E402
from emu_http import serve_main  # noqa: E402

if __name__ == "__main__":
    serve_main(Emulator)
