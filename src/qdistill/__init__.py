"""qdistill: dataset distillation for quantum neural networks (arXiv 2503.17935)."""

__version__ = "0.2.0"
