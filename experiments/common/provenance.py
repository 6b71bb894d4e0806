#!/usr/bin/python3
"""Where a result came from: the git commit of this repository and the hash
of a run's saved config.yaml.

  provenance.py record RUN_DIR   add this checkout's commit to RUN_DIR/provenance.json

The commit is `git rev-parse --short HEAD`, with "-dirty" appended when src/
has changes that are not committed (modified, staged or untracked files): the
binary built from such a tree is not the commit's. It is "unknown" outside a
git checkout. RUN_DIR/provenance.json is {"commits": [...]}: the commit of
every sitting that ran the run, in order (a run resumed at a later commit
lists both). The config hash is not stored: it is the first 12 hex digits of
the sha256 of RUN_DIR/config.yaml (the resolved config abmil saves), so it is
computed from that file when a table is made.
"""
import hashlib
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILE = "provenance.json"


def git_commit(repo=REPO):
    """Short HEAD commit of repo, "-dirty" if src/ has uncommitted changes."""
    def git(*args):
        return subprocess.run(["git", "-C", repo, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True, check=True).stdout.strip()
    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", "src")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def config_sha(path):
    """First 12 hex digits of the sha256 of the file at path; "" if there is none."""
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()[:12]
    except FileNotFoundError:
        return ""


def commits(run_dir):
    """The commits recorded for run_dir, or None when it has no provenance.json."""
    try:
        with open(os.path.join(run_dir, FILE)) as f:
            return list(json.load(f)["commits"])
    except FileNotFoundError:
        return None


def record(run_dir, commit=None):
    """Appends commit (default: this checkout's) to run_dir/provenance.json
    unless it is already the last one; returns the list."""
    commit = commit or git_commit()
    done = commits(run_dir) or []
    if done[-1:] != [commit]:
        done.append(commit)
        tmp = os.path.join(run_dir, FILE + ".tmp")
        with open(tmp, "w") as f:
            json.dump({"commits": done}, f)
            f.write("\n")
        os.replace(tmp, os.path.join(run_dir, FILE))
    return done


def main(argv):
    if len(argv) != 2 or argv[0] != "record" or not os.path.isdir(argv[1]):
        print("usage: provenance.py record RUN_DIR (an existing run directory)", file=sys.stderr)
        return 2
    record(argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
