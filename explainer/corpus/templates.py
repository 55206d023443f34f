"""A tiny template engine and the word tables shared by the Everyday English generators.

A template is one English sentence with slots in braces: "{weekday} will be {sky}." Each slot
is filled with a random choice from a word table; a digit makes a second, different pick from
the same table ("{county} and {county2} counties"). Values may contain slots themselves.

    >>> import random
    >>> fill(random.Random(0), "It rained on {weekday}.", {"weekday": ["Monday", "Friday"]})
    'It rained on Friday.'

Everything is drawn from a `random.Random` passed in by the caller, never from the global RNG,
so the same seed always gives the same corpus.
"""
from __future__ import annotations

import random
import re

_SLOT = re.compile(r"\{([a-z_]+)(\d?)\}")


def fill(rng: random.Random, template: str, words: dict[str, list[str]], **fixed: str) -> str:
    """Fill every {slot} of `template` from `words` (or from `fixed`) and capitalise the result."""
    out = _fill(rng, template, words, fixed)
    return out[:1].upper() + out[1:]


def _fill(rng: random.Random, template: str, words: dict[str, list[str]], fixed: dict) -> str:
    chosen: dict[str, str] = {}

    def pick(m: re.Match) -> str:
        base, digit = m.group(1), m.group(2)
        key = base + digit
        if key in chosen:
            return chosen[key]
        if key in fixed:
            value = fixed[key]
        else:
            options = words[base]
            value = rng.choice(options)
            # "{county2}" should differ from "{county}": "Marion and Marion counties" reads badly.
            for _ in range(4):
                if value not in chosen.values():
                    break
                value = rng.choice(options)
            if "{" in value:
                value = _fill(rng, value, words, fixed)   # no capital inside a sentence
        chosen[key] = value
        return value

    return _SLOT.sub(pick, template)


def num_words(n: int) -> str:
    """Spell out 0..999 the way a children's book would.

    >>> num_words(42), num_words(115), num_words(300)
    ('forty-two', 'one hundred and fifteen', 'three hundred')
    """
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + ("-" + _ONES[ones] if ones else "")
    hundreds, rest = divmod(n, 100)
    return _ONES[hundreds] + " hundred" + (" and " + num_words(rest) if rest else "")


_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def _w(text: str) -> list[str]:
    """Split a table written as "a | b | c" (lets long tables wrap like prose)."""
    return [s.strip() for s in text.split("|") if s.strip()]


# --- word tables shared by several domains --------------------------------------------------
# Tables are deliberately long: a small model should meet many words, and no sentence may
# repeat often enough to be learned by heart.

COMMON = {
    "weekday": _w("Monday | Tuesday | Wednesday | Thursday | Friday | Saturday | Sunday"),
    "month": _w("January | February | March | April | May | June | July | August | September | "
                "October | November | December"),
    "season": _w("spring | summer | autumn | winter"),
    "daypart": _w("morning | afternoon | evening"),
    "clock": _w("5 AM | 6 AM | 7 AM | 8 AM | 9 AM | 10 AM | 11 AM | noon | 1 PM | 2 PM | 3 PM | "
                "4 PM | 5 PM | 6 PM | 7 PM | 8 PM | 9 PM | 10 PM | 11 PM | midnight"),
    "morning_clock": _w("half past six | a quarter to seven | seven o'clock | half past seven | "
                        "six o'clock | a quarter past seven | eight o'clock | twenty to eight"),
    "city": _w("Springfield | Riverton | Fairview | Lakewood | Brookside | Millbrook | Ashford | "
               "Greenville | Oakridge | Pine Bluff | Cedar Falls | Harbor City | Westbury | "
               "Elmstead | Stonebridge | Clearwater | Maple Grove | Bellmont | Northfield | "
               "Redstone | Silverton | Hollis | Cresthaven | Dunmore | Kingsport | Wrenfield | "
               "Bramley | Hartwell | Lowell Bay | Marlow | Tipton | Granger | Pembrook | Easton"),
    "colour": _w("red | blue | green | yellow | orange | purple | brown | grey | white | black | "
                 "pink | golden | silver | pale blue | dark green"),
    "relative": _w("mother | father | grandmother | grandfather | aunt | uncle | sister | "
                   "brother | cousin | neighbour | best friend"),
    "fruit": _w("apples | pears | plums | cherries | peaches | bananas | oranges | lemons | "
                "grapes | strawberries | raspberries | blueberries | apricots | figs | mangoes | "
                "melons | pineapples | kiwis | gooseberries | tangerines"),
    "vegetable": _w("carrots | potatoes | onions | leeks | beans | peas | cabbages | tomatoes | "
                    "cucumbers | peppers | pumpkins | beetroots | radishes | turnips | parsnips | "
                    "courgettes | spinach | lettuce | broccoli | cauliflower | sweetcorn | celery"),
    "street": _w("Mill Street | Church Lane | the high street | Station Road | Market Square | "
                 "Water Lane | Orchard Road | King Street | Bridge Street | Elm Avenue"),
}
