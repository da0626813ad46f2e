#!/usr/bin/env python3
"""Lints what deploy/ ships for sharded runs (no cluster runs here):
  - the Kubernetes manifest parses as YAML and is an Indexed Job whose index reaches the command
    (completionMode Indexed, completions and parallelism, --shards equal to completions, the work
    dir keyed by JOB_COMPLETION_INDEX);
  - the Slurm script passes `bash -n` and hands --shards and the array index to chroma-migrate;
  - both commands, run with the scheduler's index variable set and a stub chroma-migrate that
    prints its arguments, pass --shards N and a work dir keyed by the index, and --resume once the
    shard's checkpoint.json exists (a retried pod or requeued task resumes).
Each check is also run on a broken copy, which it must reject (the lint can fail).
Usage: deploy_lint.py <source dir>"""
import copy
import os
import pathlib
import subprocess
import sys
import tempfile

import yaml


def job_problems(job):
    problems = []
    if job.get("apiVersion") != "batch/v1" or job.get("kind") != "Job":
        problems.append("not a batch/v1 Job")
    spec = job.get("spec") or {}
    if spec.get("completionMode") != "Indexed":
        problems.append("spec.completionMode is not Indexed (pods would get no JOB_COMPLETION_INDEX)")
    completions = spec.get("completions")
    if not isinstance(completions, int) or completions < 1:
        problems.append("spec.completions must be a positive integer (the number of shards)")
    parallelism = spec.get("parallelism")
    if not isinstance(parallelism, int) or parallelism < 1:
        problems.append("spec.parallelism must be a positive integer")
    pod = (spec.get("template") or {}).get("spec") or {}
    if pod.get("restartPolicy") not in ("Never", "OnFailure"):
        problems.append("a Job's pod template needs restartPolicy Never or OnFailure")
    containers = pod.get("containers") or []
    if len(containers) != 1:
        problems.append("expected one container")
        return problems
    c = containers[0]
    env = {e.get("name"): e.get("value") for e in c.get("env") or []}
    command = " ".join(c.get("command", []) + c.get("args", []))
    if "chroma-migrate" not in command:
        problems.append("the container does not run chroma-migrate")
    if '--shards "$SHARDS"' not in command or str(env.get("SHARDS")) != str(completions):
        problems.append("--shards must be given and equal spec.completions (SHARDS=%s, completions=%s)"
                        % (env.get("SHARDS"), completions))
    if "JOB_COMPLETION_INDEX" not in command:
        problems.append("the work dir is not keyed by JOB_COMPLETION_INDEX (shards would share one)")
    for flag in ("--run-id", "--work-dir", "--source", "--target"):
        if flag not in command:
            problems.append("the command lacks " + flag)
    mounts = {m.get("mountPath") for m in c.get("volumeMounts") or []}
    if "/work" not in mounts:
        problems.append("the work dirs (/work) are not on a volume: a retried pod could not resume")
    return problems


def slurm_problems(path, text):
    problems = []
    check = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    if check.returncode != 0:
        problems.append("bash -n: " + check.stderr.strip())
    for needle in ('--shards "$SHARDS"', "SLURM_ARRAY_TASK_ID", '--run-id "$RUN_ID"',
                   'work="$WORK_ROOT/shard-$SLURM_ARRAY_TASK_ID"', "#SBATCH"):
        if needle not in text:
            problems.append("the script lacks " + needle)
    return problems


def stub_runs(command, env, work_root):
    """Runs `command` (argv) with a stub chroma-migrate first on PATH; returns its arguments."""
    with tempfile.TemporaryDirectory() as bin_dir:
        stub = pathlib.Path(bin_dir) / "chroma-migrate"
        stub.write_text('#!/bin/sh\necho "ARGS $*"\n')
        stub.chmod(0o755)
        full = dict(os.environ, PATH=bin_dir + ":" + os.environ["PATH"], CHROMA_BIN_DIR=bin_dir,
                    **env)
        out = subprocess.run(command, capture_output=True, text=True, env=full)
        line = [l for l in out.stdout.splitlines() if l.startswith("ARGS ")]
        return line[0][5:] if line else "(no chroma-migrate call: %s)" % out.stderr.strip()


def run_problems(name, command, env, work_dir):
    """The index reaches the command; a second start with a checkpoint resumes."""
    problems = []
    args = stub_runs(command, env, work_dir)
    for want in ("--shards 3", "--work-dir %s" % work_dir, "--run-id m1"):
        if want not in args:
            problems.append("%s: chroma-migrate got %r, lacking %r" % (name, args, want))
    if "--resume" in args:
        problems.append("%s: a first start must not --resume" % name)
    os.makedirs(work_dir, exist_ok=True)
    pathlib.Path(work_dir, "checkpoint.json").write_text("{}")
    if "--resume" not in stub_runs(command, env, work_dir):
        problems.append("%s: a restart with the shard's checkpoint.json does not --resume" % name)
    return problems


def main():
    root = pathlib.Path(sys.argv[1])
    failures = []
    manifest = root / "deploy/kubernetes/chroma-migrate-indexed-job.yaml"
    docs = [d for d in yaml.safe_load_all(manifest.read_text()) if d]
    jobs = [d for d in docs if d.get("kind") == "Job"]
    if len(jobs) != 1:
        failures.append("%s: expected one Job, found %d" % (manifest, len(jobs)))
    else:
        failures += ["%s: %s" % (manifest, p) for p in job_problems(jobs[0])]
        broken = copy.deepcopy(jobs[0])
        del broken["spec"]["completionMode"]
        broken["spec"]["completions"] = 4
        if len(job_problems(broken)) < 2:
            failures.append("the manifest lint accepted a Job without completionMode")
    script = root / "deploy/slurm/chroma-migrate-array.sbatch"
    text = script.read_text()
    failures += ["%s: %s" % (script, p) for p in slurm_problems(script, text)]
    broken_script = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else "/tmp") / "broken.sbatch"
    broken_script.write_text(text.replace("fi\n", "\n", 1))
    if not slurm_problems(broken_script, text):
        failures.append("bash -n accepted a script with an unterminated if")
    broken_script.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        common = {"SOURCE": "http://s:8000", "TARGET": "http://t:8000", "RUN_ID": "m1",
                  "SHARDS": "3"}
        failures += run_problems(
            "slurm", ["bash", str(script)],
            dict(common, SLURM_ARRAY_TASK_ID="1", WORK_ROOT=tmp + "/slurm"), tmp + "/slurm/shard-1")
        if len(jobs) == 1:
            c = jobs[0]["spec"]["template"]["spec"]["containers"][0]
            env = {e["name"]: str(e["value"]) for e in c.get("env") or []}
            env.update(common, JOB_COMPLETION_INDEX="2")
            # The manifest's /work is the volume; here a temporary directory stands in for it.
            script_text = " ".join(c["args"]).replace("/work/", tmp + "/k8s/")
            failures += run_problems("kubernetes", c["command"] + [script_text], env,
                                     tmp + "/k8s/shard-2")
    for f in failures:
        print("FAIL", f)
    print("deploy lint: %s" % ("ok" if not failures else "%d problem(s)" % len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
