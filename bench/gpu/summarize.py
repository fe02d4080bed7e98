"""Writes the GPU kit's RESULTS/summary.json from what run.sh left in RESULTS (called after every
stage, so that a run cut off half-way still has a summary of what it reached).

  python3 summarize.py RESULTS

Reads RESULTS/facts.json (device, torch, mode, java, kit), RESULTS/stages.tsv (one line per stage:
name, status, seconds), RESULTS/junit-*/ (JUnit XML reports) and RESULTS/bench-*.json (JSON result lines
with "impl" and "name"): merv/PyTorch speed ratios per name, MFU against the card's dense bf16 peak,
device memory against the trainer's formula.
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


# dense bf16 tensor-core peak, TFLOP/s, by card name (the vendors' figures without sparsity)
PEAK_BF16_TFLOPS = [("H200", 989.4), ("H100 PCIe", 756.0), ("H100", 989.4), ("A100", 312.0), ("L40S", 362.0),
                    ("A10G", 70.0), ("L4", 121.0)]


def peak_tflops(device_name):
    for key, peak in PEAK_BF16_TFLOPS:
        if device_name and key in device_name:
            return peak
    return None


def bench(results, facts):
    """Every result line of RESULTS/bench-*.json by implementation and name, merv/PyTorch ratios, MFU."""
    out = {"merv": {}, "pytorch": {}}
    errors = {}
    for f in sorted(glob.glob(os.path.join(results, "bench-*.json"))):
        try:
            with open(f) as fh:
                lines = [l for l in fh.read().splitlines() if l.strip().startswith("{")]
        except OSError as e:
            errors[os.path.basename(f)] = str(e)
            continue
        if not lines:
            errors[os.path.basename(f)] = "no result line"
        for l in lines:
            try:
                r = json.loads(l)
            except ValueError as e:
                errors[os.path.basename(f)] = str(e)
                continue
            stem = os.path.basename(f)[len("bench-"):-len(".json")]
            for suffix in ("-merv", "-pytorch"):
                stem = stem[: -len(suffix)] if stem.endswith(suffix) else stem
            name = r.get("name") or stem
            # every twin's line counts as PyTorch's (the LoRA twin says hf-peft or pytorch-lora)
            out.setdefault("merv" if r.get("impl") == "merv" else "pytorch", {})[name] = r
    if errors:
        out["errors"] = errors
    ratios = {}
    for name, m in out["merv"].items():
        p = out["pytorch"].get(name)
        if p and "step_ms_median" in m and "step_ms_median" in p:
            # > 1: merv's step is faster than PyTorch's on the same machine, same shapes
            ratios[name] = round(p["step_ms_median"] / m["step_ms_median"], 3)
    if ratios:
        out["merv_speed_vs_pytorch"] = ratios
    peak = peak_tflops(facts.get("device_name"))
    if peak and facts.get("mode") == "gpu":
        out["peak_bf16_tflops"] = peak
        mfu = {}
        for impl in ("merv", "pytorch"):
            for name, r in out.get(impl, {}).items():
                if "model_tflops_per_s" in r and r.get("dtype") == "bfloat16":
                    mfu["%s:%s" % (impl, name)] = round(r["model_tflops_per_s"] / peak, 4)
        out["mfu"] = mfu
    memory = {}
    for name, r in out["merv"].items():
        if "device_used_bytes" in r and "memory_formula_bytes" in r:
            used = r["device_used_bytes"] - r.get("device_used_before_bytes", 0)
            memory[name] = {"device_used_gib": round(used / 2**30, 2),
                            "formula_without_activations_gib": round(r["memory_formula_bytes"] / 2**30, 2),
                            "used_over_formula": round(used / r["memory_formula_bytes"], 3)}
    for name, r in out["pytorch"].items():
        if "max_memory_reserved_bytes" in r:
            memory.setdefault(name, {})["pytorch_max_reserved_gib"] = round(r["max_memory_reserved_bytes"] / 2**30, 2)
    if memory:
        out["memory"] = memory
    enc = out["merv"].get("encoders")
    if enc:
        out["encoders_concurrent_vs_sequential"] = enc.get("concurrent_vs_sequential")
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
        "bench": bench(results, state),
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
