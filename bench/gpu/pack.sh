#!/usr/bin/env bash
# pack.sh PACK [TOOLS]: assemble the GPU kit (docs/gpus.md) in folder PACK, here, with a JDK.
#
# PACK then holds everything a machine with a torch (any version DJL's JNI can be rebuilt against),
# Python and no JDK or network needs to prove merv there in one run (bash PACK/run.sh PACK RESULTS):
#   run.sh, summarize.py          the runner and what writes its RESULTS/summary.json
#   train_step.py                 the PyTorch twin of merv's training-step benchmark (HF LlamaForCausalLM
#                                 when transformers imports there, else a plain twin)
#   lora_step.py                  the PyTorch twin of merv's LoRA step benchmark (optional kit stage)
#   decoder_stack.py              the PyTorch decoder layers train_step.py's plain twin uses, and the twin
#                                 of merv's forward+backward decoder-stack benchmark
#   merv.tar.xz                   merv's classes, their runtime dependencies without the 110 MB
#                                 pytorch-native-cpu (and DJL's prebuilt JNI: the kit rebuilds it), test
#                                 classes, the golden fixtures, the docs (for the doc-vs-code tests),
#                                 libjpeg and lcms2 (native/), JUnit's console launcher; jars stored
#                                 uncompressed so that xz packs them (smaller than deflate)
#   jre.tar.xz                    a jlink'd Java 17 runtime (TOOLS/make-jre.sh)
#   djl/build-djl-jni.sh, djl/djl-jni-src/   DJL 0.36's JNI sources and the script that rebuilds
#                                 libdjl_torch.so against the local torch (copied from TOOLS)
#   KIT.txt                       what was packed: merv commit, sizes, checksums
#
# TOOLS (or MERV_GPU_TOOLS) is the folder holding build-djl-jni.sh, djl-jni-src/ and make-jre.sh. They
# are not part of this repository (DJL's sources stay out of it); docs/gpus.md says where to get them.
# PACK must end up at most 60 MiB (it travels with the checkout); pack.sh fails when it does not.
# Builds with ./mvnw package (tests compiled, not run); nothing is installed into ~/.m2.
set -euo pipefail

die() { echo "pack: $*" >&2; exit 1; }
log() { echo "pack: $*" >&2; }

