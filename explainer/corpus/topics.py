"""Which topic is a text about? A transparent keyword classifier for the "stays on topic" measure.

Each of the eight instruction topics has a list of keywords and phrases with a weight (1 = a hint,
2 = a strong sign, 3 = unmistakable). A text's score for a topic is the sum of the weights of its
keywords found in it (whole words, case-insensitive; a keyword also matches its plural with -s or
-es, unless it is written with '=' like "hi=", so that "his" is not "hi"; each keyword counts
once). The topic with the highest score wins; no keyword at all means no
topic (None).

    >>> classify("A flash flood watch means heavy rain could cause flooding.")
    'weather'
    >>> scores("Giraffes eat leaves.")["animals"], scores("Giraffes eat leaves.")["meals"]
    (4, 1)
    >>> on_topic("Ask me later.", "meals")
    False

`on_topic(answer, topic)` is what the benchmark counts: the answer's best-scoring topic is the
prompt's topic (a tie with another topic still counts, a text with no keyword does not). The
keywords were written by hand from the Everyday English world and checked on the generated
answers (tests/test_instructions.py: >= 95% of good answers land on their own topic).
"""
from __future__ import annotations

import functools
import re

TOPICS = ("meals", "weather", "animals", "routines", "facts", "small_talk", "safety", "stories")


def _kw(spec: str) -> dict[str, int]:
    """'eat food | lunch:2 | hi=:3' -> {'eat food': 1, 'lunch': 2, 'hi=': 3} ('=': no plural)."""
    out = {}
    for part in spec.split("|"):
        part = part.strip().lower()
        if part:
            word, _, w = part.partition(":")
            out[word.strip()] = int(w) if w else 1
    return out


