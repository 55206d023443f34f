"""`python -m explainer bench`: every speed and quality figure side by side in one run (suite.py);
the phase benchmarks (phases.py), the real model's (real.py) and shared timing tools (measure.py).
"""
