#!/usr/bin/env bash
# run.sh PACK RESULTS [--cpu]: prove merv on this machine with the GPU kit that bench/gpu/pack.sh made.
#
# Needs: Python 3 with torch (any version DJL 0.36's JNI rebuilds against; 2.7 or later for merv's
# bridge), g++, and for a GPU run a CUDA torch with its pip nvidia-* wheels (or CUDA_HOME headers).
# No JDK, no network. Stages, each logged with its time since the start, each writing
# RESULTS/summary.json again so that a run cut off half-way still tells where it got:
#   1. unpack the Java runtime and merv            (WORK, default /tmp/merv-kit; MERV_KIT_WORK)
#   2. rebuild DJL's JNI against this torch         (CUDA=1 unless --cpu; reused when already built)
#   3. the golden-fixture tests                     (every *FixtureTest on the GPU: -Dmerv.test.device=cuda)
#   4. GPU checks (not with --cpu)                  (*GpuTest: bridge device moves, transfers, SDPA, NCCL)
#   5. the LLM training-step benchmark              (merv's trainer, then the same step in PyTorch; ratio,
#                                                    MFU, device memory against the trainer's formula)
#   6. the encoder benchmark                        (merv-base's four encoders, sequential vs concurrent)
#   7. the rest of the test suite
# Output: RESULTS/summary.json {"device", "torch", "fixture_tests": {"passed", "failed", ...},
# "gpu_checks", "other_tests", "bench": {...}, "stages"}, RESULTS/kit.log (everything printed),
# JUnit XML under RESULTS/junit-*/, the JNI build log. Time budget: MERV_KIT_BUDGET_S (default 450 s
# on a GPU, unlimited with --cpu); a stage that would start past it is skipped and says so.
# MERV_KIT_LLM_LAYERS overrides the decoder layers of stage 5 (default: as many as the card's memory
# fits by the trainer's formula, 4 to 12); MERV_KIT_DECODER_STACK=1 adds the forward+backward-only
# decoder-stack benchmark of earlier kits, MERV_KIT_LORA=1 the full-depth LoRA step (LoraStepBench against
# lora_step.py; MERV_KIT_LORA_BATCH, default 1).
set -uo pipefail