KEYWORDS: dict[str, dict[str, int]] = {
    "meals": _kw(
        "eat | food:2 | breakfast:2 | lunch:2 | dinner:2 | dessert:2 | snack:2 | meal:2 | cook | "
        "recipe:2 | hungry:2 | tasty:2 | delicious:2 | bake | oven | pan | soup:2 | bread:2 | "
        "toast:2 | rice:2 | noodle:2 | pancake:2 | porridge:2 | egg | cheese:2 | butter:2 | "
        "flour:2 | sugar | fruit | vegetable | salad:2 | stew:2 | pie:2 | cake | crumble:2 | "
        "honey | yoghurt:2 | sandwich:2 | potato:2 | tomato | onion:2 | carrot | pepper | "
        "curry:2 | pizza:2 | spaghetti:2 | jam:2 | chocolate | serve | ingredient:2 | "
        "scone:2 | biscuit:2 | risotto:2 | chilli:2 | lentil:2 | fritter:2 | flatbread:2 | "
        "drink | milk | juice:2 | tea | apple | banana | grape | orange | nuts | oats:2 | "
        "mushroom:2 | garlic:2 | basil:2 | stock | goes into | recipe for:2"),
    "weather": _kw(
        "weather:3 | rain:2 | rainy:2 | flood:3 | flooding:3 | flash flood:3 | storm:2 | "
        "thunderstorm:2 | forecast:3 | watch | warning | advisory:3 | wind:2 | windy:2 | gust:2 | "
        "snow:2 | snowy:2 | ice | icy:2 | fog:3 | foggy:3 | heat:2 | hot | sunny:2 | cloudy:2 | "
        "umbrella:2 | raincoat:2 | coat | boots | sun cream:2 | temperature:2 | degrees | "
        "higher ground:3 | bulletin:3 | radio | headlight:2 | shade | weather service:3 | "
        "sun hat:2 | gloves | scarf | visibility:2 | dry | cold | warm | heavy rain:3"),
    "animals": _kw(
        "animal:3 | giraffe:3 | elephant:3 | penguin:3 | lion:3 | zebra:3 | dolphin:3 | owl:3 | "
        "hedgehog:3 | kangaroo:3 | camel:3 | bee:3 | octopus:3 | octopuses:3 | frog:3 | "
        "tortoise:3 | otter:3 | cat:2 | dog:2 | rabbit:2 | hamster:3 | goldfish:3 | "
        "guinea pig:3 | parrot:3 | pet:3 | zoo:3 | zookeeper:3 | savanna:3 | vet:3 | "
        "calf | calves | cub:2 | chick | joey:3 | tadpole:3 | puppy:2 | kitten:2 | leaves | "
        "insects:2 | hunt:2 | swim | fly | nest:2 | fur:2 | feathers:2 | cage:2 | hutch:3 | tank | "
        "wild:2 | species:2 | tail:2 | neck | trunk:2 | pride:2 | herd:2 | pod:2"),
    "routines": _kw(
        "routine:3 | wake:2 | wake up:3 | alarm:3 | bed:2 | bedtime:3 | sleep:3 | asleep:2 | "
        "tired:2 | morning:2 | evening:2 | school:2 | homework:2 | teeth:3 | shower:2 | "
        "dressed:3 | get dressed:3 | bag:2 | pack:2 | schedule:3 | on time:3 | early:2 | late | "
        "hours of sleep:3 | chore:3 | tidy:2 | make the bed:3 | every day:2 | same time:3 | "
        "clock:2 | bus | train | tram | walk | nap:3 | rest | habit:3 | reminder:2 | note:2 | "
        "fridge | plants | rubbish:2 | washing:2 | curtains:2 | calendar:2 | list"),
    "facts": _kw(
        "capital:3 | country:2 | city | continent:3 | planet:3 | solar system:3 | sun | earth:2 | "
        "moon:2 | number:2 | plus:3 | minus:3 | times:2 | equals:3 | even:2 | odd:2 | "
        "even number:3 | odd number:3 | answer | sum:2 | days in a week:3 | "
        "week:2 | month:2 | year | minutes in an hour:3 | hour | celsius:3 | freezes:3 | boils:3 | "
        "mountain:3 | ocean:3 | desert:3 | island:3 | river | metres:3 | centimetres:3 | grams:3 | "
        "boil:3 | freeze:3 | kilogram:3 | kilometre:3 | sides:3 | triangle:3 | square:2 | hexagon:3 | century:3 | "
        "decade:3 | dozen:3 | jupiter:3 | mars:3 | mercury:3 | venus:3 | saturn:3 | uranus:3 | "
        "neptune:3 | europe:2 | africa:2 | asia:2 | america:2 | oceania:3 | fact:2 | "
        "seven days:2 | twelve months:3 | sixty:2 | hundred | thousand | monday"),
    "small_talk": _kw(
        "hello:3 | hi=:3 | hey=:2 | welcome:3 | thank:2 | thanks:2 | glad:3 | nice to meet:3 | "
        "nice to hear:3 | chat:3 | chatting:3 | talk:2 | friend:2 | friends:2 | goodbye:3 | bye:3 | "
        "see you:3 | how are you:3 | doing well:3 | feeling:2 | sorry to hear:3 | sad:2 | "
        "happy:2 | lovely day:3 | great day:3 | wonderful:2 | language model:3 | assistant:2 | "
        "computer program:3 | robot:2 | my name:2 | your name:2 | help you:2 | ask me:2 | "
        "person:2 | joke:3 | bored:3 | fun:2 | best part:3 | anything else:2 | human:2 | computer:2 | "
        "who are you:3 | what are you:3 | good afternoon:3 | good morning:2 | good evening:3 | "
        "nothing to do:3 | good day:2"),
    "safety": _kw(
        "safe:3 | safety:3 | unsafe:3 | danger:3 | dangerous:3 | careful:3 | burn:3 | hurt:3 | "
        "injury:3 | adult:3 | grown-up:3 | never:2 | emergency:3 | first aid:3 | poison:3 | "
        "poisonous:3 | fire:3 | matches:3 | smoke:3 | gas:3 | shock:3 | electric:2 | helmet:3 | "
        "lifeguard:3 | stranger:3 | lightning:3 | medicine:3 | doctor:2 | cut:2 | bleeding:3 | "
        "plaster:3 | crossing:2 | traffic:3 | kerb:3 | look left:3 | police:2 | knife:2 | "
        "protect:2 | risk:3 | ill:2 | owner:2 | tracks:2 | railway:2 | current:2 | thin ice:3 | "
        "stove:2 | toaster:2 | unplug:3 | sunglasses:2 | cross the road:3 | busy road:3 | pill:3 | "
        "lost:3 | alone:2 | on my own:2 | by myself:2 | let them in:2 | flooded road:3"),
    "stories": _kw(
        "once upon a time:6 | story:3 | the end:4 | named:2 | one day:2 | happily:2 | "
        "adventure:3 | fairy:3 | dragon:3 | princess:3 | castle:3 | brave:2 | little:1 | "
        "ever after:3 | bedtime:1 | they lived:3 | wonderful time:2 | best friends:2"),
}


