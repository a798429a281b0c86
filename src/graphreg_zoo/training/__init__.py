"""Training: the fit loop (`engine`), what each family minimises (`objectives`), recipes (`recipes`), the
Seq-CNN base's 100 kb chunk datasets (`chunks`) and the frozen base's bottleneck cache (`bottlenecks`)."""
