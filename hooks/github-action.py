#!/usr/bin/env python3
"""keyward's GitHub Action: scans what an event brings in and reports it where people look.

* push: the pushed range (before..after). A new branch (before is all zeros) is scanned the
  way the pre-push hook does it: only the commits that no other branch of the remote has.
* pull_request / pull_request_target: the pull request's commits (base..head, merges
  included), with the config, baseline and rules of the *base* branch, so that a pull
  request cannot relax the rules it is checked by; every `keyward:allow` (and the other
  scanners' directives) and every baseline entry that the pull request adds is listed.
* schedule, workflow_dispatch and anything else: the whole history.

A shallow checkout is deepened (or unshallowed) until the range is complete, and the log
says so. The SARIF report (for github/codeql-action/upload-sarif), a Markdown summary in
$GITHUB_STEP_SUMMARY and `::error` annotations are written; the exit code is 1 when
findings are reported (unless INPUT_FAIL_ON_FINDINGS is false) and 2 when keyward or git
fails.

Environment: GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_WORKSPACE (default: the working
directory), GITHUB_STEP_SUMMARY, GITHUB_OUTPUT, RUNNER_TEMP, GITHUB_SERVER_URL and
GITHUB_REPOSITORY (for commit links), KEYWARD (the binary, default `keyward`), and the
action's inputs: INPUT_FAIL_ON_FINDINGS, INPUT_SARIF_FILE, INPUT_CONFIG, INPUT_BASELINE,
INPUT_ARGS, INPUT_REMOTE. Nothing here talks to anything but git's own remote.
"""

import io
import json
import os
import re
import shlex
import subprocess
import sys
import tarfile
import tempfile
import urllib.parse

ZERO = "0" * 40
CONFIG_NAMES = (".keyward.yaml", ".keyward.yml")
DEFAULT_BASELINE = ".keyward-baseline.json"
DIRECTIVE = re.compile(
    r"keyward:allow(?:-next-line)?(?![\w-])(?:\s+(?:reason=(?:\"[^\"]*\"|'[^']*'|\S+)|until=\S+))*"
    r"|gitleaks:allow(?![\w-])"
    r"|pragma:\s*allowlist[\s-]+(?:nextline\s+)?secret\b",
    re.IGNORECASE,
)


class Failure(Exception):
    """Something went wrong that is not a finding: exit 2."""


def log(message):
    print(f"keyward: {message}", flush=True)


def notice(message):
    print(f"::notice title=keyward::{escape_data(message)}", flush=True)


def escape_data(s):
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(s):
    return escape_data(s).replace(":", "%3A").replace(",", "%2C")


