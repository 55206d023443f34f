"""What the feedback tests share (like pagetest.py): synthetic ratings that follow a rule the
reward model must find. The tiny model they rate is conftest.py's `tiny`."""
import random
from pathlib import Path

from explainer.phases.ratings import Rating

SPEC = dict(max_new_tokens=16, minutes=None)
SHIPPED = Path(__file__).resolve().parent.parent / "models"

SUNNY = "sunny warm happy bright lovely garden picnic smile".split()
STORMY = "storm thunder flood cold dark wind rain grey".split()


def synthetic(n_prompts=24, per_prompt=6, seed=0):
    """👍 when the answer's words are sunny, 👎 when they are stormy: a rule the reward model must find."""
    rng = random.Random(seed)
    out = []
    for p in range(n_prompts):
        for i in range(per_prompt):
            good = i % 2 == 0
            words = rng.choices(SUNNY if good else STORMY, k=rng.randint(4, 8))
            out.append(Rating(f"Question number {p}?", " ".join(words) + ".", 1 if good else -1, "tiny", "t"))
    return out
