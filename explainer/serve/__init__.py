"""Serving many learners on one server: background jobs (jobs.py) and where they run
(workers.py: threads or processes; cluster.py: Ray), each phase as a job and its estimate
(runs.py), a run's progress read from its events (progress.py), the models folder (registry.py)
and a once-per-key cache (cache.py). Streamlit-free.
"""