class Git:
    def __init__(self, workspace, remote):
        self.workspace = workspace
        self.remote = remote

    def run(self, *args, check=True, binary=False, env=None):
        proc = subprocess.run(
            ["git", "-c", "core.quotepath=off", *args],
            cwd=self.workspace,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        if check and proc.returncode != 0:
            raise Failure(f"git {' '.join(args)}: {proc.stderr.decode(errors='replace').strip()}")
        if binary:
            return proc.stdout if proc.returncode == 0 else None
        return proc.stdout.decode(errors="replace").strip() if proc.returncode == 0 else None

    def ok(self, *args):
        return self.run(*args, check=False) is not None

    def has_commit(self, sha):
        return self.ok("cat-file", "-e", f"{sha}^{{commit}}")

    def shallow(self):
        return self.run("rev-parse", "--is-shallow-repository") == "true"

    def shallow_commits(self):
        path = self.run("rev-parse", "--git-path", "shallow")
        full = os.path.join(self.workspace, path)
        if not os.path.exists(full):
            return set()
        with open(full) as f:
            return {line.strip() for line in f if line.strip()}

    def fetch(self, *args):
        return self.ok("fetch", "--no-tags", "--quiet", self.remote, *args)

    def show(self, rev, path):
        """The bytes of `path` at `rev`, or None."""
        return self.run("show", f"{rev}:{path}", check=False, binary=True)


def ensure_commits(git, shas):
    """Fetches the commits of `shas` that the checkout lacks; False if one cannot be had."""
    for sha in shas:
        if git.has_commit(sha):
            continue
        notice(f"fetching {sha[:12]} from {git.remote}: the checkout does not have it")
        git.fetch(sha)
        if not git.has_commit(sha):
            return False
    return True


def range_complete(git, base, head):
    if not git.ok("merge-base", base, head):
        return False
    boundary = git.shallow_commits()
    if not boundary:
        return True
    commits = (git.run("rev-list", f"{base}..{head}") or "").split()
    return not any(c in boundary for c in commits)


def unshallow(git, why):
    if git.shallow():
        notice(f"shallow checkout: fetching the whole history ({why})")
        if not git.ok("fetch", "--no-tags", "--quiet", "--unshallow", git.remote):
            raise Failure(f"cannot unshallow the checkout from {git.remote}")


def deepen_for(git, base, head):
    """Deepens a shallow checkout until base..head and the merge base are all there."""
    if not git.shallow():
        return
    depth = 50
    for _ in range(4):
        if range_complete(git, base, head):
            return
        notice(f"shallow checkout: deepening by {depth} commits to reach {base[:12]}..{head[:12]}")
        git.fetch(f"--deepen={depth}", base, head)
        depth *= 4
    if not range_complete(git, base, head):
        unshallow(git, f"{base[:12]}..{head[:12]} is deeper than the deepening reached")


def fetch_branches(git):
    git.fetch(f"+refs/heads/*:refs/remotes/{git.remote}/*")


def new_branch_range(git, after, ref):
    """The commits of `after` that no other branch of the remote has, as keyward arguments."""
    unshallow(git, "a new branch is compared with every other branch")
    fetch_branches(git)
    branch = ref[len("refs/heads/"):] if ref.startswith("refs/heads/") else ref
    prefix = f"refs/remotes/{git.remote}/"
    others = [
        r
        for r in (git.run("for-each-ref", "--format=%(refname)", prefix) or "").split()
        if r not in (prefix + branch, prefix + "HEAD")
    ]
    if not others:
        log(f"new branch {branch}: no other branch to compare with, scanning all it reaches")
        return ["--branch", after], f"new branch {branch} (all it reaches)"
    listed = (git.run("rev-list", "--boundary", after, "--not", *others) or "").split()
    boundary = [c[1:] for c in listed if c.startswith("-")]
    count = len([c for c in listed if not c.startswith("-")])
    what = f"new branch {branch}: {count} commit{'s' if count != 1 else ''} no other branch has"
    if count == 0:
        return None, what
    if not boundary:
        return ["--branch", after], what
    if len(boundary) == 1:
        return ["--range", f"{boundary[0]}..{after}"], what
    # Several boundaries (merges of other branches): one throwaway commit whose parents are
    # all of them hides exactly what they reach. It is written to the object store only.
    empty = git.run("hash-object", "-t", "tree", "-w", "/dev/null")
    parents = [a for b in boundary for a in ("-p", b)]
    who = {"GIT_AUTHOR_NAME": "keyward", "GIT_AUTHOR_EMAIL": "keyward@localhost",
           "GIT_COMMITTER_NAME": "keyward", "GIT_COMMITTER_EMAIL": "keyward@localhost"}
    base = git.run("commit-tree", empty, *parents, "-m", "keyward: range base", env=who)
    return ["--range", f"{base}..{after}"], what


def push_range(git, event):
    before, after, ref = event.get("before", ZERO), event.get("after", ZERO), event.get("ref", "")
    if event.get("deleted") or after == ZERO:
        return None, f"{ref} deleted"
    if not ensure_commits(git, [after]):
        raise Failure(f"cannot fetch the pushed commit {after}")
    if before == ZERO:
        return new_branch_range(git, after, ref)
    if not ensure_commits(git, [before]):
        notice(f"{before[:12]} (before the push) cannot be fetched, it was force-pushed away: "
               "scanning what no other branch has instead")
        return new_branch_range(git, after, ref)
    deepen_for(git, before, after)
    count = len((git.run("rev-list", f"{before}..{after}") or "").split())
    return ["--range", f"{before}..{after}"], f"push to {ref}: {count} commit{'s' if count != 1 else ''}"


def pr_shas(event):
    pr = event.get("pull_request") or {}
    base = (pr.get("base") or {}).get("sha")
    head = (pr.get("head") or {}).get("sha")
    if not base or not head:
        raise Failure("the pull_request event has no base.sha or head.sha")
    return base, head, pr.get("number")


def whole_history(git):
    unshallow(git, "the whole history is scanned")
    fetch_branches(git)
    return [], "whole history"


def extract(git, rev, path, into):
    """Writes `path` (a file or a folder) as it is at `rev` under `into`; False if absent."""
    data = git.run("archive", "--format=tar", rev, "--", path, check=False, binary=True)
    if data is None:
        return False
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = [m for m in tar.getmembers() if m.isfile() or m.isdir()]
        try:
            tar.extractall(into, members=members, filter="data")
        except TypeError:  # Python before 3.11.4 has no extraction filters
            tar.extractall(into, members=members)
    return True


def base_settings(git, keyward, base, tmp, inputs):
    """keyward arguments for the base branch's config, rules and baseline (pull requests)."""
    into = os.path.join(tmp, "base")
    os.makedirs(into, exist_ok=True)
    args = []
    names = [inputs["config"]] if inputs["config"] else list(CONFIG_NAMES)
    config = next((n for n in names if extract(git, base, n, into)), None)
    settings = {}
    if config is None:
        log("the base branch has no keyward config")
        args.append("--no-config")
    else:
        path = os.path.join(into, config)
        proc = subprocess.run([keyward, "config", "check", "--json", path], capture_output=True, text=True)
        if proc.returncode != 0:
            raise Failure(f"the base branch's {config} is not valid: {proc.stderr.strip()}")
        settings = json.loads(proc.stdout)
        config_dir = os.path.dirname(os.path.abspath(path))
        for p in settings["rules"]["paths"] + ([settings["baseline"]] if settings.get("baseline") else []):
            rel = os.path.relpath(os.path.abspath(p), into)
            if not rel.startswith("..") and not extract(git, base, rel, into):
                log(f"{rel}, named in the base branch's {config}, is not in the base branch")
        args += ["--config", path]
        log(f"using {config} from the base branch ({base[:12]}) at {config_dir}")
    if inputs["baseline"]:
        path = os.path.join(into, inputs["baseline"])
        if extract(git, base, inputs["baseline"], into):
            args += ["--baseline", path]
        else:
            log(f"baseline {inputs['baseline']} is not in the base branch")
    base_baseline = settings.get("baseline")
    if base_baseline:
        base_baseline = os.path.relpath(os.path.abspath(base_baseline), into)
    return args, base_baseline


def diff_path(target):
    """The path of a `+++ ` line: git C-quotes unusual names, and prefixes `b/`."""
    if target == "/dev/null":
        return None
    if target.startswith('"') and target.endswith('"'):
        raw = target[1:-1].encode("utf-8").decode("unicode_escape").encode("latin-1")
        target = raw.decode("utf-8", "replace")
    return target[2:] if target.startswith("b/") else target


def added_directives(git, since, head):
    """(path, line, directive) for every directive on a line that since..head adds."""
    diff = git.run("diff", "--unified=0", "--no-color", "--no-ext-diff", "--no-renames", since, head) or ""
    found = []
    path = None
    line = 0
    for text in diff.split("\n"):
        if text.startswith("+++ "):
            path = diff_path(text[4:])
        elif text.startswith("@@"):
            m = re.match(r"@@ -\S+ \+(\d+)(?:,\d+)? @@", text)
            line = int(m.group(1)) if m else 0
        elif text.startswith("+") and path is not None:
            for m in DIRECTIVE.finditer(text[1:]):
                found.append((path, line, m.group(0).strip()))
            line += 1
    return found


def baseline_entries(raw):
    if raw is None:
        return {}
    try:
        doc = json.loads(raw)
        return {e["fingerprint"]: e for e in doc.get("entries", [])}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}


