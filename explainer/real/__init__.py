"""The real LLM beside ours: SmolLM2-135M-Instruct read from its GGUF file (llama.py, smollm.py,
gguffile.py), and what the pages and notebooks say about it (beside.py).
"""
