"""One short weather note in eleven languages, for measuring what a language costs in tokens.

English is the source; every other line is a translation of it written for this app and checked
back for meaning (same two facts, same advice, everyday words, the informal "you" where a language
has one). A note a learner could send a friend, short enough to read on one screen, long enough
(two sentences) that one odd token does not decide the comparison.

    >>> NOTES[0].language, NOTES[0].text[:21]
    ('English', 'It will rain this aft')
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Note:
    language: str        # its English name
    code: str            # ISO 639-1
    script: str          # the writing system, for the learner who does not read it
    text: str


SOURCE = "It will rain this afternoon, so take an umbrella. Tomorrow will be sunny and warm."

# English first (every ratio is to it), then roughly from close to far from English's alphabet.
NOTES: tuple[Note, ...] = (
    Note("English", "en", "Latin", SOURCE),
    Note("Spanish", "es", "Latin", "Esta tarde va a llover, así que llévate un paraguas. "
         "Mañana hará sol y calor."),
    Note("German", "de", "Latin", "Heute Nachmittag wird es regnen, also nimm einen Regenschirm mit. "
         "Morgen wird es sonnig und warm."),
    Note("French", "fr", "Latin", "Il va pleuvoir cet après-midi, alors prends un parapluie. "
         "Demain, il y aura du soleil et il fera chaud."),
    Note("Finnish", "fi", "Latin", "Tänä iltapäivänä sataa, joten ota sateenvarjo mukaan. "
         "Huomenna on aurinkoista ja lämmintä."),
    Note("Swahili", "sw", "Latin", "Leo mchana mvua itanyesha, kwa hivyo chukua mwavuli. "
         "Kesho kutakuwa na jua na joto."),
    Note("Russian", "ru", "Cyrillic", "Сегодня днём пойдёт дождь, так что возьми зонт. "
         "Завтра будет солнечно и тепло."),
    Note("Arabic", "ar", "Arabic", "ستمطر بعد ظهر اليوم، لذا خذ مظلة. غدًا سيكون الجو مشمسًا ودافئًا."),
    Note("Hindi", "hi", "Devanagari", "आज दोपहर बारिश होगी, इसलिए छाता ले जाना। "
         "कल धूप निकलेगी और मौसम गर्म रहेगा।"),
    Note("Chinese", "zh", "Han (simplified)", "今天下午会下雨，所以带把伞吧。明天会是晴天，很暖和。"),
    Note("Japanese", "ja", "Kanji and kana", "今日の午後は雨が降るので、傘を持って行ってください。"
         "明日は晴れて暖かくなります。"),
)
