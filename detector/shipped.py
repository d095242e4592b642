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
    "20261204-1945-whisper-linear-01234": "89032a18374cb9c97c4aff21ec18480ec13e3d051c4dcd0418e08e4d4ae1d0c3",
    "20261204-2200-whisper-fused-01234-temporal": "e4141feb25a6b051d6dab2f829420d28df1254862e196d9e1271fa8c1c44cc35",
}
