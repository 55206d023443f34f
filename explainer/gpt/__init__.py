"""The GPT engine: tokenizer, network, sampler, scorer, training loop and its events, the
parameter file, the chat template and the logit lens. Imports nothing else of `explainer` but
`corpus`.
"""