def added_baseline_entries(git, base, head, paths):
    out = []
    for path in paths:
        old = baseline_entries(git.show(base, path))
        new = baseline_entries(git.show(head, path))
        for fp, e in sorted(new.items()):
            if fp not in old:
                out.append((path, e))
    return out


def md(s):
    return str(s).replace("|", "\\|").replace("`", "'").replace("\n", " ")


def location_of(result):
    loc = (result.get("locations") or [{}])[0].get("physicalLocation", {})
    uri = loc.get("artifactLocation", {}).get("uri", "")
    region = loc.get("region", {})
    return urllib.parse.unquote(uri), region.get("startLine", 1), region.get("startColumn", 1)


def commit_link(sha):
    server, repo = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    if sha and server and repo:
        return f"[`{sha[:12]}`]({server}/{repo}/commit/{sha})"
    return f"`{sha[:12]}`" if sha else ""


def write_summary(what, findings, unreachable, suppressed, added, changed_config):
    lines = []
    n = len(findings) + len(unreachable)
    lines.append(f"## keyward: {n} finding{'s' if n != 1 else ''}")
    lines.append("")
    lines.append(f"Scanned: {md(what)}.")
    lines.append("")
    if findings:
        lines.append("| Severity | Rule | Location | Commit | Secret |")
        lines.append("| --- | --- | --- | --- | --- |")
        for r in findings:
            path, line, _ = location_of(r)
            props = r.get("properties", {})
            lines.append(
                f"| {md(props.get('severity', r.get('level', '')))} | `{md(r.get('ruleId', ''))}` "
                f"| `{md(path)}:{line}` | {commit_link(props.get('commit'))} | `{md(props.get('secret', ''))}` |"
            )
        lines.append("")
    for note in unreachable:
        lines.append(f"- {md(note['message']['text'])}")
    if unreachable:
        lines.append("")
    if added or changed_config:
        lines.append("### Suppressions this pull request adds")
        lines.append("")
        lines.append("They take effect for this pull request's own findings (inline directives) or after")
        lines.append("it is merged (config and baseline): review them like code.")
        lines.append("")
        for c in changed_config:
            lines.append(f"- `{md(c)}` is changed; this run used the base branch's version.")
        for kind, where, what_ in added:
            lines.append(f"- {kind} `{md(where)}`: {md(what_)}")
        lines.append("")
    if suppressed:
        lines.append("<details><summary>Suppressed in this run</summary>")
        lines.append("")
        for r in suppressed:
            path, line, _ = location_of(r)
            why = "; ".join(s.get("justification", "") for s in r.get("suppressions", []))
            lines.append(f"- `{md(r.get('ruleId', ''))}` at `{md(path)}:{line}`: {md(why)}")
        lines.append("")
        lines.append("</details>")
        lines.append("")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    return lines


