#!/usr/bin/env bash
# Rebuild examples/podcast/media/* and the real-audio fixtures in tests/data/ from
# Debian packages. Not run by the tests or CI; kept so the material is reproducible.
#
#   bash examples/podcast/make_media.sh            # needs: apt-get, dpkg-deb, sox, ffmpeg
#
# Every cut point below is a multiple of 10 ms, so it falls on a whole sample at
# 44.1 kHz and at 16 kHz alike. See SOURCES.md for what each line is and says.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=$HERE/media
FIX=$REPO/tests/data
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT" "$FIX"

cd "$WORK"
apt-get download freedroidrpg-data=1.0-1 asterisk-core-sounds-en-g722=1.6.1-1 bucklespring-data=1.4.0-2
for deb in *.deb; do dpkg-deb -x "$deb" root; done

FD=root/usr/share/freedroidrpg/data
SOG=$FD/base/titles/StartOfGame.ogg     # girix8, 44.1 kHz Vorbis, dual mono
GL=$FD/base/titles/GameLost.ogg         # girix8, 44.1 kHz Vorbis, dual mono
TOWN=$FD/sound/music/town.ogg           # Arvid Picciani, 44.1 kHz stereo Vorbis
AL=root/usr/share/asterisk/sounds/en_US_f_Allison   # Allison Smith, G.722 (16 kHz)
BK=root/usr/share/buckle/wav            # Ico Doornekamp, 44.1 kHz mono WAV

# G.722 has no container: ffmpeg decodes it to 16 kHz 16-bit PCM.
for p in demo-congrats demo-moreinfo demo-nogo tt-allbusy demo-thanks priv-introsaved; do
    ffmpeg -nostdin -loglevel error -f g722 -i "$AL/$p.g722" -c:a pcm_s16le "$p.wav"
done

SOX="sox -D"   # no dither: the cuts only scale and fade, and the pads must stay digital zero

# piece OUT SRC IN OUT_TIME POS: cut [IN, OUT_TIME) from SRC as mono (the two
# identical channels averaged), 10 ms half-sine fades at the cuts, delayed to POS
# (conversation time, seconds).
piece() {
    $SOX "$2" -b 16 "$1" remix - trim "$3" "=$4" fade h 0.01 -0 0.01 pad "$5"
}

# --- Host (girix8), 44.1 kHz ------------------------------------------------------
piece h1.wav "$SOG"  0.25  5.15  0.50   # What a great day. Yes, I'm being sarcastic again.
piece h2.wav "$GL"   3.25  9.62 13.50   # Please try again, and when you do, be sure to buy from our sponsors: Dr. How - mighty convenient technology!
piece h3.wav "$GL"  17.00 27.12 29.20   # Cryonic Solutions - take the fast trip to the future with Cryonic Solutions! Future Ballistics - beyond ballistics. Future Ballistics.
piece h4.wav "$SOG" 23.10 29.50 48.95   # I'm not very happy with that. Not happy at all.
piece h5.wav "$SOG" 35.85 41.80 65.15   # Don't you think it would be a great time to wake up? Get up. Get here.

# --- Guest (Allison Smith), 16 kHz ----------------------------------------------
piece g1.wav demo-congrats.wav 0.10 7.24  5.85  # Congratulations. You have successfully installed and executed the Asterisk open source PBX.
piece g2.wav demo-moreinfo.wav 0.90 9.24 20.30  # Asterisk is an open source full-featured PBX and IVR platform that runs on the Linux operating system.
piece g3.wav demo-nogo.wav     0.05 5.99 42.52  # I am afraid I was unable to create a connection to the Digium demonstration Asterisk server.
piece g4.wav tt-allbusy.wav    0.05 8.85 55.80  # All representatives of the household are currently assisting other telemarketers. Please hold ...
piece g5.wav demo-thanks.wav   0.15 5.40 71.60  # Goodbye. Thank you for trying out the Asterisk open source PBX.

# Both stems run 0 .. 77.50 s of conversation time, silent (digital zero) where the
# other speaker talks.
LEN=77.50
mix() { local out=$1; shift; local args=(); for f in "$@"; do args+=(-v 1 "$f"); done
        # -V1: pad warns when the trim after it stops the flow early; that is intended.
        $SOX -V1 -m "${args[@]}" -b 16 -C 8 "$out" pad 0 "$LEN" trim 0 "$LEN"; }
mix "$OUT/host.flac"  h1.wav h2.wav h3.wav h4.wav h5.wav
mix "$OUT/guest.flac" g1.wav g2.wav g3.wav g4.wav g5.wav

# --- Music bed: first 60 s of town.ogg, Ogg packets copied (no re-encoding) -------
ffmpeg -nostdin -loglevel error -y -i "$TOWN" -t 60 -map 0:a -c copy -map_metadata 0 -fflags +bitexact "$OUT/music.ogg"

# --- Effect: someone types "mixdown" + Enter on an IBM Model M (bucklespring) ------
# bucklespring names its samples <scancode>-0.wav (key down) and <scancode>-1.wav (key up).
keys=(32 17 2d 20 18 11 31 1c)                  # m i x d o w n Enter
down=(0.00 0.16 0.31 0.49 0.62 0.80 0.93 1.46)  # key-down times, seconds
hold=(0.09 0.08 0.10 0.08 0.09 0.10 0.08 0.12)  # how long each key is held
args=()
for i in "${!keys[@]}"; do
    up=$(awk "BEGIN{print ${down[$i]} + ${hold[$i]}}")
    $SOX "$BK/${keys[$i]}-0.wav" "d$i.wav" pad "${down[$i]}"
    $SOX "$BK/${keys[$i]}-1.wav" "u$i.wav" pad "$up"
    args+=(-v 0.7 "d$i.wav" -v 0.7 "u$i.wav")
done
$SOX -m "${args[@]}" -b 16 -C 8 "$OUT/typing.flac"

# --- tests/data: short real excerpts, 16 kHz mono 16-bit FLAC ---------------------
# host: "Future Ballistics. Beyond ballistics. Future Ballistics." (room noise kept)
$SOX "$GL" -b 16 -C 8 "$FIX/speech_host_16k.flac" remix - trim 22.40 =27.10 rate -v 16000
# guest: "Thank you. Please hold, while I attempt to connect you with your party!"
$SOX priv-introsaved.wav -b 16 -C 8 "$FIX/speech_guest_16k.flac"
# music: town.ogg 30.00-35.00 s (a stretch without the track's short rhythmic stops), mono
$SOX "$TOWN" -b 16 -C 8 "$FIX/music_16k.flac" remix - trim 30.00 5.00 rate -v 16000

ls -l "$OUT" "$FIX"
