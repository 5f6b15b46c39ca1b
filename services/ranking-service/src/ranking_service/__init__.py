"""HHPU ranking-service: harm ranking of offence records, explainable, reproducible, back-tested.

A ranking never decides anything by itself (DPA 2018 s.49-s.50): it proposes people for a human
assessment.
"""

__version__ = "0.1.0"
