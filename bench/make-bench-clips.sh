#!/usr/bin/env bash
# Writes the two decode benchmark clips into bench/media/ (ignored by git: ~10-60 MB):
# FFmpeg's testsrc2 pattern, 854x480, 30 fps, GOP 250, x264 preset veryfast, 30 s and 3 min.
# Needs an ffmpeg with libx264. Usage (from the repository root): bench/make-bench-clips.sh [OUT_DIR]
set -euo pipefail
out="${1:-bench/media}"
mkdir -p "$out"
for secs in 30 180; do
  f="$out/testsrc2-854x480-${secs}s.mp4"
  [[ -s "$f" ]] && { echo "exists: $f"; continue; }
  ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i "testsrc2=size=854x480:rate=30" -t "$secs" \
    -c:v libx264 -preset veryfast -g 250 -pix_fmt yuv420p "$f"
  echo "wrote $f"
done
