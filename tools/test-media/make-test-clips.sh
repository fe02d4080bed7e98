#!/usr/bin/env bash
# Writes the small decoder test clips committed under merv-data/src/test/resources/video-clips.
#
# Needs an ffmpeg with libx264, libx265, libvpx and libaom (e.g. Debian's ffmpeg package). Every clip is
# FFmpeg's moving test pattern (testsrc2), a few seconds long, a few KB to ~100 KB, with short GOPs so a
# 32-frame sample crosses several key frames, and one feature the decoder must get right:
#
#   h264-bpyramid.mp4    x264, 3 B-frames with B-pyramid (reference B-frames), closed GOPs
#   h264-opengop.mp4     x264 open GOPs: leading B-frames after each non-IDR key frame
#   h264-editlist.mp4    h264-bpyramid.mp4 cut at 0.6 s without re-encoding: an edit list whose lead-in
#                        packets (from the key frame before the cut) are decoded but not shown
#   hevc.mp4             x265, B-pyramid, open GOPs (CRA key frames with RASL leading pictures)
#   hevc-temporal.mp4    x265 with 3 temporal sub-layers (sub-layer non-reference pictures that ARE referenced)
#   vp9.webm             libvpx-vp9 with hidden alt-ref frames (Matroska: no frame count in the header)
#   av1.mkv              libaom AV1
#   mpeg4.mp4            MPEG-4 Part 2 with B-VOPs
#   mpeg2.ts             MPEG-2 with B-pictures in MPEG-TS (no index: seeks land by timestamp search)
#   vp8.webm             libvpx VP8 with alt-ref frames
#   odd-h264.mp4         97x61, 4:4:4 (4:2:0 cannot have odd sizes in H.264)
#   odd-vp9.webm         97x61, 4:2:0
#   rotate90.mp4 / rotate180.mp4 / rotate270.mp4
#                        h264-bpyramid.mp4's stream copied with a display matrix (clockwise rotation)
#   vfr.mp4              variable frame rate (irregular timestamps)
#   fullrange-h264.mp4   yuvj420p (full range, H.264 signals it in the VUI)
#   fullrange-vp9.webm   yuv420p tagged full range (VP9 has no J pixel format)
#   limited-h264.mp4     the full-range clips' content in limited range, to compare colours against
#   10bit-h264.mp4 / 10bit-hevc.mp4 / 10bit-vp9.webm
#                        10-bit 4:2:0
#
# Usage (from the repository root): tools/test-media/make-test-clips.sh [OUT_DIR]
set -euo pipefail
out="${1:-merv-data/src/test/resources/video-clips}"
mkdir -p "$out"
src=(-f lavfi -i "testsrc2=size=96x64:rate=24")
odd=(-f lavfi -i "testsrc2=size=98x62:rate=24" -vf "format=yuv444p,crop=97:61:0:0")
n=(-frames:v 120)
ff() { ffmpeg -hide_banner -loglevel error -nostdin -y "$@"; }
x264="keyint=30:min-keyint=30:scenecut=0:bframes=3:b-pyramid=normal:b-adapt=2:threads=1"
x265="keyint=30:min-keyint=30:scenecut=0:bframes=4:b-pyramid=1:open-gop=1:frame-threads=1:pools=none:log-level=error"

ff "${src[@]}" "${n[@]}" -c:v libx264 -crf 30 -pix_fmt yuv420p -x264-params "$x264" "$out/h264-bpyramid.mp4"
ff "${src[@]}" "${n[@]}" -c:v libx264 -crf 30 -pix_fmt yuv420p -x264-params "$x264:open-gop=1" "$out/h264-opengop.mp4"
ff "${src[@]}" "${n[@]}" -c:v libx265 -crf 32 -pix_fmt yuv420p -tag:v hvc1 -x265-params "$x265" "$out/hevc.mp4"
ff "${src[@]}" "${n[@]}" -c:v libx265 -crf 32 -pix_fmt yuv420p -tag:v hvc1 -x265-params "$x265:temporal-layers=3" \
  "$out/hevc-temporal.mp4"
ff "${src[@]}" "${n[@]}" -c:v libvpx-vp9 -b:v 90k -g 30 -auto-alt-ref 1 -lag-in-frames 16 -deadline good -cpu-used 4 \
  -threads 1 "$out/vp9.webm"
ff "${src[@]}" -frames:v 72 -c:v libaom-av1 -crf 45 -g 24 -cpu-used 8 -threads 1 "$out/av1.mkv"
ff "${src[@]}" "${n[@]}" -c:v mpeg4 -q:v 12 -bf 2 -g 30 "$out/mpeg4.mp4"
ff "${src[@]}" "${n[@]}" -c:v mpeg2video -q:v 16 -bf 2 -g 30 -f mpegts "$out/mpeg2.ts"
ff "${src[@]}" "${n[@]}" -c:v libvpx -b:v 70k -g 30 -auto-alt-ref 1 -lag-in-frames 16 -deadline good -cpu-used 4 \
  -threads 1 "$out/vp8.webm"
ff "${odd[@]}" "${n[@]}" -c:v libx264 -crf 30 -pix_fmt yuv444p -x264-params "$x264" "$out/odd-h264.mp4"
ff "${odd[@]}" "${n[@]}" -c:v libvpx-vp9 -b:v 90k -g 30 -pix_fmt yuv420p -deadline good -cpu-used 4 -threads 1 \
  "$out/odd-vp9.webm"
ff -ss 0.6 -i "$out/h264-bpyramid.mp4" -t 3 -c copy "$out/h264-editlist.mp4"
for r in 90 180 270; do
  # -display_rotation takes the counter-clockwise angle; the file name says the clockwise one
  ff -display_rotation:v:0 "$((360 - r))" -i "$out/h264-bpyramid.mp4" -c copy "$out/rotate$r.mp4"
done
# timestamps: 24 fps, then a 0.5 s hole, then 12 fps
ff "${src[@]}" "${n[@]}" -vf "setpts='if(lt(N,40),N/24,if(lt(N,80),0.5+N/24,2.17+(N-80)/12))/TB'" -fps_mode vfr \
  -c:v libx264 -crf 30 -pix_fmt yuv420p -x264-params "$x264" -video_track_timescale 12288 "$out/vfr.mp4"
ff "${src[@]}" "${n[@]}" -c:v libx264 -crf 24 -pix_fmt yuvj420p -x264-params "$x264" "$out/fullrange-h264.mp4"
ff "${src[@]}" "${n[@]}" -c:v libvpx-vp9 -b:v 90k -g 30 -pix_fmt yuv420p -color_range pc -deadline good -cpu-used 4 \
  -threads 1 "$out/fullrange-vp9.webm"
ff "${src[@]}" "${n[@]}" -c:v libx264 -crf 24 -pix_fmt yuv420p -x264-params "$x264" "$out/limited-h264.mp4"
ff "${src[@]}" "${n[@]}" -c:v libx264 -crf 24 -pix_fmt yuv420p10le -x264-params "$x264" "$out/10bit-h264.mp4"
ff "${src[@]}" "${n[@]}" -c:v libx265 -crf 26 -pix_fmt yuv420p10le -tag:v hvc1 -x265-params "$x265" "$out/10bit-hevc.mp4"
ff "${src[@]}" "${n[@]}" -c:v libvpx-vp9 -b:v 90k -g 30 -pix_fmt yuv420p10le -deadline good -cpu-used 4 -threads 1 \
  "$out/10bit-vp9.webm"
ls -l "$out"
