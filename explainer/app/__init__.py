"""Streamlit glue: the helpers the pages call. The only package of `explainer` that imports
streamlit, and every module here does (tests/test_imports.py checks the first half). What the
pages need in plain Python lives below: the runs, their estimates and progress, and the models
folder in `serve/`, the journey in `journey.py`.
"""
