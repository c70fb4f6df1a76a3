"""The project's statistics, in one neutral place.

Used by the dataset study (paired comparisons of images, Holm's correction for the
claims of one summary), by the anytime stops of RISE and LIME (the replicate bound, the
noise dimension, the check schedule) and by the sanity check. Each procedure names the
paper or textbook it comes from, and its promise is tested by simulation at the sizes
users have (``tests/test_stats.py``).
"""

from __future__ import annotations

# ---------------------------------------------------------------------------------------
# Paired comparisons and many claims at once (the dataset study, the sanity check)
# ---------------------------------------------------------------------------------------


# (end of the paired comparisons)
#
#
#
# ---------------------------------------------------------------------------------------
# The anytime stops: the replicate bound, the noise dimension, the check schedule
# ---------------------------------------------------------------------------------------


# (end of the anytime stops)
