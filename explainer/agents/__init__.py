"""Agents: the model as the brain of a program that uses tools.

tools.py (calculator, lookup), capitals.py (the lookup's table), calls.py (how a call and its
result are written, for our model and for SmolLM2), loop.py (the agent loop, yielding one event
per step), data.py (tool-use training conversations and the held-out split), tuning.py (tool-use
fine-tuning), measure.py (held-out figures: right tool, right answer, without tools).
"""
