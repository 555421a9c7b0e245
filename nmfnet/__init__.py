"""NMFNet: a neural initializer for NMF of chroma planes (WNet + HNet, after the 2023 thesis).

Import-light on purpose: the codec reaches :func:`nmfnet.inference.initialize` through its
registry, and the CLI finds the training commands in :mod:`nmfnet.commands`.
"""
