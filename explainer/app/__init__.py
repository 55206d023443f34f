"""Streamlit side of the app: helpers the pages call (the only part of `explainer` that imports
streamlit, and only in ui.py, panels.py and feedback_panels.py; models.py, runs.py and
progress.py are plain Python).
"""
