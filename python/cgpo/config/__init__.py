"""Typed configuration of a CGPO run, plain Python (no torch), so that the command line loads and
validates a YAML file and fails with one-line messages before any model is loaded.

Levels, bottom up: :mod:`~cgpo.config.validate` (the checks and the problem collector),
:mod:`~cgpo.config.generation` (sampling settings), the algorithms' settings (each beside its
algorithm, in :mod:`cgpo.algorithms`), :mod:`~cgpo.config.task` (:class:`~cgpo.config.task.Task`)
and :mod:`~cgpo.config.run` (:class:`~cgpo.config.run.CGPOConfig`), composed from them. The
package re-exports nothing, so importing a lower level never pulls in a higher one.
"""
