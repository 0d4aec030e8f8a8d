"""bcmkube lab stand-in, NOT Ansible: the lab has no PyPI, so the Kubespray stand-in's requirements.txt names
this package instead of ansible. Its ansible-playbook entry point runs the machine's real ansible-playbook
(Debian's), so the venv that bcmkube builds, caches and version-checks runs real Ansible."""
import os
import sys


def main():
    venv_bin = os.path.dirname(os.path.abspath(sys.argv[0]))
    for d in os.environ.get("PATH", "").split(os.pathsep):
        candidate = os.path.join(d, "ansible-playbook")
        if d and os.path.abspath(d) != venv_bin and os.access(candidate, os.X_OK):
            os.execv(candidate, [candidate] + sys.argv[1:])
    sys.stderr.write("bcmkube lab ansible shim: no system ansible-playbook on PATH\n")
    return 127
