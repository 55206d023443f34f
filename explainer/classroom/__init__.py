"""A class: codes, QR code and teacher key, students' guesses and the class run (classes.py);
the predict-then-reveal questions, answered by the real model (questions.py).
"""
