"""Evaluation: classification metrics, linear probe, latent-space benchmark, plots and HTML report.

- :mod:`~neurorep.evaluation.metrics`: ``classification_metrics`` (accuracy, balanced accuracy,
  F1, Cohen's kappa, confusion matrix).
- :mod:`~neurorep.evaluation.probe`: ``linear_probe`` and ``label_fraction_curve`` on frozen
  embeddings.
- :mod:`~neurorep.evaluation.latent`: ``latent_benchmark`` (kNN, silhouette, Davies-Bouldin,
  alignment/uniformity, RankMe, clustering NMI/ARI, subject separability), chunked for large N.
- :mod:`~neurorep.evaluation.plots`: figures (embedding maps, confusion matrix, hypnogram,
  learning curves, grid heat map, label-fraction curve).
- :mod:`~neurorep.evaluation.report`: ``write_report`` (one self-contained HTML file),
  ``markdown_table``, ``mean_sd``.

Plotting modules are imported lazily by their users; importing this package does not load
matplotlib.
"""

from neurorep.evaluation.latent import latent_benchmark
from neurorep.evaluation.metrics import classification_metrics
from neurorep.evaluation.probe import ProbeResult, label_fraction_curve, linear_probe

__all__ = [
    "ProbeResult",
    "classification_metrics",
    "label_fraction_curve",
    "latent_benchmark",
    "linear_probe",
]