@functools.lru_cache(maxsize=None)
def _index() -> tuple[dict[str, list[tuple[str, str]]], list[tuple[re.Pattern, str, str]]]:
    """Single words -> [(topic, keyword)] for a set lookup (fast); phrases (with a space or a
    hyphen) as regular expressions. Plural forms are looked up as the word without -s / -es."""
    from .everyday import RECIPES   # (imported here: the corpus imports this module)
    for dish in RECIPES:                          # every dish is a meals keyword: "dal", "shakshuka"
        KEYWORDS["meals"].setdefault(dish.lower(), 2)
    words: dict[str, list[tuple[str, str]]] = {}
    phrases = []
    for topic, kws in KEYWORDS.items():
        for kw in kws:
            bare = kw.rstrip("=")
            if re.fullmatch(r"[a-z]+", bare):
                words.setdefault(kw, []).append((topic, kw))
            else:
                plural = "" if kw.endswith("=") else r"(?:s|es)?"
                pat = re.compile(r"\b" + re.escape(bare).replace(r"\ ", r"\s+") + plural + r"\b")
                phrases.append((pat, topic, kw))
    return words, phrases


def found(text: str) -> dict[str, set[str]]:
    """topic -> the keywords (as written in KEYWORDS) found in `text`."""
    words, phrases = _index()
    low = text.lower()
    out: dict[str, set[str]] = {t: set() for t in TOPICS}
    for w in set(re.findall(r"[a-z]+", low)):
        forms = [w + "="]                                  # exact-only keywords
        forms += [w] + ([w[:-1]] if w.endswith("s") else []) + ([w[:-2]] if w.endswith("es") else [])
        for f in forms:
            for topic, kw in words.get(f, ()):
                out[topic].add(kw)
    for pat, topic, kw in phrases:
        if pat.search(low):
            out[topic].add(kw)
    return out


def scores(text: str) -> dict[str, int]:
    """Score of every topic for `text` (sum of weights of the keywords found, each once)."""
    return {t: sum(KEYWORDS[t][kw] for kw in kws) for t, kws in found(text).items()}


def classify(text: str) -> str | None:
    """The best-scoring topic, or None when no keyword matches. Ties go to the earlier topic in
    TOPICS (only matters for display; `on_topic` accepts ties)."""
    s = scores(text)
    best = max(s.values())
    if best <= 0:
        return None
    return next(t for t in TOPICS if s[t] == best)


def on_topic(text: str, topic: str) -> bool:
    """True if `topic` has the highest score for `text` (ties allowed) and that score is > 0."""
    s = scores(text)
    return s.get(topic, 0) > 0 and s[topic] == max(s.values())


def matched_keywords(text: str, topic: str) -> list[str]:
    """The keywords of `topic` found in `text`, to show why: ("Rain and fog", "weather") -> ['rain', 'fog']."""
    hits = found(text)[topic]
    return [kw.rstrip("=") for kw in KEYWORDS[topic] if kw in hits]
