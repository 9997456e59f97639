"""Which keywords say nothing in a digest's hot list: stop words, place names, the bot's labels.

A report's keywords are chosen when it is filed (``bot.core.tagging``); the digest reads them
back and leaves out, at reading time (so older reports are cleaned too):

- the project's stop words and ``data/digest_noise.txt`` (vague words such as 几天, 不到, and the
  guided form's own labels such as 地点);
- place names: any word found inside the name of a Guangdong region, or of a station or town
  of the roster (北京 comes from 北京街, not from news about Beijing);
- numbers and single characters.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from importlib import resources

from bot.core.regions import known_regions
from bot.core.tagging import stop_words

_NOISE_FILE = "digest_noise.txt"


@functools.cache
def noise_words() -> frozenset[str]:
    """Return the stop words and the digest's own list of words that say nothing."""
    text = resources.files("bot.core").joinpath("data", _NOISE_FILE).read_text(encoding="utf-8")
    extra = {line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"}
    return stop_words() | frozenset(extra)


@functools.cache
def _region_names() -> str:
    """Return every known region's name, joined into one text to search words in."""
    return "|".join(region.name for region in known_regions())


def keyword_filter(place_names: Iterable[str]) -> Callable[[str], bool]:
    """Return a predicate that is True for a keyword to leave out of the hot list."""
    places = "|".join([_region_names(), *(name for name in place_names if name)])
    noise = noise_words()
    verdicts: dict[str, bool] = {}

    def ignore(word: str) -> bool:
        found = verdicts.get(word)
        if found is None:
            found = verdicts[word] = (
                len(word) < 2
                or word in noise
                or any(char.isdigit() for char in word)
                or word in places
            )
        return found

    return ignore