def set_outputs(**values):
    path = os.environ.get("GITHUB_OUTPUT")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            for k, v in values.items():
                f.write(f"{k}={v}\n")


def annotate(findings, unreachable, added):
    levels = {"error": "error", "warning": "warning", "note": "notice"}
    for r in findings:
        path, line, col = location_of(r)
        level = levels.get(r.get("level"), "error")
        title = escape_property(f"keyward: {r.get('ruleId', '')}")
        print(
            f"::{level} file={escape_property(path)},line={line},col={col},title={title}::"
            f"{escape_data(r['message']['text'])}"
        )
    for note in unreachable:
        print(f"::error title=keyward::{escape_data(note['message']['text'])}")
    for kind, where, what in added:
        if kind == "directive":
            path, _, line = where.rpartition(":")
            print(
                f"::warning file={escape_property(path)},line={line},title=keyward%3A suppression added::"
                f"{escape_data('This pull request adds ' + what)}"
            )
        else:
            print(f"::warning title=keyward%3A baseline entry added::{escape_data(where + ': ' + what)}")


def inputs_from_env():
    env = os.environ.get
    return {
        "fail": (env("INPUT_FAIL_ON_FINDINGS") or "true").strip().lower() not in ("false", "0", "no"),
        "sarif": env("INPUT_SARIF_FILE") or "",
        "config": env("INPUT_CONFIG") or "",
        "baseline": env("INPUT_BASELINE") or "",
        "args": shlex.split(env("INPUT_ARGS") or ""),
        "remote": env("INPUT_REMOTE") or "origin",
    }


