"""The integrity records of the model versions this repository ships, by digest.

Package code, not the store: a version whose ``integrity.json`` has one of these digests
(:func:`detector.signing.canonical` of the record, SHA-256) under its own name is one the
project published, and needs no signature from this server's key. A shipped version that
is re-sealed (Admin's re-score, ``python -m detector seal``) gets a new record, which this
server signs. When a release ships a new version, add its
:func:`detector.integrity.record_digest`; ``tests/test_signing.py`` checks that every
version in the repository's store is listed with the digest it has.
"""

SHIPPED_RECORDS: dict[str, str] = {
    "20261122-1412-effnet-melexc": "a56a0b16de3c314eae3e97387c8efb4f4a6f7912ec86cde08d859eff977c5598",
    "20261130-0747-effnet-melexc": "ec8074c3aeacc0722b9543d764d99b087deb1c12988c648f29c1dfe0dcea019c",
    "20261204-1945-whisper-linear-01234": "9422252be0def3d4aa1b0a149054deeb1101b3811bacb18ad8d1e483e4c11b7b",
    "20261204-2200-whisper-fused-01234-temporal": "bdb98383965c4b27b52c6561b3fca8d4a94767ca573f2455b718ea92745e6f1c",
    "20261206-1729-whisper-linear-01234": "ab63734dbd7731cb9fa62656044855331c30fcc10694cb19cf18cd806a3f3668",
    "20261207-0009-whisper-linear-01234-multicondition":
        "52e525b4392a45a4af314024ffbaac12bfea0856898fbef856c73c6031d8d734",
}
