"""Benchmarks of Saliency Lab: ``python -m benchmarks all|rise|lime|metrics|load|peers|memory|engines|efficiency|autostop|first-map|ray_scaling``.

Not part of the library: the peers it measures against (Xplique, the ``lime`` package
called directly, a "student" RISE) are installed from ``benchmarks/requirements.txt``.
Each section prints one JSON object per line; speed is reported as in-run ratios.
"""
