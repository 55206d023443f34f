"""Your model out into the ecosystem: a Hugging Face folder (to_hf) and a GGUF file (to_gguf)."""