[ $# -ge 1 ] || die "usage: bench/gpu/pack.sh PACK [TOOLS]   (TOOLS or MERV_GPU_TOOLS: the kit's tool folder, see docs/gpus.md)"
PACK=$1
TOOLS=${2:-${MERV_GPU_TOOLS:-}}
[ -n "$TOOLS" ] || die "no tool folder: pass it as the second argument or set MERV_GPU_TOOLS to the folder holding
  build-djl-jni.sh, djl-jni-src/ and make-jre.sh (docs/gpus.md, 'The GPU kit', says where to get them)"
for f in build-djl-jni.sh make-jre.sh djl-jni-src/DJL_COMMIT djl-jni-src/ai_djl_pytorch_jni_PyTorchLibrary.h; do
  [ -e "$TOOLS/$f" ] || die "$TOOLS has no $f: MERV_GPU_TOOLS must be the kit's tool folder (docs/gpus.md)"
done
for t in javac jlink jar xz tar sha256sum; do
  command -v "$t" >/dev/null || die "needs $t (a JDK 17+ and xz)"
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOLS=$(cd "$TOOLS" && pwd)
MODULES=(merv-core merv-encoders merv-llm merv-data merv-examples)
LIMIT=$((60 * 1024 * 1024))
# jars the GPU machine does not need: DJL's CPU libtorch and its prebuilt JNI (run.sh rebuilds the JNI
# against the local torch), JUnit's separate jars (the console launcher bundles them), and libraries no
# test touches there: byte-buddy (AssertJ's soft-assertion proxies) and pdfbox (XChart's PDF export)
EXCLUDE='^(pytorch-native-cpu|pytorch-jni|byte-buddy|pdfbox|pdfbox-io|fontbox|graphics2d|junit-jupiter|junit-jupiter-api|junit-jupiter-engine|junit-jupiter-params|junit-platform-commons|junit-platform-engine|opentest4j|apiguardian-api)-[0-9]'

mkdir -p "$PACK"
PACK=$(cd "$PACK" && pwd)
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
started=$SECONDS

# ---------------------------------------------------------------- build
log "building merv (./mvnw package, tests compiled but not run) ..."
(cd "$ROOT" && ./mvnw -B -q -DskipTests package dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile=target/kit.classpath) >&2
junit=$(sed -n 's:.*<junit.version>\(5\.[0-9.]*\)</junit.version>.*:\1:p' "$ROOT/pom.xml")
[ -n "$junit" ] || die "cannot read junit.version from pom.xml"
platform="1.${junit#5.}"
log "fetching JUnit's console launcher $platform ..."
(cd "$ROOT" && ./mvnw -B -q dependency:copy \
  -Dartifact="org.junit.platform:junit-platform-console-standalone:$platform" -DoutputDirectory="$STAGE/lib") >&2

# ---------------------------------------------------------------- jars
mkdir -p "$STAGE/merv/lib" "$STAGE/merv/test-classes" "$STAGE/merv/fixtures"
mv "$STAGE/lib/"*.jar "$STAGE/merv/lib/"
for m in "${MODULES[@]}"; do
  # merv's own classes as folders, as Maven's tests see them (resources read through Path.of(URL)
  # need a folder: the jlink'd runtime has no zip file system)
  mkdir -p "$STAGE/merv/classes/$m"
  cp -r "$ROOT/$m/target/classes/." "$STAGE/merv/classes/$m/"
  tr ':' '\n' < "$ROOT/$m/target/kit.classpath" | while read -r jar; do
    [ -n "$jar" ] || continue
    name=$(basename "$jar")
    case "$name" in merv-*) continue ;; esac     # merv itself: its class folders (above)
    if [[ "$name" =~ $EXCLUDE ]]; then continue; fi
    [ -f "$STAGE/merv/lib/$name" ] || cp "$jar" "$STAGE/merv/lib/"
  done
done

