"""Urgency as a life-safety detector: is someone's life or safety at risk right now?

Observers rarely write the official word (火灾, 燃气泄漏, 险情). They write what they see: a
six-year-old not found since the afternoon, an old man nobody has seen for three days, sparks
from a high-voltage line, a crack opening in the hillside above a dozen houses, a dyke
leaking, dead pigs in the river, a man with a knife. The detector reads the normalised text
(:func:`bot.core.text.normalise`, so Cantonese, Hakka and Teochew wording is already Mandarin)
for such *signals*, grouped in families:

- people at risk: missing (走失, 孩子找不到, 联系不上), not seen for days, trapped, drowning,
  badly hurt (昏迷, 流血不止), an ambulance that has not come;
- fire and smoke; gas leaks; electricity (sparks, fallen or broken lines, electric shock);
- structural failure (about to collapse, collapsed) and slope failure (cracks, slides);
- flood and dyke (breach, piping, water into homes); epidemics and animal disease (several
  people ill at once, bird flu, dead pigs); violence and self-harm.

A signal does not count when, in its own clause,

- it is negated just before (没有着火, 未发现漏气, 防溺水);
- it is clearly past (去年塌过方, 上周有小孩溺水, 以前发生过火灾);
- it is a drill, training or a hazard only (消防演练, 火灾隐患);
- or it is resolved just after (着火了，已经扑灭; 阿婆跌倒，冇事 -> 没事).

Every signal has a short reason code; the message catalogue names it for people (section
``urgency``: ``missing`` -> 人员失联, ``slope_crack`` -> 山体开裂). Each family also names the
department that usually answers it, which the router uses as a hint. Everything here is a pure
function of the text; the patterns are compiled once into one regular expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# Clause boundaries: a signal's negation, past marker or drill word must be in its clause.
_BOUNDARY = re.compile(r"[,.!?;:，。！？；：、\n]")
_GAP = r"[^,.!?;，。！？；]{0,%d}?"

_PEOPLE = (
    r"(?:小孩|孩子|儿子|女儿|小朋友|学生|老人|老伯|大爷|奶奶|爷爷|阿姨|村民|男子|女子|男孩|女孩"
    r"|妇女|孕妇|病人|患者|工人|一家人|母子|父亲|母亲|爸爸|妈妈|阿爸|阿妈|老公|老婆|丈夫|妻子"
    r"|他|她|[一二三四五六七八九十\d]+岁)"
)
_NUMBER_OF_DAYS = r"(?:[两三四五六七八九十\d]+|几|好几|多|十几)(?:天|日)"
_STRUCTURE = r"(?:墙|楼|房|屋|围墙|挡土墙|天花板|楼板|阳台|桥|棚|屋顶)"
_LINE = r"(?:高压线|电线|电缆|线路|变压器|电箱|电表箱|电线杆|电杆)"
_ANIMALS = r"(?:猪|鸡|鸭|鹅|牛|羊)"
_ILLNESS = r"(?:发烧|发热|腹泻|呕吐|上吐下泻|中毒|感染|确诊)"

# (reason code, family, department hint, pattern)
SIGNALS: tuple[tuple[str, str, str | None, str], ...] = (
    (
        "missing",
        "people",
        "public_security",
        rf"{_PEOPLE}{_GAP % 12}(?:找不到|不见了|联系不上|联系不到|失去联系|没有?回家|没有?回来"
        r"|走丢)"
        r"|走失|(?<!老板)(?<!法人)(?<!老赖)(?<!玩)(?:失踪|失联)|人不见了",
    ),
    (
        "unseen",
        "people",
        "public_security",
        rf"{_NUMBER_OF_DAYS}(?:都|也|了)?(?:没有?|不)(?:见|看到|看见|见到|出门|露面|开门|出来)"
        rf"|(?:没有?|不)(?:见|看到|看见|见到)(?:过|人|他|她)?{_NUMBER_OF_DAYS}",
    ),
    ("trapped", "people", "emergency", r"被困|困在|困住|被埋|埋在下面|压在下面|被压住"),
    (
        "drowning",
        "people",
        "emergency",
        r"溺水|落水|淹死|被水冲走|冲走了|掉(?:进|到|入)了?(?:河|水|塘|海|江|井|湖|鱼塘|水库|涌)",
    ),
    (
        "injured",
        "people",
        None,
        r"流血不止|大出血|昏迷|不省人事|晕倒|倒地不起|倒在地上|重伤|伤得很重|没有?呼吸|没气了"
        r"|抽搐|口吐白沫|摔倒" + _GAP % 6 + r"(?:起不来|不能动|动不了)",
    ),
    (
        "ambulance",
        "people",
        "health",
        r"救护车" + _GAP % 10 + r"(?:没来|还没到|没到|未到|没有来|迟迟|叫不到|打不通)"
        r"|(?:120|急救电话)" + _GAP % 6 + r"(?:打不通|没来|没人接)",
    ),
    (
        "fire",
        "fire",
        "emergency",
        r"着火|起火|失火|火灾|烧起来|冒烟|浓烟|火光|明火|山火|火势|大火",
    ),
    (
        "gas",
        "gas",
        "emergency",
        r"燃气泄漏|煤气泄漏|漏气|煤气味|燃气味|天然气味|液化气味"
        r"|闻到" + _GAP % 4 + r"(?:煤气|燃气|天然气)",
    ),
    (
        "power",
        "power",
        "emergency",
        rf"{_LINE}{_GAP % 8}(?:火花|打火|冒火|冒烟|着火|断了|断落|掉落|掉下|掉在|垂下|垂到|拖地"
        r"|落地|漏电|烧了|爆了|倒了|裸露)|触电|漏电|电死|火花四溅",
    ),
    (
        "collapse",
        "structure",
        "housing",
        r"(?:随时|马上|快要|眼看|就要)(?:会|要|可能)?(?:倒塌|倒|塌|垮|坍塌|塌下来|掉下来)|摇摇欲坠"
        rf"|{_STRUCTURE}{_GAP % 6}(?:倒塌|坍塌|塌了|塌下来|垮了|倾斜|下沉)|倒塌|坍塌|垮塌|塌陷",
    ),
    (
        "slope_crack",
        "slope",
        "natural_resources",
        r"(?:山体|山坡|后山|边坡|斜坡|山上|山)" + _GAP % 4 + r"(?:开裂|裂缝|裂开|松动|裂了)",
    ),
    (
        "landslide",
        "slope",
        "natural_resources",
        r"山体滑坡|滑坡|泥石流|塌方|落石|崩塌|山泥",
    ),
    (
        "dyke",
        "flood",
        "water",
        r"决堤|溃堤|决口|溃坝|管涌"
        r"|(?:河堤|堤坝|堤围|水坝|大坝|水库|堤)" + _GAP % 6 + r"(?:崩|垮|缺口|漫|塌|漏水|渗水)",
    ),
    (
        "flood",
        "flood",
        "water",
        r"洪水|山洪|被水围困|水位暴涨|水淹(?:进|到)(?:屋|家|房|一楼|腰|膝|胸)"
        r"|水(?:已经)?(?:漫|淹|浸)(?:进|到)(?:屋|家|房|腰|胸|一楼|床)",
    ),
    (
        "epidemic",
        "epidemic",
        "health",
        rf"集体{_ILLNESS}|(?:多|几|好几|十几|一群|一家)(?:个|名)?(?:人|学生|孩子|村民|工人)"
        rf"{_GAP % 6}{_ILLNESS}|食物中毒|农药中毒|中毒|霍乱|疫情(?:暴发|爆发|扩散)|狂犬",
    ),
    (
        "animal_disease",
        "epidemic",
        "agriculture",
        r"禽流感|鸡瘟|非洲猪瘟|猪瘟|口蹄疫|病死猪(?!肉)|病死鸡"
        rf"|死了(?:很多|好多|一大批|一批|几十|上百|\d+)(?:头|只)?{_ANIMALS}"
        rf"|{_ANIMALS}{_GAP % 4}(?:大量|成批)死",
    ),
    (
        "violence",
        "violence",
        "public_security",
        r"持刀|拿刀|砍人|捅人|行凶|打架|斗殴|打人|杀人|要杀|扬言要|威胁要|恐吓|绑架|劫持|家暴"
        r"|殴打|围殴|群殴|械斗",
    ),
    ("self_harm", "violence", "public_security", r"要跳楼|跳楼|轻生|自杀|寻死|喝农药|上吊"),
    ("life", "life", None, r"生命危险|危及生命|出人命|人命关天"),
)

_NEGATION = re.compile(r"(?:没有|没|未|无|不|并非|别|防止|预防|防|避免|以防|谨防)$")
# A danger that might happen (万一着火, 容易引发火灾) is a hazard to fix, not an emergency now.
_HYPOTHETICAL = re.compile(
    r"万一|一旦|如果|假如|要是|容易|可能|引发|导致|造成|以免|防止|预防|担心会|怕"
)
HYPOTHETICAL_WINDOW = 8
_PAST = re.compile(
    r"去年|前年|上个月|上月|上周|上星期|上礼拜|以前|曾经|过去|几年前|多年前|那年|当年|早年"
    r"|小时候|年前|历史上|发生过|出过|有过|曾"
)
_DRILL = re.compile(r"演练|演习|培训|宣传|讲座|预案|知识|安全教育|应急预案")
_HAZARD_ONLY = re.compile(r"^.{0,3}(?:隐患|风险)")
_RESOLVED = re.compile(
    r"^.{0,12}?(?:已经?(?:被)?(?:扑灭|灭了|修好|修复|处理好|处理完|解决|找到|救出|获救|送医|脱险|回家"
    r"|回来)|找到了|没事|无大碍|没有大碍|平安|虚惊一场)"
)
NEGATION_WINDOW = 3
PAST_WINDOW = 12


@dataclass(frozen=True, slots=True)
class Urgency:
    """The detector's answer: urgent or not, and if so why (a reason code) and from what words."""

    reason: str | None = None
    family: str | None = None
    department: str | None = None
    words: str = ""

    @property
    def urgent(self) -> bool:
        """Return True when a life-safety signal was found."""
        return self.reason is not None


