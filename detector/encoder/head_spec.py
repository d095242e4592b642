"""What an encoder version's head is: its kind, the encoder outputs it reads, its regularisation.

One :class:`HeadSpec` per head, written once into the version's ``encoder.json``
(:mod:`detector.encoder.record`). Everything that names or describes a head derives from
it: the candidate and version names, the Admin list (:data:`SERVABLE_HEADS`), the card's
words, the trainer's constructor (``train.encoder.heads.head_for``) and the serving path.
It lives in :mod:`detector` so the app process can list heads without scikit-learn.

Example
-------
>>> FUSED_SHIPPED.name
'fused-01234-temporal-0123'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from detector.encoder.runtime import SEQUENCE_OUTPUTS

POOLED, FUSED = "pooled", "pooled+temporal"
TEMPORAL_OUTPUTS = tuple(range(SEQUENCE_OUTPUTS))   # the stem and blocks 1-3: what step_sequence keeps
C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1)   # regularisation strengths tried on validation by default


@dataclass(frozen=True)
class HeadSpec:
    """One head, as trained and as served.

    Attributes
    ----------
    kind : str
        :data:`POOLED` (logistic regression on the mean and spread over time of ``outputs``)
        or :data:`FUSED` (that, fused with a temporal head on ``temporal_outputs``'s 0.1-s
        averages, weights fitted on validation).
    outputs : tuple of int
        Encoder outputs (0 the stem, k block k) whose pooled statistics the linear part reads.
    temporal_outputs : tuple of int
        Outputs the temporal part reads (fused heads only): :data:`TEMPORAL_OUTPUTS`, or its first
        ones on an encoder with fewer blocks (what ``step_sequence`` keeps).
    c_grid : tuple of float or None
        Inverse regularisation strengths tried on validation (one value: fixed); ``None`` when
        the version was published before the spec recorded it.
    per_output : bool
        One regression per output, their logits averaged (still one linear map when served).
    """

    kind: str
    outputs: tuple[int, ...]
    temporal_outputs: tuple[int, ...] = ()
    c_grid: tuple[float, ...] | None = C_GRID
    per_output: bool = False

    def __post_init__(self) -> None:
        if self.kind not in (POOLED, FUSED):
            raise ValueError(f"a head's kind must be {POOLED!r} or {FUSED!r}, got {self.kind!r}")
        if not self.outputs or len(set(self.outputs)) != len(self.outputs) or min(self.outputs) < 0:
            raise ValueError(f"a head reads a non-empty list of distinct encoder outputs, got {list(self.outputs)}")
        if (self.kind == FUSED) != bool(self.temporal_outputs):
            raise ValueError("a fused head, and only a fused head, names the outputs its temporal part reads")
        if self.temporal_outputs and tuple(self.temporal_outputs) != TEMPORAL_OUTPUTS[:len(self.temporal_outputs)]:
            raise ValueError(f"a temporal part reads the first outputs of {list(TEMPORAL_OUTPUTS)} (the stem and "
                             f"blocks 1-3, as many as the encoder has), got {list(self.temporal_outputs)}")
        if self.c_grid is not None and (not self.c_grid or any(c <= 0 for c in self.c_grid)):
            raise ValueError(f"regularisation strengths must be positive, got {self.c_grid}")

    @property
    def name(self) -> str:
        """A name that says what the head reads, e.g. ``linear-01234``, ``fused-01234-temporal-0123``."""
        digits = "".join(str(o) for o in self.outputs)
        name = f"linear-{digits}" if self.kind == POOLED else \
            f"fused-{digits}-temporal-{''.join(str(o) for o in self.temporal_outputs)}"
        if self.c_grid is not None and len(self.c_grid) == 1:
            name += f"-c{self.c_grid[0]:g}"
        return name + ("-each" if self.per_output else "")

    def words(self) -> str:
        """The head in a sentence, for the card."""
        layers = _layers(self.outputs)
        linear = (f"a logistic-regression head on the mean and spread over time of {layers}"
                  + (", one regression per output averaged" if self.per_output else ""))
        if self.kind == POOLED:
            return linear
        return (f"{linear}, fused with a temporal head on the 0.1-second averages of "
                f"{_layers(self.temporal_outputs)} (fusion weights fitted on validation)")

    def label(self) -> str:
        """A short label for a list (Admin's choice of head)."""
        text = f"linear on {_short(self.outputs)}"
        if self.c_grid is not None and len(self.c_grid) == 1:
            text += f", C = {self.c_grid[0]:g}"
        if self.per_output:
            text += ", one per output, averaged"
        return text if self.kind == POOLED else f"{text}, fused with a temporal head on {_short(self.temporal_outputs)}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "outputs": list(self.outputs), "temporal_outputs": list(self.temporal_outputs),
                "c_grid": None if self.c_grid is None else list(self.c_grid), "per_output": self.per_output}

    @classmethod
    def from_dict(cls, data: Any) -> "HeadSpec":
        """A spec from ``encoder.json``'s ``head`` object.

        Raises
        ------
        ValueError
            When a key is missing or unknown, or a value has the wrong type.
        """
        keys = {"kind", "outputs", "temporal_outputs", "c_grid", "per_output"}
        if not isinstance(data, dict) or set(data) != keys:
            raise ValueError(f"a head must hold exactly {', '.join(sorted(keys))}")
        for key in ("outputs", "temporal_outputs"):
            if not isinstance(data[key], list) or not all(isinstance(o, int) and not isinstance(o, bool)
                                                          for o in data[key]):
                raise ValueError(f"the head's {key} must be a list of integers")
        grid = data["c_grid"]
        if grid is not None and (not isinstance(grid, list) or not all(isinstance(c, (int, float))
                                                                       and not isinstance(c, bool) for c in grid)):
            raise ValueError("the head's c_grid must be a list of numbers or null")
        if not isinstance(data["kind"], str) or not isinstance(data["per_output"], bool):
            raise ValueError("the head's kind must be text and per_output true or false")
        return cls(kind=data["kind"], outputs=tuple(data["outputs"]), temporal_outputs=tuple(data["temporal_outputs"]),
                   c_grid=None if grid is None else tuple(float(c) for c in grid), per_output=data["per_output"])

    @classmethod
    def legacy(cls, kind: str, outputs: tuple[int, ...]) -> "HeadSpec":
        """The spec of a record written before specs: its kind and outputs; its regularisation was not recorded."""
        return cls(kind=kind, outputs=tuple(outputs), temporal_outputs=TEMPORAL_OUTPUTS if kind == FUSED else (),
                   c_grid=None)