# restore every jar uncompressed (xz compresses raw classes and .so files far better than deflate),
# dropping other platforms' natives where a jar carries them: restore JAR [DIR KEEP] deletes every
# platform folder (a name with a '-') under DIR except KEEP
restore() {
  local jar=$1 dir=${2:-} keep=${3:-} tmp p
  tmp=$(mktemp -d)
  (cd "$tmp" && jar xf "$jar")
  if [ -n "$dir" ] && [ -d "$tmp/$dir" ]; then
    for p in "$tmp/$dir"/*-*/; do
      if [ -d "$p" ] && [ "$(basename "$p")" != "$keep" ]; then rm -rf "$p"; fi
    done
    rm -f "$tmp"/META-INF/*.SF "$tmp"/META-INF/*.RSA "$tmp"/META-INF/*.DSA "$tmp"/META-INF/*.EC  # no longer the signed content
  fi
  rm -f "$jar"
  jar --create --no-compress --no-manifest --file "$jar" -C "$tmp" .
  rm -rf "$tmp"
}
log "restoring $(ls "$STAGE/merv/lib" | wc -l) jars uncompressed, linux-x86_64 natives only ..."
for jar in "$STAGE/merv/lib/"*.jar; do
  case "$(basename "$jar")" in
    tokenizers-*) restore "$jar" native/lib linux-x86_64 ;;
    jna-*) restore "$jar" com/sun/jna linux-x86-64 ;;
    *) restore "$jar" ;;
  esac
done

# ---------------------------------------------------------------- tests and fixtures
# one fixture folder for all modules (the modules' copies are the same fixtures; run.sh points
# -Dmerv.fixtures at it); test resources that several modules carry unchanged (the tokenizers) become
# hard links to the first copy, which tar stores once
prev=()
for m in "${MODULES[@]}"; do
  src="$ROOT/$m/target/test-classes"
  [ -d "$src" ] || continue
  if [ -d "$src/fixtures" ]; then
    for f in "$src/fixtures"/*/; do
      n=$(basename "$f")
      if [ -d "$STAGE/merv/fixtures/$n" ]; then
        diff -rq "$f" "$STAGE/merv/fixtures/$n" >/dev/null || die "fixture $n differs between modules ($m)"
      else
        cp -r "$f" "$STAGE/merv/fixtures/$n"
      fi
    done
  fi
  d="$STAGE/merv/test-classes/$m"
  mkdir -p "$d"
  (cd "$src" && tar --exclude=./fixtures -cf - .) | tar -xf - -C "$d"
  if [ ${#prev[@]} -gt 0 ]; then
    (cd "$d" && find . -type f ! -path './dev/*') | while read -r f; do
      for p in "${prev[@]}"; do
        if [ -f "$p/$f" ] && cmp -s "$p/$f" "$d/$f"; then ln -f "$p/$f" "$d/$f"; break; fi
      done
    done
  fi
  prev+=("$d")
done
cp "$ROOT/bench/gpu/train_step.py" "$ROOT/bench/gpu/lora_step.py" "$ROOT/bench/gpu/decoder_stack.py" "$ROOT/bench/gpu/summarize.py" \
  "$ROOT/bench/gpu/run.sh" "$PACK/"
chmod +x "$PACK/run.sh"
printf '%s\n' "${MODULES[@]}" > "$STAGE/merv/modules.txt"
# the docs, for the tests that check a doc against the code (run.sh passes -Dmerv.docs)
cp -r "$ROOT/docs" "$STAGE/merv/docs"
# system libraries the runtime's image decoders link to (Debian's JDK links libjpeg and lcms2 dynamically; a
# machine with only torch may lack them: the sid rehearsal root has no libjpeg). run.sh puts them last on
# LD_LIBRARY_PATH, so a machine's own copies win.
mkdir -p "$STAGE/merv/native"
for lib in libjpeg.so.62 liblcms2.so.2; do
  p=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ {print $NF; exit}')
  if [ -n "$p" ]; then cp -L "$p" "$STAGE/merv/native/$lib"; else log "no $lib here: JPEG stills need it on the GPU machine"; fi
done

log "compressing merv.tar.xz ..."
tar -C "$STAGE" -cf - merv | xz -T0 -6 > "$PACK/merv.tar.xz"

# ---------------------------------------------------------------- runtime and JNI sources
log "jlink'ing the Java runtime (make-jre.sh) ..."
bash "$TOOLS/make-jre.sh" "$PACK/jre.tar.xz" >&2
rm -rf "$PACK/djl"
mkdir -p "$PACK/djl"
cp "$TOOLS/build-djl-jni.sh" "$PACK/djl/"
cp -r "$TOOLS/djl-jni-src" "$PACK/djl/djl-jni-src"
chmod -R u+w "$PACK/djl"

# ---------------------------------------------------------------- manifest and size
commit=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo " (with uncommitted changes)" || true)
{
  echo "merv GPU kit, packed $(date -u +%Y-%m-%dT%H:%M:%SZ) from commit $commit$dirty"
  echo "DJL JNI sources: $(cat "$TOOLS/djl-jni-src/DJL_REF" 2>/dev/null) $(cat "$TOOLS/djl-jni-src/DJL_COMMIT")"
  echo "run there: bash PACK/run.sh PACK RESULTS [--cpu]"
  echo
  (cd "$PACK" && find . -type f ! -name KIT.txt ! -path './djl/djl-jni-src/*' -printf '%s\t%p\n' | sort -k2)
  echo
  (cd "$PACK" && sha256sum merv.tar.xz jre.tar.xz run.sh train_step.py lora_step.py decoder_stack.py summarize.py \
    djl/build-djl-jni.sh)
} > "$PACK/KIT.txt"
size=$(du -sb "$PACK" | cut -f1)
log "PACK $PACK: $((size / 1024 / 1024)) MiB ($size bytes) in $((SECONDS - started)) s"
du -sh "$PACK"/* >&2
[ "$size" -le "$LIMIT" ] || die "PACK is $size bytes, over the 60 MiB limit"
