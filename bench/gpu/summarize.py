"""Writes the GPU kit's RESULTS/summary.json from what run.sh left in RESULTS (called after every
stage, so that a run cut off half-way still has a summary of what it reached).

  python3 summarize.py RESULTS

Reads RESULTS/facts.json (device, torch, mode, java, kit), RESULTS/stages.tsv (one line per stage:
name, status, seconds), RESULTS/junit-*/ (JUnit XML reports) and RESULTS/bench-*.json.
"""
import glob
import json
import os
import sys
import xml.etree.ElementTree as ET


def junit_counts(folder):
    """passed / failed / skipped over every testcase in a JUnit XML report folder, with the failures named."""
    counts = {"passed": 0, "failed": 0, "skipped": 0, "failures": []}
    files = glob.glob(os.path.join(folder, "*.xml"))
    if not files:
        return None
    for f in files:
        try:
            root = ET.parse(f).getroot()
        except ET.ParseError:
            continue  # a report cut off mid-write
        for case in root.iter("testcase"):
            name = "%s.%s" % (case.get("classname", "?"), case.get("name", "?"))
            if case.find("failure") is not None or case.find("error") is not None:
                counts["failed"] += 1
                counts["failures"].append(name)
            elif case.find("skipped") is not None:
                counts["skipped"] += 1
            else:
                counts["passed"] += 1
    return counts


def bench(results):
    out = {}
    for f in sorted(glob.glob(os.path.join(results, "bench-*.json"))):
        key = os.path.basename(f)[len("bench-"):-len(".json")]
        try:
            with open(f) as fh:
                lines = [l for l in fh.read().splitlines() if l.strip().startswith("{")]
            out[key] = json.loads(lines[-1]) if lines else {"error": "no result line"}
        except (OSError, ValueError) as e:
            out[key] = {"error": str(e)}
    m, p = out.get("merv"), out.get("pytorch")
    if m and p and "step_ms_median" in m and "step_ms_median" in p:
        # > 1: merv's step is faster than PyTorch's on the same machine, same shapes
        out["merv_speed_vs_pytorch"] = round(p["step_ms_median"] / m["step_ms_median"], 3)
    return out


def main():
    results = sys.argv[1]
    state = {}
    try:
        with open(os.path.join(results, "facts.json")) as fh:
            state = json.load(fh)
    except (OSError, ValueError):
        pass
    stages = []
    try:
        with open(os.path.join(results, "stages.tsv")) as fh:
            for line in fh:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 3:
                    stages.append({"stage": parts[0], "status": parts[1], "seconds": int(parts[2])})
    except OSError:
        pass
    summary = {
        "device": state.get("device"),
        "torch": state.get("torch"),
        "mode": state.get("mode"),
        "java": state.get("java"),
        "kit": state.get("kit"),
        "fixture_tests": junit_counts(os.path.join(results, "junit-fixtures")) or "not run",
        "gpu_checks": junit_counts(os.path.join(results, "junit-gpu")) or ("not run: --cpu rehearsal" if state.get("mode") == "cpu" else "not run"),
        "other_tests": junit_counts(os.path.join(results, "junit-suite")) or "not run",
        "bench": bench(results),
        "stages": stages,
        "elapsed_s": sum(st["seconds"] for st in stages),
    }
    tmp = os.path.join(results, "summary.json.tmp")
    with open(tmp, "w") as fh:
        json.dump(summary, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, os.path.join(results, "summary.json"))


if __name__ == "__main__":
    main()
