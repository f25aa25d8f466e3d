"""Reward models R_l: the :class:`~cgpo.rewards.models.RewardModel` protocol, a Hugging Face
scalar-head model, plain callables, and Bradley-Terry training
(:mod:`~cgpo.rewards.models`); preference pairs and ``cgpo train-rm`` settings
(:mod:`~cgpo.rewards.preferences`, plain Python)."""