NOT_URGENT = Urgency()


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern[str]:
    """Return all signals as one pattern with a named group per signal."""
    return re.compile("|".join(f"(?P<s{i}>{p})" for i, (_, _, _, p) in enumerate(SIGNALS)))


def _clause(text: str, start: int, end: int) -> tuple[int, int]:
    """Return the bounds of the clause holding ``text[start:end]``."""
    before = [m.end() for m in _BOUNDARY.finditer(text, 0, start)]
    after = _BOUNDARY.search(text, end)
    return (before[-1] if before else 0), (after.start() if after else len(text))


def discounted(text: str, start: int, end: int) -> bool:
    """Return True when the signal at ``text[start:end]`` is negated, past, a drill or resolved."""
    lo, hi = _clause(text, start, end)
    if _NEGATION.search(text, max(lo, start - NEGATION_WINDOW), start):
        return True
    if _PAST.search(text, max(lo, start - PAST_WINDOW), start):
        return True
    if _HYPOTHETICAL.search(text, max(lo, start - HYPOTHETICAL_WINDOW), start):
        return True
    if _DRILL.search(text, lo, hi) or _HAZARD_ONLY.match(text[end:hi]):
        return True
    return bool(_RESOLVED.match(text[end : end + 24]))


def assess(text: str) -> Urgency:
    """Return the first life-safety signal of normalised ``text`` that is not discounted."""
    for match in _pattern().finditer(text):
        if discounted(text, match.start(), match.end()):
            continue
        reason, family, department, _ = SIGNALS[int(str(match.lastgroup)[1:])]
        return Urgency(reason=reason, family=family, department=department, words=match.group(0))
    return NOT_URGENT
