"""The phases of making a model, each on the GPT engine: pretraining, instruction tuning (sft),
ratings and simulated raters, the reward model and learning from feedback, the judge; and the
context window and two-files studies. Never imports the job machinery, the app or the CLI.
"""
