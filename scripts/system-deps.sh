#!/usr/bin/env bash
# Debian packages the product and its tests use: Tesseract for OCR of scanned documents,
# antiword for legacy Word (.doc) files, ffmpeg to decode audio and video recordings, espeak-ng
# to speak the test and evaluation recordings, Chromium and its driver for the browser tests.
# Skips what is already there; needs root (or passwordless sudo) only when something is
# missing.
set -euo pipefail
need=()
command -v tesseract >/dev/null 2>&1 || need+=(tesseract-ocr tesseract-ocr-eng)
command -v antiword >/dev/null 2>&1 || need+=(antiword)
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
command -v chromium >/dev/null 2>&1 || need+=(chromium chromium-driver)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "system-deps: please install: ${need[*]}" >&2; exit 0
  fi
fi
echo "system-deps: installing ${need[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