usage() { echo "usage: bash run.sh PACK RESULTS [--cpu]" >&2; exit 2; }
[ $# -ge 2 ] || usage
PACK=$(cd "$1" && pwd) || usage
mkdir -p "$2" || usage
RESULTS=$(cd "$2" && pwd)
MODE=gpu
[ "${3:-}" = "--cpu" ] && MODE=cpu
WORK=${MERV_KIT_WORK:-${TMPDIR:-/tmp}/merv-kit}
PY=${PYTHON:-python3}
if [ "$MODE" = gpu ]; then BUDGET=${MERV_KIT_BUDGET_S:-450}; else BUDGET=${MERV_KIT_BUDGET_S:-0}; fi
THREADS=${MERV_KIT_TORCH_THREADS:-1}
T0=$SECONDS

exec > >(tee -a "$RESULTS/kit.log") 2>&1
say() { echo "[kit +$((SECONDS - T0))s] $*"; }
fail() { say "FAILED: $*"; summarize; exit 1; }
summarize() { "$PY" "$PACK/summarize.py" "$RESULTS" 2>/dev/null || say "(summary not written: $PY $PACK/summarize.py failed)"; }
# stage NAME STATUS SECONDS
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$RESULTS/stages.tsv"; summarize; }
# seconds left in the budget (a large number when there is none)
left() { if [ "$BUDGET" -gt 0 ]; then echo $((BUDGET - (SECONDS - T0))); else echo 999999; fi; }
# kill_tree PID: the stage's process and everything it started (the budget ran out)
kill_tree() {
  local c
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do kill_tree "$c"; done
  kill -TERM "$1" 2>/dev/null
}
# untar_xz FILE DIR: tar + xz where xz exists, else Python's tarfile (a minimal root has no xz)
untar_xz() {
  if command -v xz >/dev/null; then
    tar -xJf "$1" -C "$2"
  else
    "$PY" -c 'import sys, tarfile
t = tarfile.open(sys.argv[1])
t.extractall(sys.argv[2], **({"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}))' "$1" "$2"
  fi
}
# run_stage NAME MIN_SECONDS CMD...: runs CMD (a function or command) under the remaining budget,
# records how it ended
run_stage() {
  local name=$1 need=$2 t rc
  shift 2
  if [ "$(left)" -lt "$need" ]; then
    say "stage $name skipped: $(left) s left of the ${BUDGET} s budget, it needs about $need s"
    record "$name" "skipped (time budget)" 0
    return 0
  fi
  say "stage $name ..."
  t=$SECONDS
  rm -f "$WORK/.cut-off"
  "$@" &
  local pid=$! dog=
  if [ "$BUDGET" -gt 0 ]; then
    ( sleep "$(left)"; touch "$WORK/.cut-off"; kill_tree "$pid" ) &
    dog=$!
  fi
  wait "$pid"
  rc=$?
  [ -n "$dog" ] && { kill "$dog" 2>/dev/null; wait "$dog" 2>/dev/null; }
  local st=ok
  [ $rc -eq 0 ] || st="failed (exit $rc)"
  [ -f "$WORK/.cut-off" ] && st="cut off (time budget)"
  say "stage $name: $st in $((SECONDS - t)) s"
  record "$name" "$st" $((SECONDS - t))
  return 0
}
rm -f "$RESULTS/stages.tsv" "$RESULTS/summary.json"
rm -rf "$RESULTS"/junit-* "$RESULTS"/bench-*.json

# ---------------------------------------------------------------- 0. this machine
say "merv GPU kit: $(head -1 "$PACK/KIT.txt" 2>/dev/null), mode $MODE, results in $RESULTS"
command -v "$PY" >/dev/null || fail "no $PY (set PYTHON)"
"$PY" - "$MODE" "$RESULTS/facts.json" "$PACK/KIT.txt" <<'EOF' || fail "python cannot import torch"
import json, os, platform, sys
import torch
mode, out, kit = sys.argv[1:4]
total = None
name = None
if mode == "gpu" and torch.cuda.is_available():
    names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    device = "%d x %s (CUDA %s)" % (len(names), names[0], torch.version.cuda)
    name = names[0]
    total = torch.cuda.get_device_properties(0).total_memory
elif mode == "gpu":
    device = "no GPU visible to torch (torch %s, CUDA build %s)" % (torch.__version__, torch.version.cuda)
else:
    device = "cpu (rehearsal): %s, %d cores" % (platform.processor() or platform.machine(), os.cpu_count())
facts = {"device": device, "device_name": name, "device_total_bytes": total, "torch": torch.__version__, "mode": mode,
         "torch_dir": os.path.dirname(torch.__file__), "cuda_available": torch.cuda.is_available(),
         "kit": open(kit).readline().strip() if os.path.exists(kit) else None}
json.dump(facts, open(out, "w"), indent=2)
print("device: %s; torch %s at %s" % (device, torch.__version__, facts["torch_dir"]))
EOF
TORCH_DIR=${TORCH_DIR:-$("$PY" -c 'import torch,os;print(os.path.dirname(torch.__file__))')}
if [ "$MODE" = gpu ] && ! "$PY" -c 'import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  fail "torch sees no GPU here: run with --cpu for the rehearsal, or check the driver and CUDA_VISIBLE_DEVICES"
fi
summarize

# ---------------------------------------------------------------- 1. unpack
unpack() {
  mkdir -p "$WORK"
  local stamp
  stamp=$(cksum < "$PACK/merv.tar.xz" | cut -d' ' -f1)-$(cksum < "$PACK/jre.tar.xz" | cut -d' ' -f1)
  if [ -x "$WORK/jre/bin/java" ] && [ -d "$WORK/merv/lib" ] && [ "$(cat "$WORK/unpacked" 2>/dev/null)" = "$stamp" ]; then
    say "runtime and merv already unpacked in $WORK"
    return 0
  fi
  rm -rf "$WORK/jre" "$WORK/merv"
  untar_xz "$PACK/jre.tar.xz" "$WORK" && untar_xz "$PACK/merv.tar.xz" "$WORK" || return 1
  echo "$stamp" > "$WORK/unpacked"
  say "unpacked: $("$WORK/jre/bin/java" -version 2>&1 | head -1); $(ls "$WORK/merv/lib" | wc -l) jars"
}
run_stage unpack 5 unpack
[ -x "$WORK/jre/bin/java" ] || fail "no Java runtime after unpacking"
JAVA=$WORK/jre/bin/java
"$PY" - "$RESULTS/facts.json" "$("$JAVA" -version 2>&1 | head -1)" <<'EOF'
import json, sys
f = json.load(open(sys.argv[1])); f["java"] = sys.argv[2]; json.dump(f, open(sys.argv[1], "w"), indent=2)
EOF

# ---------------------------------------------------------------- 2. DJL's JNI against this torch
CUDA=1
[ "$MODE" = cpu ] && CUDA=0
jni() {
  local out=$WORK/djl-jni stamp
  stamp="$TORCH_DIR cuda=$CUDA $(cksum < "$PACK/djl/build-djl-jni.sh" | cut -d' ' -f1)"
  if [ -f "$out/libdjl_torch.so" ] && [ "$(cat "$out/built-for" 2>/dev/null)" = "$stamp" ]; then
    say "JNI already built for this torch ($out)"
    TORCH_DIR=$TORCH_DIR OUT=$out bash "$PACK/djl/build-djl-jni.sh" link
    return $?
  fi
  TORCH_DIR=$TORCH_DIR DJL_SRC=$PACK/djl/djl-jni-src OUT=$out CUDA=$CUDA \
    bash "$PACK/djl/build-djl-jni.sh" build > "$RESULTS/build-djl-jni.log" 2>&1
  local rc=$?
  tail -5 "$RESULTS/build-djl-jni.log"
  [ $rc -eq 0 ] && echo "$stamp" > "$out/built-for"
  return $rc
}
run_stage jni 30 jni
[ -f "$WORK/djl-jni/djl-env.sh" ] || fail "the JNI build failed: see $RESULTS/build-djl-jni.log"
# shellcheck disable=SC1091
. "$WORK/djl-jni/djl-env.sh"
export DJL_CACHE_DIR=$WORK/djl-cache OPT_OUT_TRACKING=true
# pip CUDA wheels: DJL's own GPU probe (JNA + libcudart) finds the runtime beside torch
for d in "$TORCH_DIR"/../nvidia/*/lib "$TORCH_DIR"/../nvidia/*/*/lib; do
  [ -d "$d" ] && LD_LIBRARY_PATH="$(cd "$d" && pwd)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
done
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}"

M=$WORK/merv
# libjpeg / lcms2 for the runtime's image decoders where this machine has none (pack.sh)
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$M/native"
TESTDIRS=""
MAINDIRS=""
while read -r m; do
  [ -d "$M/test-classes/$m" ] && TESTDIRS="$TESTDIRS${TESTDIRS:+:}$M/test-classes/$m"
  MAINDIRS="$MAINDIRS${MAINDIRS:+:}$M/classes/$m"
done < "$M/modules.txt"
CP="$TESTDIRS:$MAINDIRS:$M/lib/*"
JOPTS=(-Xmx${MERV_KIT_XMX:-8g} -XX:+UseParallelGC -Djava.awt.headless=true -Dai.djl.offline=true
  -Dai.djl.default_engine=PyTorch -Dai.djl.pytorch.num_threads="$THREADS" -Dai.djl.pytorch.num_interop_threads=1
  -Dmerv.fixtures="$M/fixtures" -Dmerv.docs="$M/docs" -Djna.tmpdir="$WORK/jna" -Dorg.slf4j.simpleLogger.log.ai.djl.util.cuda.CudaUtils=error)
mkdir -p "$WORK/jna"

# junit NAME [launcher options]: one console-launcher run, XML into RESULTS/junit-NAME
# (JVM options for one stage: JUNIT_JOPTS, e.g. the fixture tests' device)
junit() {
  local name=$1
  shift
  "$JAVA" "${JOPTS[@]}" ${JUNIT_JOPTS:-} -cp "$CP" org.junit.platform.console.ConsoleLauncher execute --disable-banner \
    --details=tree --details-theme=ascii --disable-ansi-colors --scan-classpath "$TESTDIRS" --reports-dir "$RESULTS/junit-$name" "$@"
}

# ---------------------------------------------------------------- 3. fixture tests
# on a GPU every fixture test computes there (fp32 with TF32 off, at the fixtures' tolerances)
TEST_DEVICE=cpu
[ "$MODE" = gpu ] && TEST_DEVICE=cuda
JUNIT_JOPTS=-Dmerv.test.device=$TEST_DEVICE run_stage fixture-tests 30 junit fixtures --include-classname '.*FixtureTest' \
  --fail-if-no-tests

# ---------------------------------------------------------------- 4. GPU checks
if [ "$MODE" = gpu ]; then
  run_stage gpu-checks 20 junit gpu --include-classname '.*GpuTest'
else
  say "stage gpu-checks: not run (--cpu rehearsal)"
fi

# ---------------------------------------------------------------- 5. LLM training-step benchmark
if [ "$MODE" = gpu ]; then
  # a Llama-2-7B-shaped decoder (hidden 4096, 32 heads, MLP 11008, vocab 32064) at MERV's finetune shape:
  # 2048 tokens of which the first 64 stand for the visual tokens; as many layers as the card holds at
  # ~5 GB per layer (20 bytes per parameter of weights, gradients, fp32 masters and moments, plus one
  # layer's activations without recomputation) after ~9 GB for embedding, LM head, logits and the context
  LAYERS=${MERV_KIT_LLM_LAYERS:-$("$PY" -c 'import json,sys
t = json.load(open(sys.argv[1])).get("device_total_bytes") or 0
print(max(4, min(12, int((0.85 * t / 2**30 - 9) / 5.0))))' "$RESULTS/facts.json")}
  LLM=(--dtype bf16 --layers "$LAYERS" --hidden 4096 --heads 32 --kv-heads 32 --mlp 11008 --vocab 32064 --batch 1
    --seq 2048 --visual 64 --steps 5 --warmup 2)
  ENC=(--dtype bf16 --iters 5)
  JDEV=gpu0; PDEV=cuda:0
else
  LLM=(--dtype fp32 --layers 2 --hidden 128 --heads 4 --kv-heads 2 --mlp 344 --vocab 1024 --batch 2 --seq 128
    --visual 16 --steps 3 --warmup 1)
  ENC=(--dtype fp32 --width 16 --size 112 --iters 2)
  JDEV=cpu; PDEV=cpu
fi
bench_llm() {
  say "merv: TrainStepBench ${LLM[*]} on $JDEV (recompute, then plain)"
  "$JAVA" "${JOPTS[@]}" -cp "$CP" dev.merv.llm.TrainStepBench --device "$JDEV" "${LLM[@]}" \
    | tee "$RESULTS/bench-llm-merv.json" | grep '^{'
  local rc=${PIPESTATUS[0]}
  summarize
  say "PyTorch: train_step.py, same model, step and shapes, on $PDEV"
  "$PY" "$PACK/train_step.py" --device "$PDEV" --threads "$THREADS" "${LLM[@]}" \
    | tee "$RESULTS/bench-llm-pytorch.json" || return 1
  return "$rc"
}
run_stage bench-llm 60 bench_llm

# ---------------------------------------------------------------- 6. encoder benchmark
bench_encoders() {
  say "merv: EncoderConcurrencyBench ${ENC[*]} on $JDEV"
  "$JAVA" "${JOPTS[@]}" -cp "$CP" dev.merv.encoders.EncoderConcurrencyBench --device "$JDEV" "${ENC[@]}" \
    | tee "$RESULTS/bench-encoders-merv.json" | grep '^{'
  return "${PIPESTATUS[0]}"
}
run_stage bench-encoders 30 bench_encoders

if [ "${MERV_KIT_LORA:-0}" = 1 ]; then
  # the LoRA step at full depth (LoraStepBench and lora_step.py; their defaults are Llama-2-7B at MERV's length)
  if [ "$MODE" = gpu ]; then
    LORA=(--batch ${MERV_KIT_LORA_BATCH:-1} --steps 3 --warmup 1)
  else
    LORA=(--layers 2 --hidden 128 --heads 4 --kv-heads 2 --mlp 344 --vocab 1024 --seq 128 --batch 1 --r 8 --alpha 16
      --steps 2 --warmup 1)
  fi
  bench_lora() {
    "$JAVA" "${JOPTS[@]}" -cp "$CP" dev.merv.llm.lora.LoraStepBench --device "$JDEV" "${LORA[@]}" \
      | tee "$RESULTS/bench-lora-merv.json" | grep '^{' || return 1
    "$PY" "$PACK/lora_step.py" --device "$PDEV" "${LORA[@]}" | tee "$RESULTS/bench-lora-pytorch.json" || return 1
  }
  run_stage bench-lora 60 bench_lora
fi

if [ "${MERV_KIT_DECODER_STACK:-0}" = 1 ]; then
  if [ "$MODE" = gpu ]; then
    STACK=(--dtype bf16 --layers 4 --hidden 4096 --heads 32 --kv-heads 32 --mlp 11008 --batch 1 --seq 2048 --steps 10 --warmup 3)
  else
    STACK=(--dtype fp32 --layers 2 --hidden 512 --heads 8 --kv-heads 8 --mlp 1408 --batch 2 --seq 256 --steps 5 --warmup 2)
  fi
  bench_stack() {
    "$JAVA" "${JOPTS[@]}" -cp "$CP" dev.merv.llm.llama.DecoderStackBench --device "$JDEV" "${STACK[@]}" \
      | tee "$RESULTS/bench-stack-merv.json" | grep '^{' || return 1
    "$PY" "$PACK/decoder_stack.py" --device "$PDEV" --threads "$THREADS" "${STACK[@]}" \
      | tee "$RESULTS/bench-stack-pytorch.json" || return 1
  }
  run_stage bench-decoder-stack 60 bench_stack
fi

# ---------------------------------------------------------------- 7. the rest of the suite
# (QuickstartDocTest compiles the docs' quickstart with javac: this machine has no JDK)
run_stage other-tests 60 junit suite --exclude-classname '.*FixtureTest' --exclude-classname '.*GpuTest' \
  --exclude-classname '.*QuickstartDocTest'

summarize
say "done in $((SECONDS - T0)) s: $RESULTS/summary.json"
cat "$RESULTS/summary.json"
