"""One task's step as stages over a :class:`~cgpo.rollout.batch.RolloutBatch`: generation
(:mod:`~cgpo.rollout.generation`), judging (:mod:`~cgpo.rollout.judging`), scoring against the
baseline (:mod:`~cgpo.rollout.scoring`, :mod:`~cgpo.rollout.baselines`), and the log-probabilities
the updates need (:mod:`~cgpo.rollout.logprobs`).

The package re-exports nothing: the judging checks stay importable without torch.
"""
