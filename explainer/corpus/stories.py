"""Short stories with a name to copy, and the held-out "name recall" cases built from them.

Every story introduces one character by name in its first sentence, mentions the same name
again in the middle, and ends with it:

    Once upon a time there was a girl named Mila. Every morning, Mila fed the hens before
    breakfast. One windy day, she found a small wet kitten under the bridge. ... At the end of
    the day, Mila smiled.

Nothing else in a story hints at the name (no other character has one), and the name pool is
large and unusual, so the only way to predict the last " Mila" is to look back and copy it.
That is the behaviour induction heads are known for (Olsson et al., 2022, "In-context Learning
and Induction Heads"); a regular "introduce -> mention -> mention at the end" pattern makes it
learnable by a ~1M-parameter model within minutes. Stories stay ~40-90 words so the whole story
fits inside a 128-token context window.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from .templates import COMMON, _w, fill

# --- names ----------------------------------------------------------------------------------
# Uncommon first names from many languages, ASCII spelling. No name is a piece of another name
# or of an ordinary capitalised word in the corpus (tests check it), so finding the name in a
# text means finding the character.
GIRLS = _w(
    "Mila | Zofia | Ilse | Linnea | Saoirse | Amara | Priya | Nadia | Ingrid | Astrid | Elowen | "
    "Maren | Solveig | Yara | Anouk | Noor | Keiko | Aiko | Thandi | Zuri | Imani | Leilani | "
    "Marisol | Paloma | Catalina | Ximena | Renata | Oksana | Vesna | Mirela | Dagny | Sigrid | "
    "Freya | Rosalind | Wilhelmina | Beatrix | Clementine | Odette | Margaux | Eloise | Isolde | "
    "Tamsin | Morwenna | Niamh | Aoife | Ffion | Carys | Eira | Bronwen | Lowri | Siobhan | "
    "Grainne | Orla | Roisin | Ailsa | Hana | Yuki | Lian | Anjali | Kavya | Meera | Deepa | "
    "Lakshmi | Farah | Leyla | Samira | Zainab | Amina | Fatou | Adaeze | Chioma | Ngozi | "
    "Folake | Wanjiru | Akosua | Efua | Nalani | Marama | Aroha | Inka | Tove | Britt | Greta | "
    "Hedda | Agnieszka | Jadwiga | Halina | Esme | Ottilie | Philippa | Perpetua | Henrietta | "
    "Lavinia | Cosima | Seraphina | Ines | Pilar | Consuelo | Graciela | Itzel | Citlali | "
    "Nayeli | Kiona | Aiyana | Winona | Oona | Riya | Dorota | Svetlana | Katya | Ludmila"
)
BOYS = _w(
    "Tomas | Oskar | Kenji | Tarek | Yusuf | Ewan | Caius | Bodhi | Anselm | Bartholomew | "
    "Casimir | Dmitri | Emeric | Fintan | Gideon | Hamish | Idris | Jago | Kofi | Leander | "
    "Matthias | Nikolai | Osric | Piotr | Quentin | Ruairi | Sven | Tobiah | Ulrich | Vasco | "
    "Wendell | Xavi | Yannick | Zoltan | Alistair | Benedikt | Cormac | Dashiell | Eamon | "
    "Florin | Gustavo | Horatio | Ignatius | Joaquin | Lorcan | Mateo | Nuno | Orson | "
    "Rafferty | Thaddeus | Umberto | Valentin | Wolfgang | Yorick | Zebedee | Akio | Haruto | "
    "Arjun | Vikram | Sanjay | Rohan | Omari | Jabari | Kwame | Chidi | Emeka | Tunde | Sipho | "
    "Thabo | Mandla | Karim | Rashid | Farid | Emre | Kerem | Onur | Levente | Bence | Janos | "
    "Miklos | Radek | Bohdan | Taras | Lukas | Jonas | Mattis | Soren | Anders | Torsten | "
    "Ragnar | Leif | Halvard | Einar | Magnus | Bjorn | Teodor | Crispin | Fergus | Lachlan | "
    "Angus | Callum | Rhys | Emrys | Gethin | Dafydd | Tadhg | Oisin | Padraig | Ambrose | "
    "Barnaby | Cedric | Desmond | Ezra | Lazlo | Marcel | Percival | Rupert | Silas | Enzo"
)
NAMES = GIRLS + BOYS

# --- story templates --------------------------------------------------------------------------
# {name} is the character; {they}/{their}/{them} are "she/her/her" or "he/his/him"; {kid} is
# "girl"/"boy". A story is intro, habit, event, effort, outcome, ending; event, effort and outcome
# come from one plot so the story hangs together. Each beat has a version that names the
# character and one that uses a pronoun, so the number of mentions varies while the pattern
# "name first, name again, name last" never changes.

INTROS = _w(
    "Once upon a time there was a {kid} named {name}. | "
    "Once upon a time there was a {adj} {role} named {name}. | "
    "A {role} called {name} lived {in_place}. | "
    "There once was a {kid} called {name} who lived {in_place}. | "
    "Long ago, {in_place}, there lived a {role} named {name}. | "
    "In a {small} {house} {in_place} lived a {role} called {name}. | "
    "This is a story about a {adj} {kid} named {name}. | "
    "Not long ago, a {role} named {name} moved {to_place}. | "
    "{name} was a {adj} {role} who lived {in_place}. | "
    "Far away, {in_place}, lived a {adj} {kid} called {name}."
)

HABIT = (  # (names the character, uses a pronoun)
    _w("Every morning, {name} {habit}. | "
       "Each day {name} {habit}, even when it rained. | "
       "{name} loved {hobby} more than anything. | "
       "Most days, {name} {habit} before anyone else was awake. | "
       "{name} liked to {like_to} whenever the weather was {fine}."),
    _w("Every {daypart}, {they} {habit}. | "
       "More than anything, {they} loved {hobby}. | "
       "{they} liked to {like_to} when the weather was {fine}. | "
       "On {weekday}s {they} {habit} and then went to the market."),
)

PLOTS = {
    "lost": dict(
        event=(_w("But one {daypart}, {name} could not find {their} {treasure} anywhere. | "
                  "One {weekday}, {name} lost {their} {treasure} on the way home from {far_place}."),
               _w("But one {weather_adj} {daypart}, {their} {treasure} was gone. | "
                  "One {weekday}, {they} lost {their} {treasure} on the way to {far_place}.")),
        effort=(_w("{name} searched {search_place} and {search_place2}. | "
                   "{name} asked {helper} if anyone had seen it. | "
                   "{name} looked everywhere, even {search_place}."),
                _w("{they} looked {search_place} and {search_place2}, but found nothing at first. | "
                   "{they} asked {helper}, but nobody had seen it. | "
                   "{they} made a little sign and hung it on the gate.")),
        outcome=(_w("At last {name} found it {found_spot}. | "
                    "In the evening {helper} brought it back, and {name} laughed with relief."),
                 _w("At last {they} found it {found_spot}. | "
                    "The next morning {helper} found it {found_spot}.")),
    ),
    "creature": dict(
        event=(_w("One {weather_adj} {daypart}, {name} found {creature} {found_place}."),
               _w("One {weather_adj} {daypart}, {they} found {creature} {found_place}. | "
                  "On the way to {far_place}, {they} heard a small cry and found {creature} "
                  "{found_place}.")),
        effort=(_w("{name} carried it home and wrapped it in a warm {cloth}. | "
                   "{name} asked {helper} how to look after it. | "
                   "{name} gave it {creature_food} and a bowl of water."),
                _w("{they} carried it home and wrapped it in a warm {cloth}. | "
                   "{they} asked {helper} how to look after it. | "
                   "{they} gave it {creature_food} and made it a bed in a box.")),
        outcome=(_w("Within a week the little animal was {strong}, and {name} was very proud. | "
                    "Soon {name} found its owner, who lived near {far_place}."),
                 _w("Within a week it was {strong} again. | "
                    "Soon its owner came to the door with {gift} to say thank you.")),
    ),
    "storm": dict(
        event=(_w("One {weekday}, {name} saw that the {structure} had been damaged by the storm. | "
                  "One night a storm blew in from the {direction}, and in the morning {name} "
                  "found the {structure} broken."),
               _w("One {weekday}, a storm blew in from the {direction} and damaged the {structure}. | "
                  "One {season} night the wind was so strong that the {structure} began to fall "
                  "apart.")),
        effort=(_w("{name} decided to mend it with {material}. | "
                   "{name} asked {helper} for help. | "
                   "{name} worked from {clock} until dark."),
                _w("So {they} decided to mend it with {material}. | "
                   "It was hard work, and {their} hands were soon {tired_state}. | "
                   "{they} asked {helper} to lend a hand.")),
        outcome=(_w("By the evening, {name} had made the {structure} {better}. | "
                    "With the help of {helper}, {name} made the {structure} {better}."),
                 _w("Together they made the {structure} {better}. | "
                    "By {clock} the {structure} was {better}.")),
    ),
    "visitor": dict(
        event=(_w("One {season} evening, a {visitor} knocked on the door of {name}'s house."),
               _w("One {season} day, a {visitor} knocked on the door and asked for help.")),
        effort=(_w("{name} gave the {visitor} {meal} and a place by the fire. | "
                   "{name} showed the {visitor} the way to {far_place}."),
                _w("{they} gave the {visitor} {meal} and a place by the fire. | "
                   "{they} walked with the {visitor} all the way to {far_place}.")),
        outcome=(_w("The next {season}, the {visitor} came back with {gift} for {name}."),
                 _w("The next day the {visitor} came back with {gift} to say thank you. | "
                    "Before leaving, the {visitor} gave {them} {gift}.")),
    ),
    "sound": dict(
        event=(_w("One {season} day, {name} heard a strange sound coming from {sound_place}."),
               _w("One {season} morning, {they} heard a strange sound coming from "
                  "{sound_place}.")),
        effort=(_w("{name} crept closer with a lamp to see what it was. | "
                   "{name} was a little scared, but went to look anyway."),
                _w("{they} crept closer with a lamp. | "
                   "{they} asked {helper} to come and look.")),
        outcome=(_w("It was {sound_source}, and {name} laughed. | "
                    "There {name} found {sound_source}."),
                 _w("It was only {sound_source}. | "
                    "There, hiding in the dark, was {sound_source}.")),
    ),
}

# The final sentence is cut right before " {name}" for the recall test, so each ending is a
# (before, after) pair around the name.
ENDINGS = [
    ("At the end of the day,", "{feeling_end}."),
    ("At the end of the day,", "went home {happy}."),
    ("That night,", "slept better than ever."),
    ("That night,", "dreamed of {dream}."),
    ("From that day on,", "{always}."),
    ("In the end,", "was glad {they} had tried."),
    ("When the sun went down,", "{sunset}."),
    ("As the stars came out,", "{sunset}."),
    ("Before going to bed,", "{bedtime}."),
    ("And so,", "became the {praise} {role} {in_place}."),
    ("Everyone agreed that it had been a good day for", ""),
    ("It was the best {season} anyone could remember, and nobody was happier than", ""),
]

WORDS = dict(COMMON) | {
    "adj": _w("kind | curious | clever | brave | quiet | cheerful | shy | busy | patient | "
              "young | careful | gentle | stubborn | hard-working | friendly"),
    "small": _w("small | little | crooked | narrow | cosy | blue | white | tiny"),
    "house": _w("house | cottage | cabin | farmhouse | flat | houseboat | hut"),
    "role": _w("baker | farmer | painter | sailor | gardener | potter | shepherd | tailor | "
               "clockmaker | beekeeper | fisher | librarian | carpenter | weaver | miller | cook | "
               "teacher | doctor | musician | lighthouse keeper | shopkeeper | blacksmith | "
               "bookbinder | cheesemaker | kite maker | toy maker | postal worker | vet"),
    "in_place": _w("in a small village by the sea | at the edge of a great forest | "
                   "in a busy city | on a farm near the hills | "
                   "in a town with a tall clock tower | beside a quiet river | "
                   "on a windy island | in a house at the end of the lane | "
                   "high up in the mountains | in a valley full of apple trees | "
                   "near an old stone bridge | in a fishing town | on the edge of the desert | "
                   "in a village of red roofs | by a lake full of ducks"),
    "to_place": _w("to a small village by the sea | to a town in the mountains | "
                   "to a cottage near the woods | to a farm beside the river | "
                   "to a noisy street in the city | to an island with one harbour"),
    "habit": _w("fed the hens before breakfast | walked to the well for water | "
                "watered the tomato plants | opened the little shop at seven | "
                "swept the front steps | played the fiddle by the window | "
                "counted the boats in the harbour | baked bread for the neighbours | "
                "climbed the hill to watch the sunrise | read a chapter of an old book | "
                "mended nets by the water | painted the view from the kitchen | "
                "took the goats up to the meadow | wrote a letter to a faraway friend | "
                "checked the beehives | polished the brass bell on the door"),
    "hobby": _w("collecting smooth stones | flying kites | singing old songs | "
                "drawing birds | growing sunflowers | listening to the rain | "
                "telling jokes | making paper boats | building model ships | "
                "looking at the stars | whistling tunes | learning new words"),
    "like_to": _w("sit by the river | walk along the beach | climb the old oak tree | "
                  "ride a bicycle to the next village | fish from the pier | "
                  "pick berries in the woods | watch the trains go by | sketch the clouds"),
    "fine": _w("sunny | warm | calm | bright | dry | mild | clear"),
    "weather_adj": _w("rainy | windy | foggy | snowy | sunny | chilly | grey | stormy | quiet"),
    "treasure": _w("favourite hat | lucky coin | red scarf | little boat | best pencil | "
                   "silver whistle | wooden flute | blue kite | old compass | garden key | "
                   "reading glasses | pocket knife"),
    "search_place": _w("under the bed | in the garden | behind the shed | along the river | "
                       "in every cupboard | at the market | by the pond | up in the attic | "
                       "down by the harbour | on the hill"),
    "found_spot": _w("under a pile of leaves | in the pocket of an old coat | behind the stove | "
                     "in the hen house | on the windowsill | next to the well | inside a boot | "
                     "in the long grass by the gate"),
    "creature": _w("a small wet kitten | a lost puppy | a bird with a hurt wing | "
                   "a lamb that had wandered away | a baby hedgehog | "
                   "a duckling with no mother | a tired old dog | a young fox with a sore paw"),
    "found_place": _w("under the bridge | behind the bakery | in the tall grass | "
                      "near the garden gate | on the doorstep | beside the road | "
                      "in the old barn | on the beach | under a pile of leaves"),
    "cloth": _w("blanket | towel | woollen scarf | old jumper"),
    "creature_food": _w("warm milk | a few crumbs of bread | some soft grass | "
                        "a little cooked egg | a handful of oats"),
    "strong": _w("strong | healthy | well | lively | fat and happy"),
    "structure": _w("bridge | fence | roof | boat | windmill | chicken coop | garden wall | "
                    "old swing | market stall | shed"),
    "direction": _w("north | south | east | west | sea | hills"),
    "material": _w("wood and rope | new planks and nails | stones from the river | "
                   "tar and canvas | willow branches"),
    "tired_state": _w("sore | cold | covered in mud | full of splinters | tired | dusty"),
    "better": _w("stronger than before | as good as new | safe again | even better than before"),
    "visitor": _w("tired traveller | lost child | worried farmer | stranger in a green coat | "
                  "fisherman with a grey beard | young musician | cold and hungry pedlar"),
    "meal": _w("a bowl of soup | bread and cheese | hot tea and an apple | a plate of stew"),
    "sound_place": _w("the chimney | the old barn | the cellar | the bottom of the garden | "
                      "behind the woodpile | the empty house next door | the attic"),
    "sound_source": _w("a family of mice | an owl and her chicks | "
                       "a hedgehog looking for a warm bed | a cat with four kittens | "
                       "the wind in a broken window | a squirrel with a store of nuts | "
                       "a lost goose"),
    "helper": _w("an old fisherman | a wise owl | the baker next door | a friendly dog | "
                 "the teacher from the school | a kind stranger | the children of the village | "
                 "a clever crow | the woman from the post office | a tall farmer"),
    "far_place": _w("the lighthouse | the next village | the top of the hill | the old mill | "
                    "the edge of the forest | the harbour | the station"),
    "gift": _w("a basket of {fruit} | a warm apple pie | a jar of honey | fresh bread | "
               "a bunch of flowers | a song | a carved wooden bird"),
    "feeling_end": _w("smiled | laughed | felt proud | sang all the way home | sat by the fire | "
                      "had a big bowl of soup | thanked everyone"),
    "happy": _w("happy | tired but happy | with a light heart | humming a tune | feeling proud"),
    "dream": _w("the sea | flying kites | golden fields | tall ships | warm bread | far hills"),
    "always": _w("kept a spare key by the door | helped anyone who asked | "
                 "checked the weather every morning | shared bread with the neighbours | "
                 "carried a small notebook | looked after the garden with extra care"),
    "sunset": _w("sat on the steps and watched the sky | made a cup of tea | "
                 "waved to the neighbours | lit a candle in the window | counted the stars"),
    "bedtime": _w("wrote everything down in a diary | read a short story | "
                  "put the lamp out and closed the curtains | said goodnight to the cat"),
    "praise": _w("best | most famous | happiest | most trusted | busiest"),
}


# --- building stories -------------------------------------------------------------------------

@dataclass(frozen=True)
class Story:
    """One generated story: its sentences and which of them mention the name."""
    name: str
    sentences: tuple[str, ...]
    mentions: tuple[bool, ...]            # mentions[i]: sentence i contains the name
    ending_before: str                    # the last sentence up to (not including) " name"

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


@dataclass(frozen=True)
class NameCase:
    """A story cut right before the final mention of `name` (next word: " " + name).

    first_mention_end: index just after the introduction sentence.
    last_mention_end: index just after the last sentence that mentions the name before the cut;
    a context window starting at or after it sees no mention of the name.
    """
    text: str
    name: str
    first_mention_end: int
    last_mention_end: int

    @property
    def intro_end(self) -> int:          # the name docs/INTERFACES.md uses
        return self.first_mention_end


def story(rng: random.Random, max_words: int = 85) -> Story:
    """Generate one short story with a named character (see the module docstring).

    Stories longer than `max_words` are drawn again, so a story (~1.3 tokens a word with a
    2,048-token BPE) fits inside a 128-token context window.
    """
    while True:
        s = _draw_story(rng)
        if len(s.text.split()) <= max_words:
            return s


def _draw_story(rng: random.Random) -> Story:
    girl = rng.random() < 0.5
    name = rng.choice(GIRLS if girl else BOYS)
    # Chosen once per story so later sentences refer to the same role, thing or visitor.
    fixed = dict(name=name, they="she" if girl else "he", their="her" if girl else "his",
                 them="her" if girl else "him", kid="girl" if girl else "boy",
                 **{k: rng.choice(WORDS[k]) for k in ("role", "treasure", "structure", "visitor")})
    plot = PLOTS[rng.choice(tuple(PLOTS))]
    beats = [HABIT, plot["event"], plot["effort"], plot["outcome"]]
    # Which middle beats name the character: at least one, usually two, so the "same name
    # again" pattern is visible before the ending.
    named = [rng.random() < 0.5 for _ in beats]
    if not any(named):
        named[rng.randrange(len(beats))] = True
    sentences = [fill(rng, rng.choice(INTROS), WORDS, **fixed)]
    for (with_name, with_pronoun), use_name in zip(beats, named):
        sentences.append(fill(rng, rng.choice(with_name if use_name else with_pronoun), WORDS, **fixed))
    before, after = rng.choice(ENDINGS)
    before = fill(rng, before, WORDS, **fixed)
    after = fill(rng, after, WORDS, **fixed)
    # fill capitalises; the words after the name continue the sentence ("Mila smiled.")
    ending = f"{before} {name}" + (f" {after[:1].lower()}{after[1:]}" if after else ".")
    sentences.append(ending)
    mentions = tuple(name in s for s in sentences)
    return Story(name, tuple(sentences), mentions, before)


def name_recall_cases(n: int = 50, seed: int = 1234, max_chars: int = 400) -> list[NameCase]:
    """Held-out stories cut right before the final mention of the name.

    A string seed keeps this stream apart from the integer seeds of the training corpus, so no
    case is a story the model has read. Stories longer than `max_chars` (~100 tokens) are
    skipped so every case fits in a 128-token window with room to spare.

    >>> case = name_recall_cases(1)[0]
    >>> case.text.endswith(",") or case.text.endswith("than") or case.text.endswith("for")
    True
    """
    rng = random.Random(f"name-recall/{seed}")
    cases: list[NameCase] = []
    while len(cases) < n:
        s = story(rng)
        head = " ".join(s.sentences[:-1])
        text = f"{head} {s.ending_before}"
        if len(text) > max_chars:
            continue
        last = max(i for i, m in enumerate(s.mentions[:-1]) if m)
        last_end = len(" ".join(s.sentences[: last + 1]))
        cases.append(NameCase(text, s.name, len(s.sentences[0]), last_end))
    return cases