def main():
    inputs = inputs_from_env()
    workspace = os.path.abspath(os.environ.get("GITHUB_WORKSPACE") or os.getcwd())
    keyward = os.environ.get("KEYWARD") or "keyward"
    event_name = os.environ.get("GITHUB_EVENT_NAME", "")
    event = {}
    if os.environ.get("GITHUB_EVENT_PATH"):
        with open(os.environ["GITHUB_EVENT_PATH"], encoding="utf-8") as f:
            event = json.load(f)
    tmp = tempfile.mkdtemp(prefix="keyward-", dir=os.environ.get("RUNNER_TEMP") or None)
    sarif = inputs["sarif"] or os.path.join(tmp, "keyward.sarif")
    git = Git(workspace, inputs["remote"])
    git.run("rev-parse", "--git-dir")

    settings_args = []
    if inputs["config"]:
        settings_args += ["--config", os.path.join(workspace, inputs["config"])]
    if inputs["baseline"]:
        settings_args += ["--baseline", os.path.join(workspace, inputs["baseline"])]
    added, changed_config = [], []
    if event_name in ("pull_request", "pull_request_target"):
        base, head, number = pr_shas(event)
        if not ensure_commits(git, [base, head]):
            raise Failure(f"cannot fetch the pull request's commits {base[:12]} and {head[:12]}")
        deepen_for(git, base, head)
        range_args = ["--range", f"{base}..{head}"]
        count = len((git.run("rev-list", f"{base}..{head}") or "").split())
        what = f"pull request #{number}: {count} commit{'s' if count != 1 else ''} ({base[:12]}..{head[:12]})"
        settings_args, base_baseline = base_settings(git, keyward, base, tmp, inputs)
        since = git.run("merge-base", base, head) or base
        for path, line, directive in added_directives(git, since, head):
            added.append(("directive", f"{path}:{line}", directive))
        candidates = [p for p in (base_baseline, inputs["baseline"], DEFAULT_BASELINE) if p]
        for path, e in added_baseline_entries(git, since, head, list(dict.fromkeys(candidates))):
            added.append(("baseline entry", path, f"{e.get('rule', '?')} in {e.get('path', '?')} ({e.get('fingerprint', '')[:12]})"))
        for name in ([inputs["config"]] if inputs["config"] else list(CONFIG_NAMES)):
            if not git.ok("diff", "--quiet", since, head, "--", name):
                changed_config.append(name)
    elif event_name == "push":
        range_args, what = push_range(git, event)
    else:
        range_args, what = whole_history(git)
    log(f"scanning {what}")

    if range_args is None:
        findings, unreachable, suppressed = [], [], []
        set_outputs(findings=0, sarif="")
        write_summary(what, findings, unreachable, suppressed, added, changed_config)
        return 0

    full = os.path.join(tmp, "keyward-full.sarif")
    cmd = [keyward, "history", workspace, "--format", "sarif", "--output", full, "--report-ignored",
           "--color", "never", *range_args, *settings_args, *inputs["args"]]
    proc = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
    sys.stderr.write(proc.stderr)
    if proc.returncode not in (0, 1) or not os.path.exists(full):
        raise Failure(f"keyward failed (exit {proc.returncode})")
    with open(full, encoding="utf-8") as f:
        doc = json.load(f)
    run = doc["runs"][0]
    results = run.get("results", [])
    findings = [r for r in results if not r.get("suppressions")]
    suppressed = [r for r in results if r.get("suppressions")]
    notes = (run.get("invocations") or [{}])[0].get("toolExecutionNotifications", [])
    unreachable = [n for n in notes if n.get("level") == "error"]
    # GitHub code scanning does not honour `suppressions`: what it gets holds only what is
    # reported.
    run["results"] = findings
    with open(sarif, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)

    annotate(findings, unreachable, added)
    for line in write_summary(what, findings, unreachable, suppressed, added, changed_config):
        print(line)
    total = len(findings) + len(unreachable)
    set_outputs(findings=total, sarif=sarif)
    if total and inputs["fail"]:
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        print(f"::error title=keyward::{escape_data(str(e))}")
        sys.exit(2)
