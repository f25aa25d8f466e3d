"""A judge for the RayJudge tests that can kill the process it runs in (an actor dying)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from cgpo.judges.base import BaseJudge, JudgeResult, Sample, Verdict


class ParityJudge(BaseJudge):
    """SATISFIED iff the completion has an even length.

    A sample whose metadata has ``die: "always"`` kills the process judging it; ``die: PATH``
    kills it only while the file PATH does not exist (and creates it): the first try dies, a
    retry succeeds.
    """

    name = "parity"

    def _explain(self, samples: Sequence[Sample]) -> list[JudgeResult]:
        for s in samples:
            die = s.metadata.get("die")
            if die == "always":
                os._exit(1)
            if isinstance(die, str) and not os.path.exists(die):
                with open(die, "w"):
                    pass
                os._exit(1)
        return [
            JudgeResult(Verdict(int(len(s.completion) % 2 == 0)), "parity", {"pid": os.getpid()})
            for s in samples
        ]
