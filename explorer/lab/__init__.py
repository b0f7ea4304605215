"""The lab pages' back-ends: gallery, OOD, attributions, robustness, the exhibit, replay,
and each checkpoint's test-set outputs."""
