"""Adapters that plug cgpo's judges into other frameworks.

- :mod:`cgpo.integrations.verl`: verl ``custom_reward_function`` (``compute_score``,
  ``compute_score_batch``), routing by data source.
- :mod:`cgpo.integrations.server`: the reward server behind ``cgpo serve`` (FastAPI): ``/judge``
  and OpenRLHF's ``/get_reward``.

TRL needs no adapter: :func:`cgpo.judges.as_reward_function` makes any judge a
``reward_funcs`` entry.
"""
