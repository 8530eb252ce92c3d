#!/usr/bin/env bash
# Makes the built-in test clips of the headless bot. Run once by hand; the outputs are committed beside
# this script, so neither the bot nor the tests need ffmpeg.
#
#   assets/make-clips.sh            # rewrites the four clips in assets/
#   FONT=/path/to/font.ttf assets/make-clips.sh
#
# Outputs (10 s each, looped forever by src/peer/media/source.ts):
#   video-640x360.ivf  VP8 640x360 30 fps ~300 kbps   `--video builtin`, the default profile
#   video-320x180.ivf  VP8 320x180 15 fps ~120 kbps   `builtin-light`, the load-test profile
#   audio-20ms.ogg     Opus 48 kHz stereo ~32 kbps, 20 ms packets   (default)
#   audio-120ms.ogg    Opus 48 kHz stereo ~32 kbps, 120 ms packets  (`builtin-light`, the load-test profile:
#                      a sixth of the packets; RFC 6716 allows 120 ms, and a 20-bot mesh is bound by packets)
#
# Why these options:
# - A keyframe exactly every second (-g = -keyint_min = fps): a file cannot make a keyframe on demand, so
#   on PLI the sender jumps to the next one; a receiver waits at most 1 s.
# - No alt-ref/look-ahead (-auto-alt-ref 0 -lag-in-frames 0): every IVF frame is one shown frame, as a
#   real-time encoder would send it; error-resilient because RTP loses packets.
# - CBR video (b = minrate = maxrate) and constrained-VBR Opus so load tests see a steady bitrate
#   (plain VBR Opus spends ~55 kbps on these tones instead of 32).
# - Stereo Opus: werift's file player plays mono Opus as silence (../shared/werift-notes.md).
# - One thread, "good" deadline and bitexact flags: the same ffmpeg/libvpx/libopus build gives the same
#   bytes on every run (libvpx's realtime mode adapts its speed to the clock, so it is avoided).
# - The picture is testsrc2 (moving) with a large frame counter, so a recording shows frozen or skipped
#   frames at a glance; the audio is a quiet 440 Hz tone with a loud 1 kHz beep at each full second, so
#   lost audio and broken timing are audible.
set -euo pipefail

cd "$(dirname "$0")"

FONT="${FONT:-/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf}"
DURATION=10

command -v ffmpeg >/dev/null || { echo "make-clips: ffmpeg is not installed" >&2; exit 1; }
[[ -f "$FONT" ]] || { echo "make-clips: font $FONT missing (apt-get install fonts-dejavu-core, or set FONT=)" >&2; exit 1; }
[[ "$(ffmpeg -hide_banner -filters 2>/dev/null)" == *" drawtext "* ]] ||
  { echo "make-clips: this ffmpeg has no drawtext filter (built without libfreetype)" >&2; exit 1; }

quiet=(-hide_banner -loglevel error -y)
# Output options (they must follow -i): no random Ogg serial, no version strings, one encoder thread.
exact=(-fflags +bitexact -threads 1)

# video WIDTH HEIGHT FPS KBPS OUT
video() {
  local w=$1 h=$2 fps=$3 kbps=$4 out=$5
  local size=$((h / 3))
  ffmpeg "${quiet[@]}" \
    -f lavfi -i "testsrc2=size=${w}x${h}:rate=${fps}:duration=${DURATION}" \
    -vf "drawtext=fontfile=${FONT}:text='%{eif\\:n\\:d\\:3}':fontsize=${size}:fontcolor=white:box=1:boxcolor=black@0.7:boxborderw=$((size / 8)):x=(w-text_w)/2:y=(h-text_h)/2" \
    "${exact[@]}" -c:v libvpx -flags:v +bitexact -deadline good -cpu-used 2 \
    -b:v "${kbps}k" -minrate "${kbps}k" -maxrate "${kbps}k" -bufsize "$((kbps * 2))k" \
    -g "$fps" -keyint_min "$fps" -auto-alt-ref 0 -lag-in-frames 0 -error-resilient 1 \
    -pix_fmt yuv420p -an -f ivf "$out"
}

# audio FRAME_MS OUT
audio() {
  local ms=$1 out=$2
  local tone='0.1*sin(2*PI*440*t)+0.4*lt(mod(t\,1)\,0.1)*sin(2*PI*1000*t)'
  ffmpeg "${quiet[@]}" \
    -f lavfi -i "aevalsrc=exprs=${tone}|${tone}:sample_rate=48000:channel_layout=stereo:duration=${DURATION}" \
    "${exact[@]}" -c:a libopus -flags:a +bitexact -b:a 32k -vbr constrained -application audio -frame_duration "$ms" \
    -map_metadata -1 -vn -f ogg "$out"
}

video 640 360 30 300 video-640x360.ivf
video 320 180 15 120 video-320x180.ivf
audio 20 audio-20ms.ogg
audio 120 audio-120ms.ogg

ls -l video-640x360.ivf video-320x180.ivf audio-20ms.ogg audio-120ms.ogg
