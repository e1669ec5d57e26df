#!/usr/bin/env bash
# Install the Debian packages the tests need when they are missing: chromium for browser tests,
# poppler-utils for pdftoppm and pdftotext, fonts-dejavu-core and fonts-wqy-microhei for PDF
# cards. Needs root or passwordless sudo. Does nothing when all of them are present.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
# The PDF card's Unicode font; without it cards fall back to latin-1 Helvetica.
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
# The PDF card's fallback font for the Chinese, Japanese and Korean glyphs DejaVu Sans lacks:
# one 5 MB TrueType collection with Han, kana and all 11,172 Hangul syllables. Without it those
# characters print as a white square. (fonts-droid-fallback has no Hangul syllables.)
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "installing Debian packages: ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
