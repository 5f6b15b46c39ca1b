"""IOM risk matrix: likelihood of reoffending crossed with the harm the reoffending would cause.

Result is a RAG priority (red, amber, green) and a band shared with the other tools [I].
"""

from __future__ import annotations

from dataclasses import dataclass

LIKELIHOOD = ("low", "medium", "high")
HARM = ("low", "medium", "high", "very_high")

# rows: likelihood low/medium/high; columns: harm low..very_high
_MATRIX: tuple[tuple[str, ...], ...] = (
    ("green", "green", "amber", "amber"),
    ("green", "amber", "amber", "red"),
    ("amber", "amber", "red", "red"),
)
_BAND = {"green": "low", "amber": "medium", "red": "high"}


@dataclass(frozen=True)
class IomResult:
    rag: str
    band: str
    score: int

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def score(likelihood: str, harm: str) -> IomResult:
    li, hi = LIKELIHOOD.index(likelihood), HARM.index(harm)
    rag = _MATRIX[li][hi]
    points = (li + 1) * (hi + 1)
    band = "very_high" if points >= 12 else _BAND[rag]
    return IomResult(rag=rag, band=band, score=points)
