"""Evaluation of a gene table: gene sets and metrics (`metrics`), the markdown and PNG report (`report`)."""
