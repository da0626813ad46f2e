#!/usr/bin/env python3
"""Lints what deploy/ ships for sharded runs (no cluster runs here):
  - the Kubernetes manifest parses as YAML and is an Indexed Job whose index reaches the command
    (completionMode Indexed, completions and parallelism, --shards equal to completions, the work
    dir keyed by JOB_COMPLETION_INDEX);
  - the Slurm script passes `bash -n` and hands --shards and the array index to chroma-migrate.
Each check is also run on a broken copy, which it must reject (the lint can fail).
Usage: deploy_lint.py <source dir>"""
import copy
import pathlib
import subprocess
import sys

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
    for f in failures:
        print("FAIL", f)
    print("deploy lint: %s" % ("ok" if not failures else "%d problem(s)" % len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