def _short(outputs: tuple[int, ...]) -> str:
    blocks = [o for o in outputs if o > 0]
    contiguous = len(blocks) > 1 and blocks == list(range(blocks[0], blocks[-1] + 1))
    text = (f"blocks {blocks[0]}-{blocks[-1]}" if contiguous else
            "block " + ", ".join(str(b) for b in blocks) if len(blocks) == 1 else
            "blocks " + ", ".join(str(b) for b in blocks)) if blocks else ""
    return ("the stem and " + text if text else "the stem") if 0 in outputs else text


def _layers(outputs: tuple[int, ...]) -> str:
    names = ["the stem" if o == 0 else f"block {o}" for o in outputs]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"


FUSED_SHIPPED = HeadSpec(FUSED, (0, 1, 2, 3, 4), TEMPORAL_OUTPUTS)
# The heads the app can train and serve, the shipped kind first (Admin's list, the retrain's choices).
SERVABLE_HEADS: tuple[HeadSpec, ...] = (
    FUSED_SHIPPED,
    HeadSpec(POOLED, (0, 1, 2, 3, 4)),
    HeadSpec(POOLED, (0, 1, 2, 3)),
    HeadSpec(POOLED, (1, 2, 3)),
    HeadSpec(POOLED, (0, 1, 2, 3, 4), c_grid=(0.001,)),
    HeadSpec(POOLED, (0, 1, 2, 3, 4), c_grid=(0.0003,)),
    HeadSpec(POOLED, (0, 1, 2, 3, 4), per_output=True),
)
SERVABLE_NAMES = tuple(spec.name for spec in SERVABLE_HEADS)


def servable(name: str) -> HeadSpec:
    """The servable head called ``name``.

    Raises
    ------
    ValueError
        When no servable head has that name; the sentence lists them.
    """
    for spec in SERVABLE_HEADS:
        if spec.name == name:
            return spec
    raise ValueError(f"{name!r} is not a head the app can serve; choose one of {', '.join(SERVABLE_NAMES)}.")
