#!/usr/bin/env python3
"""Lints what deploy/ ships for sharded runs (no cluster runs here):
  - the Kubernetes manifest parses as YAML and is an Indexed Job whose index reaches the command
    (completionMode Indexed, completions and parallelism, --shards equal to completions, the work
    dir keyed by JOB_COMPLETION_INDEX);
  - the Slurm script passes `bash -n` and hands --shards and the array index to chroma-migrate;
  - both commands, run with the scheduler's index variable set and a stub chroma-migrate that
    prints its arguments, pass --shards N and a work dir keyed by the index, and --resume once the
    shard's checkpoint.json exists (a retried pod or requeued task resumes).
  - into live collections (IF_EXISTS set): the prepare Job is a one-pod, non-indexed Job that runs
    `--prepare --shards N` into /work/prepared with the indexed Job's run id, shards and flags, and
    the indexed Job's shards then get --if-exists and --prepared /work/prepared (not without
    IF_EXISTS); the Slurm prepare script runs --prepare into WORK_ROOT/prepared, the array tasks
    get --prepared WORK_ROOT/prepared, and submit.sh (bash -n) submits the prepare first and the
    array with --dependency=afterok:<its id> (run with a stub sbatch), the array alone without
    IF_EXISTS.
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
    if "--prepared /work/prepared" not in command or "IF_EXISTS" not in command:
        problems.append("the command does not reach --prepared /work/prepared with IF_EXISTS")
    if "JOB_COMPLETION_INDEX" not in command:
        problems.append("the work dir is not keyed by JOB_COMPLETION_INDEX (shards would share one)")
    for flag in ("--run-id", "--work-dir", "--source", "--target"):
        if flag not in command:
            problems.append("the command lacks " + flag)
    mounts = {m.get("mountPath") for m in c.get("volumeMounts") or []}
    if "/work" not in mounts:
        problems.append("the work dirs (/work) are not on a volume: a retried pod could not resume")
    return problems


def container_of(job):
    containers = (((job.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
        "containers") or []
    return containers[0] if len(containers) == 1 else None


def env_of(container):
    return {e.get("name"): e.get("value") for e in container.get("env") or []}


def prepare_job_problems(job, indexed):
    """The prepare Job: one pod, not indexed, running --prepare as the indexed Job's shards run."""
    problems = []
    if job.get("apiVersion") != "batch/v1" or job.get("kind") != "Job":
        problems.append("not a batch/v1 Job")
    spec = job.get("spec") or {}
    if spec.get("completionMode", "NonIndexed") != "NonIndexed":
        problems.append("the prepare Job must not be Indexed: one process prepares the run")
    if spec.get("completions", 1) != 1 or spec.get("parallelism", 1) != 1:
        problems.append("the prepare Job must run one pod (completions and parallelism 1)")
    pod = (spec.get("template") or {}).get("spec") or {}
    if pod.get("restartPolicy") not in ("Never", "OnFailure"):
        problems.append("a Job's pod template needs restartPolicy Never or OnFailure")
    c = container_of(job)
    if c is None:
        return problems + ["expected one container"]
    env = env_of(c)
    command = " ".join(c.get("command", []) + c.get("args", []))
    for needle in ("chroma-migrate", "--prepare", '--shards "$SHARDS"', '--if-exists "$IF_EXISTS"',
                   "--work-dir /work/prepared", '--run-id "$RUN_ID"', "--source", "--target"):
        if needle not in command:
            problems.append("the prepare command lacks " + needle)
    if env.get("IF_EXISTS") not in ("merge", "replace"):
        problems.append("IF_EXISTS must be merge or replace (a run without it needs no prepare)")
    if "/work" not in {m.get("mountPath") for m in c.get("volumeMounts") or []}:
        problems.append("/work/prepared is not on the shards' volume")
    if indexed is not None:
        shard_env = env_of(indexed)
        for name in ("SOURCE", "TARGET", "RUN_ID", "SHARDS", "EXTRA_FLAGS"):
            if str(env.get(name)) != str(shard_env.get(name)):
                problems.append("%s differs from the indexed Job's (%r vs %r): the shards would "
                                "refuse the prepared dir" % (name, env.get(name),
                                                            shard_env.get(name)))
    return problems


ARRAY_NEEDLES = ("SLURM_ARRAY_TASK_ID", 'work="$WORK_ROOT/shard-$SLURM_ARRAY_TASK_ID"',
                 '--prepared "$WORK_ROOT/prepared"')


def slurm_problems(path, text, needles=ARRAY_NEEDLES):
    problems = []
    check = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    if check.returncode != 0:
        problems.append("bash -n: " + check.stderr.strip())
    for needle in ('--shards "$SHARDS"', '--run-id "$RUN_ID"', "#SBATCH") + tuple(needles):
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


def submit_problems(path, text):
    problems = []
    check = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    if check.returncode != 0:
        problems.append("bash -n: " + check.stderr.strip())
    for needle in ("--dependency=", "afterok:", "chroma-migrate-prepare.sbatch",
                   "chroma-migrate-array.sbatch", "--parsable"):
        if needle not in text:
            problems.append("the script lacks " + needle)
    return problems


def sbatch_calls(script, env):
    """Runs submit.sh with a stub sbatch that records its arguments; returns one line per call."""
    with tempfile.TemporaryDirectory() as bin_dir:
        log = pathlib.Path(bin_dir) / "calls"
        stub = pathlib.Path(bin_dir) / "sbatch"
        stub.write_text('#!/bin/sh\necho "$*" >> "%s"\necho "4711;cluster"\n' % log)
        stub.chmod(0o755)
        full = dict(os.environ, PATH=bin_dir + ":" + os.environ["PATH"], **env)
        if "IF_EXISTS" not in env:
            full.pop("IF_EXISTS", None)
        out = subprocess.run(["bash", str(script), "--stage"], capture_output=True, text=True,
                             env=full)
        if out.returncode != 0:
            return ["(submit.sh failed: %s)" % out.stderr.strip()]
        return log.read_text().splitlines() if log.exists() else []


