"""The model core: architectures, the registry, checkpoints, inference, output heads."""
