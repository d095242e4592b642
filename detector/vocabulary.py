"""The corpus's words, listed once: synthetic families, held-out protocols and audio file extensions.

The corpus builder, the manifest checks, the held-out folds, the app's plain words
and the command line all read these lists, so adding a family or a format is one
edit here. Lives in :mod:`detector` because every package may import it.
"""

from __future__ import annotations

GENUINE = "genuine"
NEURAL_VOCODER_FAMILY = "neural_vocoder"   # neural copy-synthesis of real recordings (HiFi-GAN, LPCNet)
# Synthetic families: text-to-speech ones read a text; copy ones (vocoder, neural_vocoder) re-synthesise a recording.
TTS_FAMILIES = ("formant", "diphone", "parametric", "neural", "articulatory")
COPY_FAMILIES = ("vocoder", NEURAL_VOCODER_FAMILY)
SYNTHETIC_FAMILIES = (*TTS_FAMILIES, *COPY_FAMILIES)
FAMILIES = (GENUINE, *SYNTHETIC_FAMILIES)   # the manifest's ``family`` column ("genuine" for real speech)

# Held-out protocols (train/heldout.py): leave out a synthetic family, one generator of the
# neural_vocoder family (e.g. "neural_vocoder:hifigan", LPCNet still training), or a genuine recording source.
# ("vocoder" alone is the family of classic vocoder copies: WORLD, Griffin-Lim, MLSA, LPC.)
# "channel": leave one measured channel class out (both classes of its clips; issue 32), where the corpus
# frame carries the measured ``channel`` column (train.channels); not part of the headline mean.
PROTOCOLS = ("family", NEURAL_VOCODER_FAMILY, "source", "channel")

# Files the command line picks up in a folder and a user's dataset may contain (decoded by ffmpeg/libsndfile).
AUDIO_EXTENSIONS = frozenset({
    ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".mp4", ".webm",
    ".aif", ".aiff", ".au", ".caf", ".wv", ".mka",
})