def submit_run_problems(script, common):
    problems = []
    calls = sbatch_calls(script, dict(common, IF_EXISTS="replace", WORK_ROOT="/shared/m1"))
    if len(calls) != 2 or "chroma-migrate-prepare.sbatch" not in calls[0]:
        return ["submit.sh with IF_EXISTS: expected the prepare, then the array; got %r" % calls]
    array = calls[1]
    for want in ("--dependency=afterok:4711 ", "--array=0-2", "chroma-migrate-array.sbatch"):
        if want not in array:
            problems.append("submit.sh: the array submission %r lacks %r" % (array, want))
    if not all(c.endswith("--stage") for c in calls):
        problems.append("submit.sh: the extra flags do not reach both jobs: %r" % calls)
    calls = sbatch_calls(script, dict(common, WORK_ROOT="/shared/m1"))
    if len(calls) != 1 or "--dependency" in calls[0] or "--array=0-2" not in calls[0]:
        problems.append("submit.sh without IF_EXISTS: expected the array alone; got %r" % calls)
    return problems


def prepared_run_problems(name, command, env, want):
    """With IF_EXISTS set, the command reaches the prepared dir (and the prepare runs --prepare)."""
    args = stub_runs(command, dict(env, IF_EXISTS="replace"), "")
    return ["%s: chroma-migrate got %r, lacking %r" % (name, args, w) for w in want
            if w not in args]


def run_problems(name, command, env, work_dir):
    """The index reaches the command; a second start with a checkpoint resumes."""
    problems = []
    args = stub_runs(command, env, work_dir)
    for want in ("--shards 3", "--work-dir %s" % work_dir, "--run-id m1"):
        if want not in args:
            problems.append("%s: chroma-migrate got %r, lacking %r" % (name, args, want))
    if "--resume" in args:
        problems.append("%s: a first start must not --resume" % name)
    if "--prepared" in args and not env.get("IF_EXISTS"):
        problems.append("%s: --prepared without IF_EXISTS" % name)
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
    prepare_manifest = root / "deploy/kubernetes/chroma-migrate-prepare-job.yaml"
    prepare_docs = [d for d in yaml.safe_load_all(prepare_manifest.read_text()) if d]
    prepare_jobs = [d for d in prepare_docs if d.get("kind") == "Job"]
    indexed = container_of(jobs[0]) if len(jobs) == 1 else None
    if len(prepare_jobs) != 1:
        failures.append("%s: expected one Job, found %d" % (prepare_manifest, len(prepare_jobs)))
    else:
        failures += ["%s: %s" % (prepare_manifest, p)
                     for p in prepare_job_problems(prepare_jobs[0], indexed)]
        broken = copy.deepcopy(prepare_jobs[0])
        broken["spec"]["completionMode"] = "Indexed"
        c = broken["spec"]["template"]["spec"]["containers"][0]
        c["args"] = [a.replace("--prepare ", "") for a in c["args"]]
        if len(prepare_job_problems(broken, indexed)) < 2:
            failures.append("the prepare Job lint accepted an Indexed Job without --prepare")
    slurm_prepare = root / "deploy/slurm/chroma-migrate-prepare.sbatch"
    failures += ["%s: %s" % (slurm_prepare, p)
                 for p in slurm_problems(slurm_prepare, slurm_prepare.read_text(),
                                         ("--prepare", '--if-exists "$IF_EXISTS"',
                                          '--work-dir "$WORK_ROOT/prepared"'))]
    submit = root / "deploy/slurm/submit.sh"
    submit_text = submit.read_text()
    failures += ["%s: %s" % (submit, p) for p in submit_problems(submit, submit_text)]
    if not submit_problems(submit, submit_text.replace("afterok:", "after:")):
        failures.append("the submit.sh lint accepted a script without --dependency=afterok")
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
            failures += prepared_run_problems(
                "kubernetes (IF_EXISTS)", c["command"] + [script_text], env,
                ["--if-exists replace --prepared %s/k8s/prepared" % tmp])
        if len(prepare_jobs) == 1:
            c = prepare_jobs[0]["spec"]["template"]["spec"]["containers"][0]
            env = {e["name"]: str(e["value"]) for e in c.get("env") or []}
            script_text = " ".join(c["args"]).replace("/work/", tmp + "/k8s/")
            failures += prepared_run_problems(
                "kubernetes prepare", c["command"] + [script_text], dict(env, **common),
                ["--prepare --shards 3 --work-dir %s/k8s/prepared" % tmp, "--if-exists replace",
                 "--run-id m1"])
        slurm_env = dict(common, SLURM_ARRAY_TASK_ID="0", WORK_ROOT=tmp + "/slurm-prepared")
        failures += prepared_run_problems(
            "slurm (IF_EXISTS)", ["bash", str(script)], slurm_env,
            ["--if-exists replace --prepared %s/slurm-prepared/prepared" % tmp])
        failures += prepared_run_problems(
            "slurm prepare", ["bash", str(slurm_prepare)], slurm_env,
            ["--if-exists replace --prepare --shards 3 --work-dir %s/slurm-prepared/prepared" % tmp,
             "--run-id m1"])
        failures += submit_run_problems(submit, common)
    for f in failures:
        print("FAIL", f)
    print("deploy lint: %s" % ("ok" if not failures else "%d problem(s)" % len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
