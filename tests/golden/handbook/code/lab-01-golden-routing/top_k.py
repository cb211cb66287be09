"""Pick each token's best expert: the smallest routing step there is."""

from __future__ import annotations


# region: pick
def pick(scores: list[float]) -> int:
    """The index of the highest score; ties go to the lower index."""
    best = 0
    for index, score in enumerate(scores):
        if score > scores[best]:
            best = index
    return best


# endregion: pick


if __name__ == "__main__":
    print(pick([0.1, 0.7, 0.2]))
